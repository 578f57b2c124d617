"""Running `ip`, `nft` and `conntrack` as asyncio subprocesses, with errors a person can act on."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Sequence

TIMEOUT = 30.0


class CommandError(RuntimeError):
    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        status = "timed out" if returncode is None else f"exit {returncode}"
        reason = self.stderr.replace("\n", "; ") or "no output"
        super().__init__(f"`{shlex.join(self.argv)}` failed ({status}): {reason}")


async def run(argv: Sequence[str], *, stdin: str | None = None, timeout: float = TIMEOUT) -> str:
    """stdout of `argv`; CommandError on a non-zero exit, a missing program or a timeout."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: command not found") from None
    try:
        async with asyncio.timeout(timeout):
            stdout, stderr = await process.communicate(None if stdin is None else stdin.encode())
    except BaseException as error:  # a timeout or a cancellation: never leave the child behind
        if process.returncode is None:
            process.kill()
            await process.wait()
        if isinstance(error, TimeoutError):
            raise CommandError(argv, None, f"no answer after {timeout:g}s") from None
        raise
    if process.returncode != 0:
        raise CommandError(argv, process.returncode, stderr.decode(errors="replace"))
    return stdout.decode(errors="replace")
