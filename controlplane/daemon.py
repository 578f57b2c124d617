"""What every kubelab daemon shares: flags that fall back to env vars, the checks of their values
(each failure a one-line ConfigError naming the flag), and a run loop on uvloop that turns
SIGTERM/SIGINT into a cancellation of the daemon's one top-level awaitable."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
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


def flag_adder(parser: argparse.ArgumentParser, daemon: str) -> Callable[..., None]:
    """`flag(name, default, help, **kwargs)`: `add_flag` for this parser and daemon."""
    def flag(name: str, default: object, help: str, **kwargs: object) -> None:
        add_flag(parser, daemon, name, default=default, help=help, **kwargs)
    return flag


def add_log_flags(parser: argparse.ArgumentParser, daemon: str) -> None:
    """--log-level and --log-format, as every daemon has them."""
    add_flag(parser, daemon, "--log-level", default="info", choices=["debug", "info", "warning", "error"],
             help="log level")
    add_flag(parser, daemon, "--log-format", default="auto", choices=["auto", "json", "console"], help="log format")


# ------------------------------------------------------------------ checks of flag values


def flag_of(dest: str) -> str:
    """The flag whose argparse destination is `dest`: `node_ip` -> `--node-ip`."""
    return "--" + dest.replace("_", "-")


def positive(args: argparse.Namespace, *dests: str) -> None:
    """Timings and rates that must be more than 0."""
    for dest in dests:
        if getattr(args, dest) <= 0:
            raise ConfigError(f"{flag_of(dest)} must be more than 0")


def not_negative(args: argparse.Namespace, *dests: str) -> None:
    for dest in dests:
        if getattr(args, dest) < 0:
            raise ConfigError(f"{flag_of(dest)} must be 0 or more")


def at_least_one(args: argparse.Namespace, *dests: str) -> None:
    """Counts of things (workers, writes in flight) that must be at least 1."""
    for dest in dests:
        if getattr(args, dest) < 1:
            raise ConfigError(f"{flag_of(dest)} must be at least 1")


def listen_address(flag: str, text: str, *, example: str) -> str:
    """HOST:PORT to listen on (port 0: any free one)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{flag} {text!r}: expected HOST:PORT, e.g. {example}")
    return text


def port_number(flag: str, port: int) -> int:
    """A port to serve on; 0: any free one (or none, where the flag says so)."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"{flag} {port}: must be between 0 and 65535")
    return port


def ip_address(flag: str, text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: not an IP address") from None


def ipv4_address(flag: str, text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: not an IPv4 address") from None


def ipv4_network(flag: str, text: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text)
    except ValueError as error:
        raise ConfigError(f"{flag} {text!r}: {error}") from None


def interface_name(flag: str, text: str) -> str:
    if not text or len(text) > 15:
        raise ConfigError(f"{flag} {text!r}: interface names have 1 to 15 characters")
    return text


def key_value(flag: str, item: str) -> tuple[str, str]:
    """One KEY=VALUE (a label, a tag); the value may be empty, the key may not."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
    return key, value


def key_values(flag: str, text: str) -> tuple[tuple[str, str], ...]:
    """KEY=VALUE,KEY=VALUE,... (empty items skipped)."""
    return tuple(key_value(flag, item) for item in filter(None, (part.strip() for part in text.split(","))))


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
