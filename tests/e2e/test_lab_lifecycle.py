"""The one-machine lab's life: `kubelab up` builds nodes that klctl reaches with no flags, `status`
shows them, and `kubelab down` leaves nothing behind, even after every daemon was killed with -9.

These run the API server only (`--daemons apiserver`): they are about the lab itself, not the agent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controlplane.lab import procs
from tests.support.lab import Lab, LabFactory, unique_prefix
from tests.support.wait import eventually_sync

pytestmark = [pytest.mark.root, pytest.mark.slow]

API_ONLY = ("apiserver",)


def _ip_json(*args: str) -> list[dict[str, object]]:
    result = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True)
    parsed: list[dict[str, object]] = json.loads(result.stdout or "[]")
    return parsed


def _addresses(lab: Lab, node: str | None, device: str) -> list[str]:
    args = ("-n", lab.netns(node)) if node else ()
    return [f"{a['local']}/{a['prefixlen']}" for link in _ip_json(*args, "-4", "addr", "show", "dev", device)
            for a in link["addr_info"]]  # type: ignore[attr-defined]


def _routes(lab: Lab, node: str) -> dict[str, str]:
    return {str(r["dst"]): str(r.get("gateway", "")) for r in _ip_json("-n", lab.netns(node), "-4", "route", "show")}


def _dead(pid: int, started: int | None) -> bool:
    return not procs.is_same_process(pid, started)


def test_up_builds_the_nodes_klctl_reaches_the_api_server_and_down_removes_everything(lab: LabFactory) -> None:
    cluster = lab(workers=2, daemons=API_ONLY)
    assert f"lab {cluster.prefix} is up: 3 nodes" in cluster.up_result.stdout  # type: ignore[union-attr]

    # The bridge holds the host's address; each node is a netns with eth0, lo, a default route via
    # the host, forwarding on, and routes to the other nodes' pod CIDRs.
    assert _addresses(cluster, None, f"{cluster.prefix}-br0") == [f"{cluster.host_ip}/24"]
    for node, ip in cluster.node_ips.items():
        assert _addresses(cluster, node, "eth0") == [f"{ip}/24"]
        forwarding = cluster.exec_in(node, "sysctl", "-n", "net.ipv4.ip_forward")
        assert forwarding.stdout.strip() == "1"
    routes = _routes(cluster, "worker1")
    assert routes["default"] == cluster.host_ip
    assert routes["10.244.0.0/24"] == cluster.node_ips["master"]
    assert routes["10.244.2.0/24"] == cluster.node_ips["worker2"]
    assert "10.244.1.0/24" not in routes

    # klctl with no flags finds the lab through the client config, from the host...
    assert f"server: {cluster.api_address}" in cluster.config_path.read_text()
    assert "Server Version" in cluster.klctl_ok("version")
    # ...and from inside a worker, across the bridge.
    from_worker = cluster.exec_in("worker2", sys.executable, "-m", "controlplane.klctl.main", "version")
    assert from_worker.returncode == 0 and "Server Version" in from_worker.stdout, from_worker.stderr

    status = cluster.status()
    assert status.returncode == 0, status.stderr
    assert "answering" in status.stdout
    for node, ip in cluster.node_ips.items():
        assert any(line.split()[:2] == [node, ip] for line in status.stdout.splitlines())
    [apiserver] = cluster.daemons()
    # The recorded pid is the API server itself, inside the master's network namespace.
    assert "apiserver" in Path(f"/proc/{apiserver['pid']}/cmdline").read_bytes().decode().split("\0")
    assert procs.netns_identity(Path(f"/proc/{apiserver['pid']}/ns/net")) == \
        procs.netns_identity(Path("/run/netns", cluster.netns("master")))
    assert any(line.split()[:4] == ["apiserver", "master", str(apiserver["pid"]), "running"]
               for line in status.stdout.splitlines())

    down = cluster.down()
    assert down.returncode == 0, down.stderr
    assert f"lab {cluster.prefix} is down" in down.stdout
    assert cluster.leftovers() == []
    assert _dead(apiserver["pid"], apiserver["startTime"])
    assert not cluster.config_path.exists()
    assert not cluster.state_dir.exists()

    again = cluster.down()
    assert again.returncode == 0 and "nothing to remove" in again.stdout


def test_down_after_kill_9_of_every_daemon_leaves_no_namespace_interface_mount_or_process(
        lab: LabFactory) -> None:
    cluster = lab(workers=2, daemons=API_ONLY)
    daemons = cluster.daemons()
    for daemon in daemons:
        os.kill(daemon["pid"], 9)
    eventually_sync(lambda: all(_dead(d["pid"], d["startTime"]) for d in daemons), timeout=10,
                    what="the killed daemons to be gone")

    # What a crash leaves: a stray process in a node, a pod netns with a process in it, a volume
    # mounted under the state dir, a container's cgroup with a process in it.
    stray = cluster.spawn_in("worker1", "sleep", "1000")
    pod_netns = f"{cluster.prefix}-worker1-deadbeef0000"
    subprocess.run(["ip", "netns", "add", pod_netns], check=True)
    in_pod = subprocess.Popen(["ip", "netns", "exec", pod_netns, "sleep", "1000"], start_new_session=True,
                              env=cluster.environment())
    volume = cluster.state_dir / "worker1" / "agent" / "pods" / "deadbeef0000" / "volumes" / "cache"
    volume.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", str(volume)], check=True)
    (volume / "data").write_text("x")
    cgroup = _container_cgroup(cluster)
    in_cgroup = subprocess.Popen(["sleep", "1000"], start_new_session=True, env=cluster.environment())
    if cgroup is not None:
        (cgroup / "cgroup.procs").write_text(str(in_cgroup.pid))
    eventually_sync(lambda: len(subprocess.run(["ip", "netns", "pids", pod_netns], capture_output=True,
                                               text=True).stdout.split()) == 1, timeout=10,
                    what="the pod's process to be in its netns")

    status = cluster.status()
    assert status.returncode == 1 and "apiserver on master is not running" in status.stderr

    down = cluster.down()
    assert down.returncode == 0, down.stderr

    assert stray.wait(timeout=10) == -9 and in_pod.wait(timeout=10) == -9
    if cgroup is not None:
        assert in_cgroup.wait(timeout=10) == -9
        assert not cgroup.parent.exists()
    else:
        in_cgroup.kill()
        in_cgroup.wait()
    assert cluster.leftovers() == []
    assert not cluster.state_dir.exists()


def _container_cgroup(cluster: Lab) -> Path | None:
    """A container's cgroup under worker1's --cgroup-parent, in the memory controller (v1) or v2."""
    for root in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        if (root / "cgroup.procs").exists() and os.access(root, os.W_OK):
            cgroup = root / f"kubelab-{cluster.prefix}-worker1" / "pod-deadbeef0000"
            try:
                cgroup.mkdir(parents=True)
            except OSError:
                continue
            return cgroup
    return None


def test_a_daemon_that_fails_is_named_with_its_last_log_line_and_up_leaves_nothing(lab: LabFactory) -> None:
    cluster = lab(workers=1, daemons=API_ONLY, check=False,
                  env={"KUBELAB_APISERVER_SERVICE_CIDR": "10.96.0.0/30"})
    result = cluster.up_result
    assert result is not None and result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("kubelab up: apiserver on master exited with status 2: ")
    assert "--service-cidr '10.96.0.0/30': too small" in line
    assert cluster.leftovers() == []
    assert "too small" in cluster.log("master", "apiserver")  # logs are kept to read


def test_a_second_up_of_the_same_lab_is_refused_and_changes_nothing(lab: LabFactory) -> None:
    cluster = lab(workers=0, daemons=API_ONLY)
    before = cluster.state()
    again = cluster.kubelab("up", "--subnet", str(cluster.subnet), "--workers", "0", "--daemons", "apiserver")
    assert again.returncode == 1
    assert again.stderr.startswith(f"kubelab up: lab {cluster.prefix} already exists")
    assert cluster.state() == before
    assert "Server Version" in cluster.klctl_ok("version")


def test_status_and_down_of_a_lab_that_is_not_there(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("`kubelab down` needs root")
    prefix = unique_prefix()
    args = ["--prefix", prefix, "--state-dir", str(tmp_path / "state")]
    env = {**os.environ, "KUBELAB_CONFIG": str(tmp_path / "config")}

    def kubelab(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "controlplane.cli", *argv], capture_output=True, text=True,
                              timeout=60, env=env)

    status = kubelab("status", *args)
    assert status.returncode == 1 and status.stderr.startswith(f"kubelab status: no lab {prefix} here")
    started = time.monotonic()
    down = kubelab("down", *args)
    assert down.returncode == 0 and f"lab {prefix}: nothing to remove" in down.stdout
    assert time.monotonic() - started < 10
