"""The one-machine lab for end-to-end tests: `kubelab up` with a prefix, subnet, state dir and
client config of the test's own, and `kubelab down` after the test whatever happens.

    def test_pods_talk_across_workers(lab: LabFactory) -> None:
        cluster = lab(workers=2, env={"KUBELAB_AGENT_BACKOFF_INITIAL": "0.5"})
        cluster.klctl_ok("apply", "-f", cluster.write("app.yaml", APP))
        cluster.exec_in("worker1", "wget", "-qO-", "http://10.244.2.5:3000/")

Test modules get the fixtures `lab` (a lab per test) and `module_labs` (labs shared by a module's
tests) from tests/conftest.py, which loads this file as a plugin.
Everything is named `klt<6 hex>-...` and the subnet is a free /24 of 10.241.0.0-10.250.255.0, so labs of
tests never meet each other nor the default lab (`kl`, 10.240.0.0/24).
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from controlplane.lab.plan import LabPlan, plan_lab

# 10.241-10.250, less 10.244 (the pod network, 10.244.0.0/16).
SUBNET_SECOND_OCTETS = [octet for octet in range(241, 251) if octet != 244]


def unique_prefix() -> str:
    return f"klt{secrets.token_hex(3)}"


def _routed_networks() -> list[ipaddress.IPv4Network]:
    result = subprocess.run(["ip", "-j", "-4", "route", "show"], capture_output=True, text=True, check=True)
    networks = []
    for route in json.loads(result.stdout or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            networks.append(ipaddress.IPv4Network(dst, strict=False))
    return networks


def free_subnet() -> ipaddress.IPv4Network:
    """A /24 in 10.241-10.250 (not the pod network's 10.244) that no route of this machine touches
    (another test's lab, say)."""
    routed = _routed_networks()
    for _ in range(100):
        candidate = ipaddress.IPv4Network(f"10.{random.choice(SUBNET_SECOND_OCTETS)}.{random.randrange(256)}.0/24")
        if not any(candidate.overlaps(network) for network in routed):
            return candidate
    raise AssertionError("no free /24 in 10.241.0.0-10.250.255.0 for a test lab")


@dataclass
class Lab:
    prefix: str
    subnet: ipaddress.IPv4Network
    workers: int
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    up_result: subprocess.CompletedProcess[str] | None = None

    @property
    def plan(self) -> LabPlan:
        return plan_lab(self.prefix, self.subnet, self.workers)

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def config_path(self) -> Path:
        """The client config `up` writes (KUBELAB_CONFIG of every command run here)."""
        return self.workdir / "kubelab-config"

    @property
    def host_ip(self) -> str:
        return str(self.plan.host_ip)

    @property
    def master_ip(self) -> str:
        return str(self.plan.master.ip)

    @property
    def api_address(self) -> str:
        return self.plan.api_address

    @property
    def node_ips(self) -> dict[str, str]:
        return {node.name: str(node.ip) for node in self.plan.nodes}

    @property
    def nodes(self) -> list[str]:
        return [node.name for node in self.plan.nodes]

    def netns(self, node: str) -> str:
        return self.plan.node(node).netns

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.env, "KUBELAB_CONFIG": str(self.config_path), "PYTHONUNBUFFERED": "1"}

    # ------------------------------------------------------------------ commands

    def kubelab(self, command: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """`kubelab up|status|down --prefix P --state-dir S ARGS...`"""
        return subprocess.run(
            [sys.executable, "-m", "controlplane.cli", command, "--prefix", self.prefix,
             "--state-dir", str(self.state_dir), *args],
            capture_output=True, text=True, timeout=timeout, env=self.environment(), cwd=self.workdir)

    def down(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.kubelab("down", "--subnet", str(self.subnet), *args)

    def status(self) -> subprocess.CompletedProcess[str]:
        return self.kubelab("status")

    def klctl(self, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`klctl ARGS...` with no --server: it finds the lab through the client config, as a student's does."""
        return subprocess.run([sys.executable, "-m", "controlplane.klctl.main", *args], input=stdin,
                              capture_output=True, text=True, timeout=timeout, env=self.environment(),
                              cwd=self.workdir)

    def klctl_ok(self, *args: str, stdin: str | None = None) -> str:
        result = self.klctl(*args, stdin=stdin)
        assert result.returncode == 0, f"klctl {' '.join(args)} failed: {result.stderr.strip()}"
        return result.stdout

    def exec_in(self, node: str, *command: str, timeout: float = 60,
                stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside a node's network namespace (`ip netns exec <P>-<node> ...`)."""
        return subprocess.run(["ip", "netns", "exec", self.netns(node), *command], input=stdin,
                              capture_output=True, text=True, timeout=timeout, env=self.environment())

    def spawn_in(self, node: str, *command: str) -> subprocess.Popen[bytes]:
        """Start a long-running command inside a node's netns, in a session of its own."""
        return subprocess.Popen(["ip", "netns", "exec", self.netns(node), *command], start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=self.environment())

    def write(self, name: str, text: str) -> str:
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)

    # ------------------------------------------------------------------ what is there

    def state(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state_dir / "lab.json").read_text())
        return data

    def daemons(self) -> list[dict[str, Any]]:
        return list(self.state()["daemons"])

    def daemon(self, node: str, name: str) -> dict[str, Any]:
        """The record (pid, argv, log) of the daemon `name` the lab started on `node`."""
        return next(d for d in self.daemons() if d["node"] == node and d["daemon"] == name)

    def restart(self, record: dict[str, Any], *, log: Path | None = None,
                env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a daemon again as the lab started it (after the test killed it): its own argv,
        appending to its log (or `log`), in a session of its own."""
        with open(log or str(record["log"]), "ab") as output:
            return subprocess.Popen(list(record["argv"]), stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                    env={**self.environment(), **(env or {})}, start_new_session=True)

    def log(self, node: str, daemon: str) -> str:
        path = self.state_dir / node / f"{daemon}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self, lines: int = 15) -> str:
        """The end of every daemon's log, for an assertion message."""
        parts = []
        for path in sorted(self.state_dir.glob("*/*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.relative_to(self.state_dir)}\n" + "\n".join(tail))
        return "\n".join(parts)

    def leftovers(self) -> list[str]:
        """Whatever of this lab is still on the machine: netns, interfaces, mounts, cgroups, processes."""
        mine = f"{self.prefix}-"
        found = [f"netns {n}" for n in sorted(os.listdir("/run/netns")) if n.startswith(mine)] \
            if os.path.isdir("/run/netns") else []
        links = json.loads(subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True,
                                          check=True).stdout or "[]")
        found += [f"interface {link['ifname']}" for link in links if str(link.get("ifname", "")).startswith(mine)]
        with open("/proc/self/mountinfo") as mountinfo:
            for line in mountinfo:
                point = line.split()[4]
                if point.startswith(f"{self.workdir}/") or point.startswith(f"/run/netns/{mine}"):
                    found.append(f"mount {point}")
        for root in _cgroup_roots():
            found += [f"cgroup {root}/{entry}" for entry in os.listdir(root)
                      if entry.startswith(f"kubelab-{mine}")]
        found += [f"process {pid} ({_cmdline(pid)})" for pid in _pids_with_environ_of(self)]
        return found


def _cgroup_roots() -> list[str]:
    roots = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            separator = fields.index("-", 6)
            if fields[separator + 1] in ("cgroup", "cgroup2"):
                roots.append(fields[4])
    return roots


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _pids_with_environ_of(lab: Lab) -> list[int]:
    """Live processes started for this lab: every daemon carries the lab's KUBELAB_CONFIG in its
    environment (`up` passes its own through), and so do the commands tests run in its nodes."""
    marker = f"KUBELAB_CONFIG={lab.config_path}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


class LabFactory(Protocol):
    def __call__(self, *, workers: int = 2, daemons: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None, timeout: float = 120, check: bool = True) -> Lab: ...


def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, interfaces, mounts)")


@contextmanager
def lab_session(workdir: Path) -> Iterator[LabFactory]:
    """A factory of labs, each taken down (logs kept in `workdir`) when the session ends; the
    session fails if anything of a lab stays behind."""
    started: list[Lab] = []

    def start(*, workers: int = 2, daemons: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
              timeout: float = 120, check: bool = True) -> Lab:
        _needs_root()
        prefix = unique_prefix()
        lab_dir = workdir / prefix
        lab_dir.mkdir()
        lab = Lab(prefix, free_subnet(), workers, lab_dir, dict(env or {}))
        args = ["--subnet", str(lab.subnet), "--workers", str(workers), "--timeout", str(timeout)]
        if daemons is not None:
            args += ["--daemons", ",".join(daemons)]
        started.append(lab)  # before `up`: whatever it leaves, `down` removes
        lab.up_result = lab.kubelab("up", *args, timeout=timeout + 60)
        if check and lab.up_result.returncode != 0:
            raise AssertionError(f"kubelab up failed: {lab.up_result.stderr.strip()}\n{lab.logs()}")
        return lab

    try:
        yield start
    finally:
        problems = []
        for lab in reversed(started):
            result = lab.down("--keep-logs", "--grace", "5")
            if result.returncode != 0:
                problems.append(f"kubelab down for lab {lab.prefix} failed: {result.stderr.strip()}")
            left = lab.leftovers()
            if left:
                problems.append(f"lab {lab.prefix} left behind: {', '.join(left)}")
        assert not problems, "; ".join(problems)


@pytest.fixture(name="lab")
def lab_fixture(tmp_path: Path) -> Iterator[LabFactory]:
    """`lab(workers=2, daemons=None, env=None, timeout=120, check=True)` runs `kubelab up` for a lab of
    the test's own and returns it; every lab started is taken down after the test (logs kept in
    tmp_path), and the test fails if anything of it stays behind."""
    with lab_session(tmp_path) as start:
        yield start


@pytest.fixture(name="module_labs", scope="module")
def module_labs_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabFactory]:
    """Like `lab`, for a lab that every test of a module shares (taken down after the module)."""
    with lab_session(tmp_path_factory.mktemp("labs")) as start:
        yield start


__all__ = ["Lab", "LabFactory", "free_subnet", "lab_fixture", "lab_session", "module_labs_fixture", "unique_prefix"]

