"""Per-container cgroups for resource limits and OOM detection, on cgroup v1 or v2.

Layout under the hierarchy's root: `<cgroup_parent>/pod<pod-uid>/<container-id>`, as the kubelet's
cgroupfs driver does. Limits, with Kubernetes' arithmetic (the value functions are pure):

| resource        | cgroup v1                               | cgroup v2                      |
|-----------------|-----------------------------------------|--------------------------------|
| memory limit    | memory.limit_in_bytes                   | memory.max (+ memory.swap.max 0, memory.oom.group 1) |
| cpu limit       | cpu.cfs_period_us 100000, cpu.cfs_quota_us = m*100 (min 1000) | cpu.max "QUOTA 100000" |
| cpu request     | cpu.shares = m*1024/1000 (2..262144; no request = 2) | cpu.weight from those shares |
| OOM kills       | memory.oom_control `oom_kill N`         | memory.events `oom_kill N`     |

v1 is used when its memory or cpu controller is mounted, else v2 when its cgroup.controllers offers
memory or cpu, else none: containers then run without limits (and OOMKilled is never reported), and
the runtime says so once in its log.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import structlog

log = structlog.get_logger("runtime.cgroups")

Version = Literal["v1", "v2", "none"]
CONTROLLERS = ("memory", "cpu")
CPU_PERIOD_US = 100_000
MIN_QUOTA_US = 1_000
MIN_SHARES = 2
MAX_SHARES = 262_144


@dataclass(frozen=True, slots=True)
class Resources:
    memory_limit: int | None = None  # bytes
    cpu_limit_millicores: int | None = None
    cpu_request_millicores: int | None = None


# ---- values (pure) -------------------------------------------------------------------------------

def cpu_quota_us(millicores: int, period_us: int = CPU_PERIOD_US) -> int:
    return max(MIN_QUOTA_US, millicores * period_us // 1000)


def cpu_shares(millicores: int | None) -> int:
    if not millicores:
        return MIN_SHARES
    return min(MAX_SHARES, max(MIN_SHARES, millicores * 1024 // 1000))


def cpu_weight(shares: int) -> int:
    """cgroup v2 cpu.weight (1..10000) for v1 cpu.shares (2..262144), Kubernetes' conversion."""
    return 1 + ((shares - MIN_SHARES) * 9999) // (MAX_SHARES - MIN_SHARES)


def v1_settings(res: Resources) -> dict[str, list[tuple[str, str]]]:
    """File writes per v1 controller, in order."""
    memory: list[tuple[str, str]] = []
    if res.memory_limit is not None:
        memory.append(("memory.limit_in_bytes", str(res.memory_limit)))
    cpu = [("cpu.shares", str(cpu_shares(res.cpu_request_millicores)))]
    if res.cpu_limit_millicores is not None:
        cpu += [("cpu.cfs_period_us", str(CPU_PERIOD_US)),
                ("cpu.cfs_quota_us", str(cpu_quota_us(res.cpu_limit_millicores)))]
    return {"memory": memory, "cpu": cpu}


def v2_settings(res: Resources) -> dict[str, list[tuple[str, str]]]:
    """File writes per v2 controller, in order (files that a kernel lacks are skipped)."""
    memory: list[tuple[str, str]] = [("memory.oom.group", "1")]
    if res.memory_limit is not None:
        memory += [("memory.max", str(res.memory_limit)), ("memory.swap.max", "0")]
    cpu = [("cpu.weight", str(cpu_weight(cpu_shares(res.cpu_request_millicores))))]
    if res.cpu_limit_millicores is not None:
        cpu.append(("cpu.max", f"{cpu_quota_us(res.cpu_limit_millicores)} {CPU_PERIOD_US}"))
    return {"memory": memory, "cpu": cpu}


def parse_oom_kills(text: str) -> int:
    """The `oom_kill N` counter of memory.oom_control (v1) or memory.events (v2); 0 when absent."""
    match = re.search(r"^oom_kill (\d+)$", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


# ---- where the controllers are (pure given the texts) ----------------------------------------------

@dataclass(frozen=True, slots=True)
class MountEntry:
    mount_point: str
    fstype: str
    super_options: tuple[str, ...]


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount_point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        entries.append(MountEntry(mount_point, tail[0], tuple(tail[2].split(","))))
    return entries


@dataclass(frozen=True, slots=True)
class Hierarchies:
    version: Version
    v1: dict[str, str] = field(default_factory=dict)  # controller -> mount point
    v2: str = ""  # mount point of the unified hierarchy
    controllers: tuple[str, ...] = ()  # of CONTROLLERS, the usable ones

    def describe(self) -> str:
        if self.version == "none":
            return "no usable cgroup controller: containers run without resource limits"
        where = self.v2 if self.version == "v2" else ", ".join(f"{c}={p}" for c, p in sorted(self.v1.items()))
        return f"cgroup {self.version} ({where})"


def detect(mountinfo: str, read_controllers: Callable[[str], str]) -> Hierarchies:
    """Choose the hierarchy. `read_controllers(mount_point)` gives a v2 mount's cgroup.controllers."""
    v1: dict[str, str] = {}
    v2 = ""
    for entry in parse_mountinfo(mountinfo):
        if entry.fstype == "cgroup":
            for controller in CONTROLLERS:
                if controller in entry.super_options:
                    v1.setdefault(controller, entry.mount_point)
        elif entry.fstype == "cgroup2" and not v2:
            v2 = entry.mount_point
    if v1:
        return Hierarchies("v1", v1=v1, controllers=tuple(c for c in CONTROLLERS if c in v1))
    if v2:
        try:
            available = read_controllers(v2).split()
        except OSError:
            available = []
        usable = tuple(c for c in CONTROLLERS if c in available)
        if usable:
            return Hierarchies("v2", v2=v2, controllers=usable)
    return Hierarchies("none")


def safe_component(text: str) -> str:
    """A cgroup directory name for a pod uid (uids are UUIDs; anything else is made safe)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", text)
    return cleaned if cleaned not in ("", ".", "..") else "_"


# ---- the filesystem side ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ContainerCgroup:
    """Where one container's cgroup is: what the monitor and exec need."""

    dirs: tuple[str, ...]  # one per hierarchy (v1: per controller mount)
    procs: tuple[str, ...]  # cgroup.procs files a process writes "0" to, to join
    oom_file: str  # "" when OOM kills cannot be counted

    def to_json(self) -> dict[str, object]:
        return {"dirs": list(self.dirs), "procs": list(self.procs), "oom_file": self.oom_file}

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> ContainerCgroup | None:
        if not data:
            return None
        dirs, procs = data.get("dirs", []), data.get("procs", [])
        assert isinstance(dirs, list) and isinstance(procs, list)
        return cls(tuple(map(str, dirs)), tuple(map(str, procs)), str(data.get("oom_file", "")))


class CgroupError(Exception):
    pass


class Cgroups:
    """Creates and removes the cgroups of containers under one parent, on the detected hierarchy."""

    def __init__(self, hierarchies: Hierarchies, parent: str) -> None:
        self.hierarchies = hierarchies
        self.parent = parent.strip("/")
        if not self.parent or ".." in self.parent.split("/"):
            raise ValueError(f"cgroup parent {parent!r}: give a relative path like 'kubelab'")

    @classmethod
    def detect(cls, parent: str) -> Cgroups:
        def controllers(mount_point: str) -> str:
            return Path(mount_point, "cgroup.controllers").read_text()

        hierarchies = detect(Path("/proc/self/mountinfo").read_text(), controllers)
        log.info("cgroups.detected", version=hierarchies.version, controllers=list(hierarchies.controllers),
                 detail=hierarchies.describe())
        return cls(hierarchies, parent)

    @property
    def version(self) -> Version:
        return self.hierarchies.version

    def _roots(self) -> list[tuple[str, str]]:
        """(controller or "unified", hierarchy mount point)."""
        h = self.hierarchies
        if h.version == "v1":
            return sorted(h.v1.items())
        if h.version == "v2":
            return [("unified", h.v2)]
        return []

    def pod_dirs(self, pod_uid: str) -> list[str]:
        return [os.path.join(root, self.parent, f"pod{safe_component(pod_uid)}") for _, root in self._roots()]

    def create(self, pod_uid: str, container_id: str, resources: Resources) -> ContainerCgroup | None:
        """Make the container's cgroup with its limits (blocking). None when there are no cgroups."""
        h = self.hierarchies
        if h.version == "none":
            return None
        pod = f"pod{safe_component(pod_uid)}"
        dirs: list[str] = []
        procs: list[str] = []
        oom_file = ""
        try:
            if h.version == "v1":
                settings = v1_settings(resources)
                for controller, root in sorted(h.v1.items()):
                    path = os.path.join(root, self.parent, pod, container_id)
                    os.makedirs(path, exist_ok=True)
                    dirs.append(path)
                    _write_all(path, settings[controller], skip_missing=False)
                    procs.append(os.path.join(path, "cgroup.procs"))
                    if controller == "memory":
                        oom_file = os.path.join(path, "memory.oom_control")
            else:
                root = h.v2
                enable = " ".join(f"+{c}" for c in h.controllers)
                chain = [root, os.path.join(root, self.parent), os.path.join(root, self.parent, pod)]
                for level, parent_dir in enumerate(chain):
                    if level:
                        os.makedirs(parent_dir, exist_ok=True)
                    _enable_controllers(parent_dir, enable)
                path = os.path.join(chain[-1], container_id)
                os.makedirs(path, exist_ok=True)
                dirs.append(path)
                settings = v2_settings(resources)
                for controller in h.controllers:
                    _write_all(path, settings[controller], skip_missing=True)
                procs.append(os.path.join(path, "cgroup.procs"))
                if "memory" in h.controllers:
                    oom_file = os.path.join(path, "memory.events")
        except OSError as error:
            cgroup = ContainerCgroup(tuple(dirs), tuple(procs), oom_file)
            self.remove(cgroup, timeout=0)
            raise CgroupError(f"cannot set up the cgroup of container {container_id[:12]}: {error}") from error
        return ContainerCgroup(tuple(dirs), tuple(procs), oom_file)

    def remove(self, cgroup: ContainerCgroup, timeout: float = 2.0) -> None:
        """rmdir the container's cgroups (blocking); retries while the last processes are being reaped."""
        for path in cgroup.dirs:
            _rmdir_retrying(path, timeout)

    def remove_pod(self, pod_uid: str, timeout: float = 2.0) -> None:
        """rmdir the pod's cgroups and any container cgroups left in them (blocking)."""
        for pod_dir in self.pod_dirs(pod_uid):
            if not os.path.isdir(pod_dir):
                continue
            for entry in os.scandir(pod_dir):
                if entry.is_dir(follow_symlinks=False):
                    _rmdir_retrying(entry.path, timeout)
            _rmdir_retrying(pod_dir, timeout)

    @staticmethod
    def oom_kills(oom_file: str) -> int:
        if not oom_file:
            return 0
        try:
            return parse_oom_kills(Path(oom_file).read_text())
        except OSError:
            return 0


def _write_all(path: str, writes: Iterable[tuple[str, str]], *, skip_missing: bool) -> None:
    for name, value in writes:
        target = os.path.join(path, name)
        if skip_missing and not os.path.exists(target):
            continue
        with open(target, "w") as f:
            f.write(value)


def _enable_controllers(path: str, enable: str) -> None:
    current = Path(path, "cgroup.subtree_control").read_text().split()
    if all(c.lstrip("+") in current for c in enable.split()):
        return
    with open(os.path.join(path, "cgroup.subtree_control"), "w") as f:
        f.write(enable)


def _rmdir_retrying(path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() >= deadline:
                log.warning("cgroups.remove_failed", path=path, error=str(error))
                return
        time.sleep(0.05)
