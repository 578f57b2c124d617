"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from controlplane.client import ApiClient
from tests.support.apiserver import ApiServerProcess

pytest_plugins = ["tests.support.lab"]


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[ApiServerProcess]:
    """A real API server process on a fresh store; killed after the test whatever happens."""
    server = ApiServerProcess(tmp_path / "data", tmp_path / "apiserver.log")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def api(apiserver: ApiServerProcess) -> AsyncIterator[ApiClient]:
    client = apiserver.client()
    try:
        yield client
    finally:
        await client.close()
