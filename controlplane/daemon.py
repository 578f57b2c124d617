"""What every kubelab daemon shares: flags that fall back to env vars, and a run loop on uvloop that
turns SIGTERM/SIGINT into a cancellation of the daemon's one top-level awaitable."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import structlog


class ConfigError(ValueError):
    """Bad configuration: the daemon exits 2 with this one-line reason."""


def env_name(daemon: str, flag: str) -> str:
    return f"KUBELAB_{daemon}_{flag.lstrip('-')}".upper().replace("-", "_")


def add_flag(parser: argparse.ArgumentParser, daemon: str, flag: str, *, default: Any, help: str,
             **kwargs: Any) -> None:
    """A `--flag` whose default comes from `KUBELAB_<DAEMON>_<FLAG>` when that is set."""
    variable = env_name(daemon, flag)
    value = os.environ.get(variable, default)
    parser.add_argument(flag, default=value, help=f"{help} (env {variable}; default: %(default)s)", **kwargs)


def run(main: Callable[[], Awaitable[None]], name: str) -> int:
    """Run `main()` until it returns or a signal asks to stop; the process exit status."""
    log = structlog.get_logger(name)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover - uvloop is a dependency; stay usable without it
        runner = asyncio.Runner()
    with runner:
        loop = runner.get_loop()
        task = loop.create_task(_as_coroutine(main))
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            log.info("daemon.stopped", reason="signal")
            return 0
        except ConfigError as error:
            print(f"{name}: {error}", file=sys.stderr)
            return 2
    log.info("daemon.stopped", reason="finished")
    return 0


async def _as_coroutine(main: Callable[[], Awaitable[None]]) -> None:
    await main()
