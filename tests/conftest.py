"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from controlplane.client import ApiClient
from tests.support import daemon
from tests.support.daemon import ApiServerProcess, running

pytest_plugins = ["tests.support.lab"]


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[ApiServerProcess]:
    """A real API server process on a fresh store; killed after the test whatever happens."""
    with running(daemon.apiserver(tmp_path)) as server:
        yield server


@pytest.fixture
async def api(apiserver: ApiServerProcess) -> AsyncIterator[ApiClient]:
    client = apiserver.client()
    try:
        yield client
    finally:
        await client.close()
