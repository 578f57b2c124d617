"""An acknowledged write survives kill -9 of the API server's process, even mid group commit."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from controlplane.store import open_sqlite_store

REPO = Path(__file__).resolve().parents[2]

# Opens the store and creates keys with 16 concurrent writers as fast as it can; prints "ack KEY"
# only after the create returned, i.e. after the commit that holds it.
WRITER = """
import asyncio, sys
from pathlib import Path
from controlplane.store import open_sqlite_store

async def main(path, round_):
    store = await open_sqlite_store(Path(path))

    async def writer(n):
        i = 0
        while True:
            key = f"/crash/{round_}/{n}/{i}"
            await store.create(key, key.encode() * 40)
            sys.stdout.write(f"ack {key}\\n")
            sys.stdout.flush()
            i += 1

    async with asyncio.TaskGroup() as group:
        for n in range(16):
            group.create_task(writer(n))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def write_until_killed(path: Path, round_: int, seconds: float) -> list[str]:
    """Run the writer, let it write for `seconds` after its first acknowledgement, kill -9 it, and
    return every key it acknowledged (including lines still in the pipe at the kill)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(round_)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(child.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while not lines:
            if child.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the writer acknowledged nothing; stderr: {child.stderr.read()[-2000:]}")
            time.sleep(0.01)
        time.sleep(seconds)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        reader.join(timeout=10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    return [line[len("ack "):-1] for line in lines if line.startswith("ack ") and line.endswith("\n")]


async def stored_keys(path: Path) -> tuple[set[str], int]:
    store = await open_sqlite_store(path)
    try:
        items, revision = await store.list("/crash/")
        for kv in items:
            assert kv.value == kv.key.encode() * 40
        return {kv.key for kv in items}, revision
    finally:
        await store.close()


@pytest.mark.slow
def test_every_acknowledged_create_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    acknowledged: list[str] = []
    for round_ in range(2):  # the second round starts from the file the first kill left
        acked = write_until_killed(path, round_, seconds=1.5)
        assert len(acked) > 100, f"round {round_}: only {len(acked)} creates acknowledged"
        acknowledged += acked
        stored, revision = asyncio.run(stored_keys(path))
        lost = [key for key in acknowledged if key not in stored]
        assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged creates lost, e.g. {lost[:5]}"
        assert revision >= len(acknowledged)
