"""Fixtures shared by every test directory.

`apiserver` and `controller_manager` run with their default flags; a test module that needs others
overrides `apiserver_args` or `controller_manager_args` with a fixture of the same name:

    @pytest.fixture
    def controller_manager_args() -> list[str]:
        return ["--controllers", "garbagecollector"]
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import pytest

from controlplane.client import ApiClient
from tests.support import daemon
from tests.support.daemon import ApiServerProcess, DaemonProcess, running
from tests.support.klctl import Klctl

pytest_plugins = ["tests.support.lab"]


@pytest.fixture
def apiserver_args() -> Sequence[str]:
    return ()


@pytest.fixture
def apiserver(tmp_path: Path, apiserver_args: Sequence[str]) -> Iterator[ApiServerProcess]:
    """A real API server process on a fresh store; killed after the test whatever happens."""
    with running(daemon.apiserver(tmp_path, *apiserver_args)) as server:
        yield server


@pytest.fixture
async def api(apiserver: ApiServerProcess) -> AsyncIterator[ApiClient]:
    client = apiserver.client()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def klctl(apiserver: ApiServerProcess, tmp_path: Path) -> Klctl:
    """The real klctl against `apiserver`, run in `tmp_path`."""
    return Klctl(apiserver.address, tmp_path)


@pytest.fixture
def controller_manager_args() -> Sequence[str]:
    return ()


@pytest.fixture
def controller_manager(apiserver: ApiServerProcess, controller_manager_args: Sequence[str],
                       tmp_path: Path) -> Iterator[DaemonProcess]:
    """A real controller manager talking to `apiserver`; killed after the test whatever happens."""
    with running(daemon.controller_manager(apiserver.address, tmp_path / "controller-manager.log",
                                           *controller_manager_args)) as manager:
        yield manager
