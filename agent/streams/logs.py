"""Reading one container's log file for `kubectl logs`: from the start or the last N lines, and with
follow, as the file grows until the container has exited and the file is drained."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

from agent.streams.crilog import LogEntry, LogFormatter, parse_line, parse_lines, split_lines, tail_start

_BLOCK = 64 * 1024


def find_tail_offset(path: Path, lines: int) -> int:
    """The byte offset where the last `lines` lines of the file begin (blocking: run it in a thread).
    Reads backwards a block at a time, so a long log costs what the tail costs."""
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return 0
    with file:
        end = file.seek(0, os.SEEK_END)
        start, block = end, _BLOCK
        while True:
            start = max(0, start - block)
            block *= 2
            file.seek(start)
            data = file.read(end - start)
            # Only complete lines count; an unfinished last one is read later by whoever follows.
            body = data[:data.rfind(b"\n") + 1]
            skip = 0 if start == 0 else body.find(b"\n") + 1  # the first line may have begun earlier
            offsets, entries = [], []
            position = skip
            for line in body[skip:].split(b"\n")[:-1]:
                entry = parse_line(line)
                if entry is not None:
                    offsets.append(start + position)
                    entries.append(entry)
                position += len(line) + 1
            index = tail_start(entries, lines, known_start=start == 0)
            if index is not None:
                return offsets[index] if index < len(offsets) else start + len(body)
            # else: the tail reaches back past what was read; read more (at the start, it cannot)


async def read_log(path: Path, *, tail: int | None, timestamps: bool, follow: bool,
                   exited: Callable[[], Awaitable[bool]], interval: float = 0.1) -> AsyncGenerator[bytes, None]:
    """What kubectl prints, a chunk at a time. `tail` None reads every line. With `follow`, waits for
    more (checking every `interval`) until `exited()` says the container is done; then drains the file."""
    formatter = LogFormatter(timestamps)
    offset = 0 if tail is None else await asyncio.to_thread(find_tail_offset, path, tail)
    entries = read_entries(path, offset=offset, follow=follow, exited=exited, interval=interval)
    async with contextlib.aclosing(entries):
        async for batch in entries:
            out = formatter.feed(batch)
            if out:
                yield out


async def read_entries(path: Path, *, offset: int, follow: bool, exited: Callable[[], Awaitable[bool]],
                       interval: float = 0.1) -> AsyncGenerator[list[LogEntry], None]:
    """The log's entries from byte `offset` on, a batch at a time, following as read_log does."""
    file: BinaryIO | None = None
    rest = b""
    draining = False
    try:
        while True:
            if file is None:
                file = await asyncio.to_thread(_open_at, path, offset)
            chunk = await asyncio.to_thread(file.read, _BLOCK) if file is not None else b""
            if chunk:
                lines, rest = split_lines(rest + chunk)
                batch = parse_lines(lines)
                if batch:
                    yield batch
                continue
            if not follow or draining:
                return
            if await exited():
                draining = True  # read once more to the end: what was written just before the exit
                continue
            await asyncio.sleep(interval)
    finally:
        if file is not None:
            file.close()


def _open_at(path: Path, offset: int) -> BinaryIO | None:
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return None
    file.seek(offset)
    return file
