"""Running the node's networking tools (iproute2; the service proxy's nft and conntrack too) from the
event loop, with errors a person can act on.

Every network change the agent and the proxy make goes through `run`, so a failure always names the
command line and what the tool said, e.g. ``ip link add klab12 type veth ... failed (exit 2): RTNETLINK
answers: File exists``. A cancelled caller kills the child instead of leaving it running. The
commands are spawned cheaply (agent/spawn.py): many pods starting at once run two each.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

from agent import spawn

DEFAULT_TIMEOUT = 30.0
PACKAGES = {"ip": "iproute2", "nft": "nftables", "conntrack": "conntrack"}  # what to install when missing


class NetworkError(RuntimeError):
    """Node networking could not do what was asked; the message says what, where and what to do."""


class CommandError(NetworkError):
    """A command exited non-zero (or could not start, or timed out)."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        status = "timed out" if returncode is None else f"exit {returncode}"
        reason = self.stderr.replace("\n", "; ") or "no output"
        super().__init__(f"`{shlex.join(self.argv)}` failed ({status}): {reason}")

    @property
    def not_found(self) -> bool:
        """The object the command was about does not exist (device, netns, route)."""
        text = self.stderr
        return any(marker in text for marker in (
            "does not exist", "Cannot find device", "No such file or directory", "No such process",
            "Cannot open network namespace"))


async def run(argv: Sequence[str], *, stdin: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run `argv`, return its stdout; CommandError on a non-zero exit, a missing binary or a timeout."""
    try:
        done = await spawn.run(argv, stdin=None if stdin is None else stdin.encode(), timeout=timeout)
    except FileNotFoundError:
        package = PACKAGES.get(argv[0], argv[0])
        raise CommandError(argv, 127, f"{argv[0]}: command not found (install {package})") from None
    except TimeoutError:
        raise CommandError(argv, None, f"no answer after {timeout:g}s") from None
    if done.returncode != 0:
        raise CommandError(argv, done.returncode, done.stderr.decode(errors="replace"))
    return done.stdout.decode(errors="replace")


async def ip(*args: str, netns: str | None = None, stdin: str | None = None) -> str:
    """`ip [-n NETNS] ARGS...`; with `stdin`, ARGS is usually `-batch -`."""
    return await run(("ip", *(("-n", netns) if netns else ()), *args), stdin=stdin)


async def ip_json(*args: str, netns: str | None = None) -> list[dict[str, Any]]:
    """`ip -j ARGS...` parsed into a list of objects (an empty answer is an empty list)."""
    text = (await ip("-j", *args, netns=netns)).strip()
    if not text:
        return []
    parsed = json.loads(text)
    return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []


async def link(name: str, *, netns: str | None = None) -> dict[str, Any] | None:
    """The interface `name` with its details (`ip -d -j link show`), or None when there is none."""
    try:
        found = await ip_json("-d", "link", "show", "dev", name, netns=netns)
    except CommandError as error:
        if error.not_found:
            return None
        raise
    return found[0] if found else None


async def delete_link(name: str, *, netns: str | None = None) -> bool:
    """Delete an interface; False when it was already gone."""
    try:
        await ip("link", "del", "dev", name, netns=netns)
    except CommandError as error:
        if error.not_found:
            return False
        raise
    return True
