"""The `kubelab up`, `kubelab down` and `kubelab status` commands: flags in, exit status out."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable

from controlplane.daemon import ConfigError
from controlplane.lab import config as lab_config
from controlplane.lab.down import down
from controlplane.lab.errors import LabError
from controlplane.lab.ip import CommandError
from controlplane.lab.status import collect, problems, render
from controlplane.lab.up import up


def _say(line: str) -> None:
    print(line, flush=True)


def _run(name: str, main: Callable[[], Awaitable[int]]) -> int:
    """Run `main()` with SIGTERM treated as Ctrl-C; a failure is one line on stderr."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await main()

    try:
        return asyncio.run(guarded())
    except (LabError, CommandError) as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # a tool missing (`ip`, `nsenter`), a directory not writable
        print(f"{name}: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"{name}: interrupted", file=sys.stderr)
        return 130


def _needs_root(name: str) -> int | None:
    if os.geteuid() != 0:
        print(f"{name}: needs root (it manages network namespaces, interfaces, mounts and cgroups); "
              "run it with sudo", file=sys.stderr)
        return 1
    return None


def up_main(argv: list[str]) -> int:
    try:
        config = lab_config.up_from_args(argv)
    except ConfigError as error:
        print(f"kubelab up: {error}", file=sys.stderr)
        return 2
    refused = _needs_root("kubelab up")
    if refused is not None:
        return refused

    async def main() -> int:
        await up(config, _say)
        return 0

    return _run("kubelab up", main)


def down_main(argv: list[str]) -> int:
    try:
        config = lab_config.down_from_args(argv)
    except ConfigError as error:
        print(f"kubelab down: {error}", file=sys.stderr)
        return 2
    refused = _needs_root("kubelab down")
    if refused is not None:
        return refused

    async def main() -> int:
        if await down(config, _say):
            _say(f"lab {config.prefix} is down")
        else:
            _say(f"lab {config.prefix}: nothing to remove")
        return 0

    return _run("kubelab down", main)


def status_main(argv: list[str]) -> int:
    try:
        config = lab_config.status_from_args(argv)
    except ConfigError as error:
        print(f"kubelab status: {error}", file=sys.stderr)
        return 2

    async def main() -> int:
        status = await collect(config)
        _say(render(status))
        trouble = problems(status)
        if trouble:
            print(f"kubelab status: lab {config.prefix}: {trouble}", file=sys.stderr)
            return 1
        return 0

    return _run("kubelab status", main)
