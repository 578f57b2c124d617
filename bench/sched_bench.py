"""Scheduler benchmark (`make bench`): prints one JSON document.

For each cluster size (1,000 and 5,000 hollow nodes), on loopback: a fresh `kubelab apiserver`, the
`kubelab controller-manager`, `kubelab hollow-nodes` (Leases every 10 s and status every 5 min, as
kubelets; every bound pod marked Running) and `kubelab scheduler`. Pods ask for 100m and 64Mi and
belong to one of 10 apps, each selected by a Service, so the default spreading is at work.

- end to end: 10,000 pods created by 16 clients while the scheduler runs; pods/s from the first
  create to the last binding (the scheduler's own clock of the binding's reply);
- the scheduler's own rate: the scheduler stopped, 10,000 more pods created (which is also the
  raw create rate of this API server under the nodes' heartbeats), the scheduler started: pods/s
  from its first binding to its last, with its decision time (CPU seconds in filters and scores);
- the CPU each daemon used in each phase (a share of one core: these are single-threaded asyncio
  processes, the API server's store has a writer thread) and their resident memory at the end;
- a check that every pod is bound and no node holds more than it offers.

Targets: 1,000 pods/s (kube-scheduler's CI asks at least 680 at 5,000 nodes and 10,000 pods), and
every daemon under 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controlplane.api import codec, kinds  # noqa: E402
from controlplane.api.timestamps import epoch  # noqa: E402
from controlplane.api.v1 import coordination_pb2, core_pb2  # noqa: E402
from controlplane.client import ClientConfig, connect  # noqa: E402
from controlplane.scheduler.resources import Allocatable, pod_requests  # noqa: E402
from tests.support.daemon import ApiServerProcess, DaemonProcess, controller_manager, hollow_nodes, scheduler  # noqa: E402
from tests.support.pods import alive  # noqa: E402
from tests.support.wait import eventually_sync  # noqa: E402

POD = kinds.by_kind("Pod")
NODE = kinds.by_kind("Node")
LEASE = kinds.by_kind("Lease")
APPS = 10
TARGET_PODS_PER_S = 1000
KUBE_SCHEDULER_CI_PODS_PER_S = 680
TARGET_RSS_MB = 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _pod(number: int, batch: str) -> Any:
    app = f"app-{number % APPS}"
    return codec.decode_object({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{batch}-{number}", "labels": {"app": app}},
        "spec": {"containers": [{"name": "web", "image": "kubelab/demo:1", "ports": [{"containerPort": 3000}],
                                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}})


def _service(number: int) -> Any:
    return codec.decode_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"app-{number}"},
                                "spec": {"selector": {"app": f"app-{number}"}, "ports": [{"port": 80}]}})


def _memory(pid: int) -> dict[str, Any]:
    if not alive(pid):
        return {"exited": True}
    figures: dict[str, Any] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(int(value.split()[0]) / 1024, 1)
    return figures


def _cpu_seconds(pid: int) -> float:
    if not alive(pid):
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


class Meter:
    """Between `start` and `stop`: the CPU seconds each process used, as a share of the wall time, and
    the API server's writes per second (every write moves its store's revision by one)."""

    def __init__(self, address: str, pids: dict[str, int]) -> None:
        self.address = address
        self.pids = pids
        self._before: dict[str, float] = {}
        self._started = 0.0
        self._revision = 0

    async def _store_revision(self) -> int:
        async with connect(ClientConfig(server=self.address)) as api:
            return int((await api.server_info()).revision)

    async def start(self) -> None:
        self._revision = await self._store_revision()
        self._started = time.monotonic()
        self._before = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}

    async def stop(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self._started
        shares = {name: round((_cpu_seconds(pid) - self._before[name]) / elapsed, 2) for name, pid in self.pids.items()}
        writes = await self._store_revision() - self._revision
        return {"cpu_share": shares, "api_writes_per_s": round(writes / elapsed, 1)}


async def create_pods(address: str, count: int, clients: int, batch: str) -> tuple[float, float]:
    """Create `count` pods with `clients` concurrent clients; (wall time of the first create, seconds)."""
    connections = [connect(ClientConfig(server=address), timeout=120) for _ in range(clients)]
    for api in connections:
        await api.server_info()
    numbers = iter(range(count))

    async def client(api: Any) -> None:
        for number in numbers:
            await api.create(_pod(number, batch))

    started_wall, started = time.time(), time.perf_counter()
    await asyncio.gather(*(client(api) for api in connections))
    elapsed = time.perf_counter() - started
    for api in connections:
        await api.close()
    return started_wall, elapsed


def wait_bound(process: DaemonProcess, count: int, timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        for stats in reversed(list(process.events("scheduler.stats"))):
            return stats if stats["bound"] >= count else None
        return None
    return eventually_sync(done, timeout=timeout, what=f"the scheduler to bind {count} pods", interval=0.5)


async def check_placement(address: str) -> dict[str, Any]:
    """Every pod bound, and no node asked for more than it offers."""
    async with connect(ClientConfig(server=address), timeout=120) as api:
        pods, _ = await api.list(POD)
        nodes, _ = await api.list(NODE)
        leases, _ = await api.list(LEASE, "kube-node-lease")
    now = time.time()
    # an unreadable renewal time counts as never renewed: it shows as the oldest
    ages = [now - (epoch(lease.spec.renew_time) or 0.0)
            for lease in leases if isinstance(lease, coordination_pb2.Lease)]
    offered = {n.metadata.name: Allocatable.of(n) for n in nodes if isinstance(n, core_pb2.Node)}
    cpu: Counter[str] = Counter()
    memory: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for found in pods:
        assert isinstance(found, core_pb2.Pod)
        if found.spec.node_name:
            requests = pod_requests(found.spec)
            cpu[found.spec.node_name] += requests.cpu
            memory[found.spec.node_name] += requests.memory
            count[found.spec.node_name] += 1
    overcommitted = [name for name, room in offered.items() if cpu[name] > room.resources.cpu
                     or memory[name] > room.resources.memory or count[name] > room.pods]
    return {"pods": len(pods), "bound": sum(count.values()), "nodes_used": len(count),
            "most_pods_on_a_node": max(count.values(), default=0), "fewest_pods_on_a_used_node":
            min(count.values(), default=0), "overcommitted_nodes": len(overcommitted),
            "node_leases": len(ages), "oldest_lease_renewal_s_ago": round(max(ages, default=0.0), 1)}


def start_profile(pid: int, path: Path, seconds: int) -> subprocess.Popen[bytes] | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        return None
    return subprocess.Popen([py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--format",
                             "raw", "--output", str(path), "--nonblocking", "--threads"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run_size(nodes: int, pods: int, clients: int, directory: Path, profile: Path | None,
                   keep: Path | None) -> dict[str, Any]:
    directory.mkdir(parents=True)
    load_at_start = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was
    apiserver = ApiServerProcess(directory / "data", directory / "apiserver.log")
    apiserver.start()
    started: list[DaemonProcess] = []
    try:
        manager = controller_manager(apiserver.address, directory / "controller-manager.log").start()
        started.append(manager)
        registering = time.perf_counter()
        hollow = hollow_nodes(apiserver.address, directory, nodes, "--parallel-writes", "32").start(timeout=600)
        started.append(hollow)
        registered_in = time.perf_counter() - registering
        flags = ("--stats-interval", "0.5")
        sched = scheduler(apiserver.address, directory, *flags).start(timeout=300)
        started.append(sched)
        pids = {"apiserver": apiserver.pid, "scheduler": sched.pid, "hollow_nodes": hollow.pid,
                "controller_manager": manager.pid, "bench_clients": os.getpid()}
        async with connect(ClientConfig(server=apiserver.address)) as api:
            for number in range(APPS):
                await api.create(_service(number))

        # End to end: create while the scheduler binds.
        meter = Meter(apiserver.address, pids)
        await meter.start()
        profilers = [start_profile(pid, profile / f"{name}-{nodes}-e2e.txt", 30) for name, pid in pids.items()
                     if name != "bench_clients"] if profile else []
        first_create, create_seconds = await create_pods(apiserver.address, pods, clients, "live")
        stats = wait_bound(sched, pods, timeout=900)
        end_to_end_load = await meter.stop()
        for profiler in profilers:
            if profiler is not None:
                profiler.wait()
        end_to_end = stats["last_bound"] - first_create

        # The scheduler's own rate: a backlog, created while it is stopped.
        sched.stop()
        meter = Meter(apiserver.address, {k: v for k, v in pids.items() if k != "scheduler"})
        await meter.start()
        _, backlog_create_seconds = await create_pods(apiserver.address, pods, clients, "backlog")
        create_only_load = await meter.stop()
        restarted = time.time()
        sched = scheduler(apiserver.address, directory, *flags)
        sched.log_path = directory / "scheduler-backlog.log"
        sched.start(timeout=300)
        started.append(sched)
        pids["scheduler"] = sched.pid
        meter = Meter(apiserver.address, pids)
        await meter.start()
        profilers = [start_profile(pid, profile / f"{name}-{nodes}-backlog.txt", 30) for name, pid in pids.items()
                     if name != "bench_clients"] if profile else []
        backlog = wait_bound(sched, pods, timeout=900)
        backlog_load = await meter.stop()
        for profiler in profilers:
            if profiler is not None:
                profiler.wait()
        own_seconds = backlog["last_bound"] - backlog["first_bound"]
        memory = {name: _memory(pid) for name, pid in pids.items() if name != "bench_clients"}
        placement = await check_placement(apiserver.address)
        hollow_writes = list(hollow.events("hollow.writes"))
        return {
            "nodes": nodes, "pods_per_phase": pods, "create_clients": clients,
            "machine_load_average_1min": {"at_start": load_at_start, "at_end": round(os.getloadavg()[0], 2)},
            "hollow_nodes_registered_s": round(registered_in, 1),
            "end_to_end": {
                "pods_per_s": round(pods / end_to_end, 1), "seconds": round(end_to_end, 2),
                "creates_per_s_meanwhile": round(pods / create_seconds, 1), **end_to_end_load,
                "scheduler_decision_cpu_s": stats["algorithm_cpu_seconds"], "bind_failures": stats["bind_failures"],
                "scheduled_events_dropped": stats["dropped_events"]},
            "scheduler_own_rate": {
                "pods_per_s": round(pods / own_seconds, 1), "first_to_last_binding_s": round(own_seconds, 2),
                "from_start_to_last_binding_s": round(backlog["last_bound"] - restarted, 2),
                "decision_cpu_s": backlog["algorithm_cpu_seconds"],
                "decisions_per_cpu_s": round(pods / backlog["algorithm_cpu_seconds"], 1),
                **backlog_load, "bind_failures": backlog["bind_failures"],
                "scheduled_events_dropped": backlog["dropped_events"]},
            "raw_create_rate": {"creates_per_s": round(pods / backlog_create_seconds, 1), **create_only_load},
            "hollow_node_writes_so_far": hollow_writes[-1] if hollow_writes else {},
            "memory": memory,
            "placement": placement,
        }
    finally:
        for process in reversed(started):
            process.stop()
        apiserver.stop()
        if keep is not None:
            shutil.copytree(directory, keep / directory.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("data"))


def _targets(result: dict[str, Any]) -> dict[str, Any]:
    end_to_end = result["end_to_end"]["pods_per_s"]
    own = result["scheduler_own_rate"]["pods_per_s"]
    targets: dict[str, Any] = {
        "end_to_end_pods_per_s": {"target": TARGET_PODS_PER_S, "reached": end_to_end,
                                  "met": end_to_end >= TARGET_PODS_PER_S},
        "scheduler_own_pods_per_s": {"target": TARGET_PODS_PER_S, "reached": own, "met": own >= TARGET_PODS_PER_S,
                                     "kube_scheduler_ci_threshold": KUBE_SCHEDULER_CI_PODS_PER_S,
                                     "meets_kube_scheduler_ci": own >= KUBE_SCHEDULER_CI_PODS_PER_S},
    }
    for name in ("apiserver", "scheduler", "controller_manager"):
        memory = result["memory"][name]
        if memory.get("exited"):  # the controller manager exits at once when it has no controller to run
            targets[f"{name}_peak_rss_mb"] = {"target": TARGET_RSS_MB, "reached": None, "met": None,
                                              "note": "the process had exited: nothing to measure"}
            continue
        peak = memory["peak_rss_mb"]
        targets[f"{name}_peak_rss_mb"] = {"target": TARGET_RSS_MB, "reached": peak, "met": peak < TARGET_RSS_MB}
    placement = result["placement"]
    targets["all_bound_none_overcommitted"] = {
        "target": True, "reached": placement["bound"] == placement["pods"] and not placement["overcommitted_nodes"],
        "met": placement["bound"] == placement["pods"] and not placement["overcommitted_nodes"]}
    return targets


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1000,5000", help="cluster sizes, comma-separated")
    parser.add_argument("--pods", type=int, default=10000, help="pods per phase")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients creating pods")
    parser.add_argument("--profile", type=Path,
                        help="write py-spy profiles (collapsed stacks) of every daemon here")
    parser.add_argument("--keep", type=Path, help="keep the daemons' logs here")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    base = ROOT / ".kubelab" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine_cores": os.cpu_count(), "sizes": []}
    with tempfile.TemporaryDirectory(dir=base) as scratch:
        for size in (int(part) for part in args.nodes.split(",")):
            result = await run_size(size, args.pods, args.clients, Path(scratch) / f"n{size}", args.profile,
                                    args.keep)
            result["targets"] = _targets(result)
            results["sizes"].append(result)
            print(json.dumps(result["targets"]), file=sys.stderr)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
