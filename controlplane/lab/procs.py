"""Processes the lab may signal, identified so that a reused pid is never hit.

A daemon is known by (pid, start time): the 22nd field of /proc/<pid>/stat, in clock ticks after
boot, which a new process on a recycled pid cannot share. Signals go through a pidfd opened
*before* the identity check, so the process checked is the process signalled.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class Stat:
    state: str  # R, S, D, Z (zombie), ...
    start_time: int


def parse_stat(text: str) -> Stat:
    """Fields of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses."""
    after_name = text[text.rindex(")") + 2:].split()
    return Stat(state=after_name[0], start_time=int(after_name[19]))


def read_stat(pid: int) -> Stat | None:
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None


def start_time(pid: int) -> int | None:
    stat = read_stat(pid)
    return None if stat is None else stat.start_time


def is_running(pid: int, started: int | None = None) -> bool:
    """The process exists, is not a zombie, and (when `started` is given) is the one that started then."""
    stat = read_stat(pid)
    return stat is not None and stat.state != "Z" and (started is None or stat.start_time == started)


def is_same_process(pid: int, started: int | None) -> bool:
    """The process `up` recorded as (pid, start time) still runs; never true without a start time."""
    return started is not None and is_running(pid, started)


def netns_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a network namespace file: /run/netns/NAME or /proc/<pid>/ns/net."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def pids_in_netns(netns_file: Path) -> list[int]:
    """Every live process whose network namespace is the one bound at `netns_file` (`ip netns pids`)."""
    identity = netns_identity(netns_file)
    if identity is None:
        return []
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and netns_identity(entry / "ns" / "net") == identity:
            found.append(int(entry.name))
    return sorted(found)


def signal_if(pid: int, signum: int, still_ours: Callable[[int], bool]) -> bool:
    """Send `signum` to `pid` if `still_ours(pid)` holds once a pidfd pins the process; True if sent.
    Never signals this process itself."""
    if pid == os.getpid() or pid <= 1:
        return False
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False  # gone
    try:
        if not still_ours(pid):
            return False
        signal.pidfd_send_signal(pidfd, signum)
        return True
    except OSError:
        return False
    finally:
        os.close(pidfd)


def same_process(started: int | None) -> Callable[[int], bool]:
    """A check for `signal_if`: the pid is still the process that started at `started`."""
    return lambda pid: is_same_process(pid, started)


def in_netns(netns_file: Path) -> Callable[[int], bool]:
    """A check for `signal_if`: the pid is still inside the network namespace bound at `netns_file`."""
    identity = netns_identity(netns_file)
    return lambda pid: identity is not None and netns_identity(PROC / str(pid) / "ns" / "net") == identity


def in_cgroup_dir(cgroup_dir: Path, root: Path) -> Callable[[int], bool]:
    """A check for `signal_if`: the pid's cgroup (in any hierarchy) is `cgroup_dir` or below it."""
    relative = "/" + str(cgroup_dir.relative_to(root))

    def check(pid: int) -> bool:
        try:
            lines = (PROC / str(pid) / "cgroup").read_text().splitlines()
        except OSError:
            return False
        for line in lines:
            path = line.split(":", 2)[-1]
            if path == relative or path.startswith(relative + "/"):
                return True
        return False

    return check
