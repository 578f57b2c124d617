"""Process identity: a pid is the lab's daemon only while its start time matches."""

from __future__ import annotations

import os
import subprocess

import pytest

from controlplane.lab import procs

STAT = ("4242 (kubelab (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 10 5 0 0 20 0 3 0 "
        "123456 100000000 5000 18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0")


def test_stat_is_parsed_after_a_command_name_with_spaces_and_parentheses() -> None:
    assert procs.parse_stat(STAT) == procs.Stat(state="S", start_time=123456)


def test_a_running_process_is_recognised_by_its_start_time_only() -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        started = procs.start_time(child.pid)
        assert started is not None
        assert procs.is_running(child.pid, started)
        assert not procs.is_running(child.pid, started + 1)  # a recycled pid
        assert not procs.signal_if(child.pid, 15, procs.same_process(started + 1))
        assert child.poll() is None
        assert procs.signal_if(child.pid, 15, procs.same_process(started))
        child.wait(timeout=5)
        assert not procs.is_running(child.pid, started)
    finally:
        child.kill()
        child.wait()


def test_this_process_is_never_signalled() -> None:
    assert not procs.signal_if(os.getpid(), 0, lambda pid: True)


@pytest.mark.parametrize("pid", [0, 1])
def test_init_and_the_process_group_are_never_signalled(pid: int) -> None:
    assert not procs.signal_if(pid, 0, lambda _: True)
