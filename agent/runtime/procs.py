"""Processes the runtime did not necessarily start: identity by start time, waiting by pidfd.

A pid alone can be reused; a (pid, start time) pair cannot, within one boot. A pidfd opened and then
checked against the recorded start time refers to the right process for as long as it is open, so
signals sent through it cannot hit a stranger. Waiting for one and reaping it: agent/pidwait.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str:
    return _BOOT_ID.read_text().strip()


def parse_stat(text: str) -> tuple[str, int]:
    """(state letter, start time in clock ticks) from a /proc/PID/stat line (pure)."""
    after_comm = text[text.rindex(")") + 2:].split()
    return after_comm[0], int(after_comm[19])


def start_ticks(pid: int) -> int | None:
    """The process's start time, or None if there is no such live process (a zombie counts as gone)."""
    try:
        state, ticks = parse_stat(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):
        return None
    return None if state in ("Z", "X") else ticks


def is_alive(pid: int, ticks: int | None) -> bool:
    return pid > 0 and ticks is not None and start_ticks(pid) == ticks


def open_pidfd(pid: int, ticks: int | None) -> int | None:
    """A pidfd for the process that has this pid and start time; None if it is gone."""
    if pid <= 0 or ticks is None:
        return None
    try:
        fd = os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        return None
    if start_ticks(pid) != ticks:
        os.close(fd)
        return None
    return fd


def send_signal(pidfd: int, signum: int) -> bool:
    try:
        signal.pidfd_send_signal(pidfd, signum)
        return True
    except ProcessLookupError:
        return False
