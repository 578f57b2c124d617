"""agent/spawn.py: short commands run by posix_spawn, their pipes and exit on the event loop."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from agent import spawn
from tests.support.wait import eventually


async def _children_are(expected: set[int]) -> bool:
    return _children() == expected


def _children() -> set[int]:
    """This process's live and zombie children."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


async def test_output_error_and_exit_status_are_returned() -> None:
    done = await spawn.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert done == spawn.Completed(3, b"out\n", b"err\n")


async def test_input_larger_than_a_pipe_flows_while_output_flows_back() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB: both pipes fill many times over
    done = await spawn.run(["cat"], stdin=data, timeout=10)
    assert (done.returncode, done.stdout == data, done.stderr) == (0, True, b"")


async def test_without_input_the_command_reads_end_of_file() -> None:
    done = await spawn.run(["sh", "-c", "cat; echo done"], timeout=10)
    assert done.stdout == b"done\n"


async def test_a_command_that_ignores_its_input_is_not_an_error() -> None:
    done = await spawn.run(["true"], stdin=b"x" * (1 << 20), timeout=10)
    assert done.returncode == 0


async def test_the_environment_is_the_one_given() -> None:
    done = await spawn.run(["/usr/bin/env"], env={"ONLY": "this"}, timeout=10)
    assert done.stdout == b"ONLY=this\n"


async def test_a_signal_death_is_a_negative_status() -> None:
    done = await spawn.run(["sh", "-c", "kill -TERM $$"], timeout=10)
    assert done.returncode == -15


async def test_a_missing_command_is_file_not_found() -> None:
    before = _children()
    with pytest.raises(FileNotFoundError):
        await spawn.run(["kubelab-no-such-command"], timeout=10)
    assert _children() == before


async def test_a_timeout_kills_and_reaps_the_command() -> None:
    before = _children()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await spawn.run(["sleep", "30"], stdin=b"", timeout=0.2)
    assert time.monotonic() - started < 5
    assert await eventually(lambda: _children_are(before), timeout=10, what="the killed command to be reaped")


async def test_a_cancelled_caller_kills_and_reaps_the_command() -> None:
    before = _children()
    task = asyncio.create_task(spawn.run(["sleep", "30"], timeout=60))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await eventually(lambda: _children_are(before), timeout=10, what="the killed command to be reaped")


async def test_many_at_once_each_get_their_own_output() -> None:
    results = await asyncio.gather(*(spawn.run(["sh", "-c", f"echo {n}"], timeout=10) for n in range(50)))
    assert [r.stdout for r in results] == [f"{n}\n".encode() for n in range(50)]
