"""Running `ip` (and the few other tools the lab needs) as asyncio subprocesses."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


class CommandError(RuntimeError):
    """A command failed: the command line and its one-line stderr."""


@dataclass(frozen=True, slots=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def reason(self) -> str:
        text = (self.stderr or self.stdout).strip().replace("\n", "; ")
        return f"`{' '.join(self.argv)}` failed ({text or f'exit status {self.returncode}'})"


class Runner:
    """Runs commands and waits for them; `check=True` turns a failure into CommandError."""

    async def run(self, *argv: str, check: bool = True) -> Result:
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await process.communicate()
        assert process.returncode is not None
        result = Result(tuple(argv), process.returncode, stdout.decode(errors="replace"),
                        stderr.decode(errors="replace"))
        if check and not result.ok:
            raise CommandError(result.reason())
        return result

    async def ip(self, *args: str, netns: str | None = None, check: bool = True) -> Result:
        """`ip [-n NETNS] ARGS...`"""
        return await self.run("ip", *(("-n", netns) if netns else ()), *args, check=check)

    async def ip_json(self, *args: str, netns: str | None = None) -> list[dict[str, Any]]:
        """`ip -j ...` parsed; an empty answer (no namespaces yet, say) is an empty list."""
        result = await self.ip("-j", *args, netns=netns)
        text = result.stdout.strip()
        if not text:
            return []
        parsed = json.loads(text)
        return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []
