"""`kubelab down`: stop and remove everything of one lab, from its state file and from the system.

Works after a crash (daemons killed with -9, `up` killed halfway, the state file gone): what the
state does not record is found by the lab's names (netns `<P>-*`, interfaces `<P>-*`, cgroups
`kubelab-<P>-*`, mounts inside the state dir's node directories). Only recorded daemons whose start
time still matches and processes inside the lab's namespaces or cgroups are ever signalled.
Idempotent: a second run finds nothing and succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from controlplane.client.config import ClientConfigError, load_client_config
from controlplane.lab import network, procs
from controlplane.lab.config import DownConfig
from controlplane.lab.daemons import DAEMONS, Stage
from controlplane.lab.errors import LabError
from controlplane.lab.ip import Runner
from controlplane.lab.ownership import (
    NETNS_DIR,
    Mount,
    cgroup_roots,
    in_node_dir,
    is_node_dir,
    owned_mounts,
    owns_cgroup,
    owns_name,
    parse_mountinfo,
)
from controlplane.lab.plan import PlanError, plan_lab
from controlplane.lab.state import DaemonRecord, LabState, StateError, load, state_path

MOUNTINFO = Path("/proc/self/mountinfo")
KILL_WAIT = 10.0  # seconds for SIGKILLed processes to be gone
POLL = 0.05

Say = Callable[[str], None]


class Teardown:
    def __init__(self, config: DownConfig, say: Say, runner: Runner | None = None) -> None:
        self.config = config
        self.prefix = config.prefix
        self.say = say
        self.ip = runner or Runner()
        self.problems: list[str] = []
        self.did_something = False

    def done(self, message: str) -> None:
        self.did_something = True
        self.say(message)

    async def run(self) -> None:
        state = self._state()
        if state is not None:
            await self.stop_daemons(state)
        await self.kill_netns_processes()
        await self.remove_cgroups()
        await self.delete_netns()
        await self.unmount()
        await self.delete_links()
        self.remove_client_config(state)
        await asyncio.to_thread(self.remove_files)
        await self.check_nothing_left(state)

    # ------------------------------------------------------------------ state

    def _state(self) -> LabState | None:
        try:
            state = load(self.config.state_dir)
        except StateError as error:
            self.say(f"ignoring the state file: {error}")
            return None
        if state is not None and state.prefix != self.prefix:
            raise LabError(f"{state_path(self.config.state_dir)} belongs to lab {state.prefix!r}, not {self.prefix!r}; "
                           f"give the matching --prefix or --state-dir")
        return state

    # ------------------------------------------------------------------ processes

    async def stop_daemons(self, state: LabState) -> None:
        """SIGTERM the recorded daemons that are still the processes `up` started, wait up to the grace
        period, SIGKILL what is left. Later stages first: agents stop before the API server."""
        stages = {spec.name: spec.stage for spec in DAEMONS}

        def stage_of(record: DaemonRecord) -> Stage:
            return stages.get(record.daemon, Stage.NODES)

        for stage in sorted({stage_of(r) for r in state.daemons}, reverse=True):
            records = [r for r in state.daemons if stage_of(r) == stage]
            live = [r for r in records if procs.is_same_process(r.pid, r.start_time)]
            for record in live:
                procs.signal_if(record.pid, signal.SIGTERM, procs.same_process(record.start_time))
            left = await _wait_gone([(r.pid, r.start_time) for r in live], self.config.grace)
            for record in live:
                if (record.pid, record.start_time) in left:
                    procs.signal_if(record.pid, signal.SIGKILL, procs.same_process(record.start_time))
            still = await _wait_gone(left, KILL_WAIT)
            for record in live:
                if (record.pid, record.start_time) in still:
                    self.problems.append(f"{record.daemon} on {record.node} (pid {record.pid}) did not stop")
                else:
                    how = "killed" if (record.pid, record.start_time) in left else "stopped"
                    self.done(f"{how} {record.daemon} on {record.node} (pid {record.pid})")

    async def kill_netns_processes(self) -> None:
        """SIGKILL every process inside the lab's namespaces (node netns and the agents' pod netns)
        until none is left: stray shells, containers, daemons `up` did not get to record."""
        killed: set[int] = set()
        deadline = time.monotonic() + KILL_WAIT
        while True:
            found = await asyncio.to_thread(self._netns_pids)
            if not found:
                break
            if time.monotonic() > deadline:
                for name, pids in found.items():
                    self.problems.append(f"processes {' '.join(map(str, pids))} in netns {name} would not die")
                return
            for name, pids in found.items():
                for pid in pids:
                    if procs.signal_if(pid, signal.SIGKILL, procs.in_netns(Path(NETNS_DIR, name))):
                        killed.add(pid)
            await asyncio.sleep(POLL)
        if killed:
            listed = " ".join(map(str, sorted(killed)))
            self.done(f"killed {len(killed)} process(es) left in the lab's namespaces: {listed}")

    def _netns_pids(self) -> dict[str, list[int]]:
        found = {}
        for name in _lab_netns_files(self.prefix):
            pids = [pid for pid in procs.pids_in_netns(Path(NETNS_DIR, name)) if pid != os.getpid()]
            if pids:
                found[name] = pids
        return found

    # ------------------------------------------------------------------ cgroups

    async def remove_cgroups(self) -> None:
        for directory in await asyncio.to_thread(self._cgroup_dirs):
            problem = await self._remove_cgroup(directory)
            if problem:
                self.problems.append(problem)
            else:
                self.done(f"removed cgroup {directory}")

    def _cgroup_dirs(self) -> list[Path]:
        found = []
        for root in cgroup_roots(parse_mountinfo(MOUNTINFO.read_text())):
            try:
                entries = list(os.scandir(root))
            except OSError:
                continue
            found += [Path(entry.path) for entry in entries if entry.is_dir(follow_symlinks=False)
                      and owns_cgroup(self.prefix, entry.name)]
        return sorted(found)

    async def _remove_cgroup(self, top: Path) -> str | None:
        root = top.parent
        deadline = time.monotonic() + KILL_WAIT
        while True:
            pids = await asyncio.to_thread(_cgroup_pids, top)
            if not pids:
                break
            if time.monotonic() > deadline:
                return f"cgroup {top}: processes {' '.join(map(str, pids))} would not die"
            for pid in pids:
                procs.signal_if(pid, signal.SIGKILL, procs.in_cgroup_dir(top, root))
            await asyncio.sleep(POLL)
        while True:
            problem = await asyncio.to_thread(_rmdir_tree, top)
            if problem is None or time.monotonic() > deadline:
                return problem
            await asyncio.sleep(POLL)

    # ------------------------------------------------------------------ namespaces, mounts, links

    async def delete_netns(self) -> None:
        names = _lab_netns_files(self.prefix)
        for name in names:
            problem = await network.delete_netns(self.ip, name)
            if problem:
                self.problems.append(problem)
        if names:
            self.done(f"deleted netns {' '.join(names)}")

    async def unmount(self) -> None:
        unmounted: list[str] = []
        for _ in range(5):
            mounts = await asyncio.to_thread(self._owned_mounts)
            if not mounts:
                break
            for mount in mounts:
                result = await self.ip.run("umount", str(mount.mount_point), check=False)
                if not result.ok:
                    result = await self.ip.run("umount", "-l", str(mount.mount_point), check=False)
                if result.ok:
                    unmounted.append(str(mount.mount_point))
        for name in _lab_netns_files(self.prefix):  # a netns file whose mount is gone
            (Path(NETNS_DIR) / name).unlink(missing_ok=True)
        if unmounted:
            self.done(f"unmounted {' '.join(unmounted)}")

    def _owned_mounts(self) -> list[Mount]:
        return owned_mounts(parse_mountinfo(MOUNTINFO.read_text()), PurePosixPath(self.config.state_dir), self.prefix)

    async def delete_links(self) -> None:
        names = await network.lab_links(self.ip, self.prefix)
        # Node veths first (their peers may already be gone with the netns), the bridge last.
        for name in sorted(names, key=lambda n: n.endswith("-br0")):
            problem = await network.delete_link(self.ip, name)
            if problem:
                self.problems.append(problem)
        if names:
            self.done(f"deleted interfaces {' '.join(names)}")

    # ------------------------------------------------------------------ files

    def remove_client_config(self, state: LabState | None) -> None:
        subnet = state.subnet if state else self.config.subnet
        try:
            server = plan_lab(self.prefix, subnet, 0).api_address
        except PlanError as error:
            self.problems.append(f"left the client config alone: {error}")
            return
        candidates = {self.config.client_config}
        if state and state.client_config:
            candidates.add(Path(state.client_config))
        for path in sorted(candidates):
            try:
                if not path.is_file() or load_client_config(path).server != server:
                    continue
            except (ClientConfigError, OSError):
                continue
            path.unlink(missing_ok=True)
            self.done(f"removed the client config {path} (it pointed at this lab)")

    def remove_files(self) -> None:
        state_dir = self.config.state_dir
        inside = [m for m in self._owned_mounts() if in_node_dir(m.mount_point, PurePosixPath(state_dir))]
        if inside:
            self.problems.append(f"left the files in {state_dir} in place: {inside[0].mount_point} is still mounted")
            return
        removed = False
        if state_path(state_dir).exists():
            state_path(state_dir).unlink()
            removed = True
        for entry in sorted(state_dir.iterdir()) if state_dir.is_dir() else []:
            if not is_node_dir(entry.name) or not entry.is_dir() or entry.is_symlink():
                continue
            removed = True
            if not self.config.keep_logs:
                shutil.rmtree(entry, onerror=self._rmtree_error)
                continue
            for child in entry.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, onerror=self._rmtree_error)
                elif child.suffix != ".log":
                    child.unlink(missing_ok=True)
        if removed:
            self.done(f"removed the lab's files in {state_dir}" + (" (kept the logs)" if self.config.keep_logs else ""))
        with contextlib.suppress(OSError):
            state_dir.rmdir()

    def _rmtree_error(self, function: object, path: str, info: object) -> None:
        self.problems.append(f"could not remove {path}")

    # ------------------------------------------------------------------ verdict

    async def check_nothing_left(self, state: LabState | None) -> None:
        left = [f"netns {name}" for name in _lab_netns_files(self.prefix)]
        left += [f"interface {name}" for name in await network.lab_links(self.ip, self.prefix)]
        left += [f"mount {m.mount_point}" for m in await asyncio.to_thread(self._owned_mounts)]
        left += [f"cgroup {d}" for d in await asyncio.to_thread(self._cgroup_dirs)]
        for record in state.daemons if state else ():
            if procs.is_same_process(record.pid, record.start_time):
                left.append(f"{record.daemon} on {record.node} (pid {record.pid})")
        if self.problems or left:
            details = [*self.problems, *([f"still there: {', '.join(left)}"] if left else [])]
            raise LabError(f"lab {self.prefix} is not fully down: {'; '.join(details)}")


def _lab_netns_files(prefix: str) -> list[str]:
    """The lab's network namespaces, as `ip netns list` sees them: files in /run/netns."""
    try:
        names = os.listdir(NETNS_DIR)
    except OSError:
        return []
    return sorted(name for name in names if owns_name(prefix, name))


def _cgroup_pids(top: Path) -> list[int]:
    pids: set[int] = set()
    for directory, _, files in os.walk(top):
        if "cgroup.procs" in files:
            try:
                text = (Path(directory) / "cgroup.procs").read_text()
            except OSError:
                continue
            pids.update(int(line) for line in text.split() if line.isdigit())
    return sorted(pids)


def _rmdir_tree(top: Path) -> str | None:
    """Remove a cgroup and its children, deepest first (cgroup dirs go with rmdir, not unlink)."""
    for directory, _, _ in sorted(os.walk(top), key=lambda entry: entry[0].count("/"), reverse=True):
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            pass
        except OSError as error:
            return f"cgroup {directory}: {error.strerror}"
    return None


async def _wait_gone(processes: list[tuple[int, int | None]], seconds: float) -> list[tuple[int, int | None]]:
    """Wait until the processes have exited (or are zombies); the ones still running after `seconds`."""
    deadline = time.monotonic() + seconds
    left = [p for p in processes if procs.is_same_process(*p)]
    while left and time.monotonic() < deadline:
        await asyncio.sleep(POLL)
        left = [p for p in left if procs.is_same_process(*p)]
    return left


async def down(config: DownConfig, say: Say) -> bool:
    """Take the lab down; True if there was anything to remove. LabError (one line) if something stays."""
    teardown = Teardown(config, say)
    await teardown.run()
    return teardown.did_something
