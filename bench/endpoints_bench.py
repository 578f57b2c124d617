"""Endpoints and DNS benchmark (`make bench`): prints one JSON document.

Against real processes on loopback (`kubelab apiserver`, `kubelab controller-manager`, `kubelab dns`),
with the benchmark playing the node agent (it writes the pods' status, as an agent does):

- readiness to endpoints: a Service over 50 pods; one pod at a time turns unready (or ready again),
  timed from just before its status write to the moment a watcher sees the Endpoints object, and
  another the EndpointSlice, reflect it; then bursts of 20 pods changing at once, timed until the
  last of them is reflected (no batching delay may hold them back);
- DNS: queries per second and latency over UDP for a Service name, 8 clients at once (the answers
  come from the watch cache; the issue sets no target for these, they are reported).

Target: endpoints updated within 100 ms of a readiness change (p99, Endpoints and EndpointSlices).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dnslib import DNSRecord  # noqa: E402

from controlplane.api import codec, kinds  # noqa: E402
from controlplane.api.v1 import core_pb2, discovery_pb2  # noqa: E402
from controlplane.client import ApiClient  # noqa: E402
from tests.support.daemon import ApiServerProcess, DaemonProcess, controller_manager, dns  # noqa: E402
from tests.support.figures import percentile  # noqa: E402

POD = kinds.by_kind("Pod")
ENDPOINTS = kinds.by_kind("Endpoints")
SLICE = kinds.by_kind("EndpointSlice")
TARGET_MS = 100


def _ms(value: float) -> float:
    return round(value * 1000, 2)


async def _set_ready(api: ApiClient, pods: dict[str, core_pb2.Pod], name: str, ready: bool) -> None:
    pod = pods[name]
    del pod.status.conditions[:]
    pod.status.conditions.add(type="Ready", status="True" if ready else "False")
    written = await api.update_status(pod)
    assert isinstance(written, core_pb2.Pod)
    pods[name] = written


async def _start_pods(api: ApiClient, count: int) -> dict[str, core_pb2.Pod]:
    pods: dict[str, core_pb2.Pod] = {}
    for n in range(count):
        name = f"web-{n}"
        created = await api.create(codec.decode_object({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"nodeName": "node-a", "containers": [{"name": "web", "image": "kubelab/demo:1",
                                                           "ports": [{"name": "http", "containerPort": 3000}]}]}}))
        assert isinstance(created, core_pb2.Pod)
        created.status.phase = "Running"
        created.status.pod_ip = f"10.244.{n // 250}.{n % 250 + 2}"
        created.status.pod_ips.add(ip=created.status.pod_ip)
        pods[name] = created
        await _set_ready(api, pods, name, True)
    return pods


class Views:
    """What watchers of Endpoints and EndpointSlices last saw: the set of ready pod addresses."""

    def __init__(self) -> None:
        self.endpoints: set[str] = set()
        self.slices: dict[str, dict[str, bool]] = {}
        self.changed = asyncio.Event()

    def slice_ready(self) -> set[str]:
        return {ip for found in self.slices.values() for ip, ready in found.items() if ready}

    async def follow(self, api: ApiClient, revision: str) -> None:
        async def endpoints() -> None:
            async for event in api.watch(ENDPOINTS, "default", resource_version=revision):
                obj = event.object
                if isinstance(obj, core_pb2.Endpoints) and obj.metadata.name == "web":
                    self.endpoints = {a.ip for s in obj.subsets for a in s.addresses}
                    self.changed.set()

        async def slices() -> None:
            async for event in api.watch(SLICE, "default", resource_version=revision):
                obj = event.object
                assert isinstance(obj, discovery_pb2.EndpointSlice)
                if obj.metadata.labels.get("kubernetes.io/service-name") != "web":
                    continue
                if event.type == "DELETED":
                    self.slices.pop(obj.metadata.name, None)
                else:
                    self.slices[obj.metadata.name] = {e.addresses[0]: e.conditions.ready for e in obj.endpoints}
                self.changed.set()

        await asyncio.gather(endpoints(), slices())

    async def until(self, wanted: set[str], started: float) -> tuple[float, float]:
        """Seconds until the Endpoints, and the slices, showed `wanted` as the ready addresses."""
        seen_endpoints = seen_slices = 0.0
        while not (seen_endpoints and seen_slices):
            if not seen_endpoints and self.endpoints == wanted:
                seen_endpoints = time.perf_counter() - started
            if not seen_slices and self.slice_ready() == wanted:
                seen_slices = time.perf_counter() - started
            if seen_endpoints and seen_slices:
                break
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)
        return seen_endpoints, seen_slices


async def readiness_latency(api: ApiClient, watcher: ApiClient, pods: int, flips: int, bursts: int,
                            burst_size: int) -> dict[str, Any]:
    running = await _start_pods(api, pods)
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                          "spec": {"selector": {"app": "web"},
                                                   "ports": [{"port": 80, "targetPort": "http"}]}}))
    _, revision = await api.list(POD, "default")
    views = Views()
    follower = asyncio.create_task(views.follow(watcher, revision))
    ready = {pod.status.pod_ip: True for pod in running.values()}
    names = {pod.status.pod_ip: name for name, pod in running.items()}
    await views.until(set(ready), time.perf_counter())
    endpoint_delays: list[float] = []
    slice_delays: list[float] = []
    rng = random.Random(7)
    for _ in range(flips):
        ip = rng.choice(sorted(ready))
        ready[ip] = not ready[ip]
        started = time.perf_counter()
        await _set_ready(api, running, names[ip], ready[ip])
        to_endpoints, to_slices = await views.until({i for i, r in ready.items() if r}, started)
        endpoint_delays.append(to_endpoints)
        slice_delays.append(to_slices)
    burst_delays: list[float] = []
    for _ in range(bursts):
        chosen = rng.sample(sorted(ready), burst_size)
        for ip in chosen:
            ready[ip] = not ready[ip]
        started = time.perf_counter()
        await asyncio.gather(*(_set_ready(api, running, names[ip], ready[ip]) for ip in chosen))
        burst_delays.append(max(await views.until({i for i, r in ready.items() if r}, started)))
    follower.cancel()
    await asyncio.gather(follower, return_exceptions=True)
    return {"pods": pods, "flips": flips,
            "readiness_to_endpoints_p50_ms": _ms(statistics.median(endpoint_delays)),
            "readiness_to_endpoints_p99_ms": _ms(percentile(endpoint_delays, 0.99)),
            "readiness_to_endpointslices_p50_ms": _ms(statistics.median(slice_delays)),
            "readiness_to_endpointslices_p99_ms": _ms(percentile(slice_delays, 0.99)),
            "bursts": bursts, "burst_size": burst_size,
            "burst_to_all_reflected_p50_ms": _ms(statistics.median(burst_delays)),
            "burst_to_all_reflected_max_ms": _ms(max(burst_delays))}


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] | None = None

    def datagram_received(self, data: bytes, addr: object) -> None:
        if self.reply is not None and not self.reply.done():
            self.reply.set_result(data)


async def dns_queries(port: int, clients: int, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    question = DNSRecord.question("web.default.svc.cluster.local", "A").pack()
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        transport, protocol = await loop.create_datagram_endpoint(_Client, remote_addr=("127.0.0.1", port))
        try:
            while time.perf_counter() < stop_at:
                protocol.reply = loop.create_future()
                begun = time.perf_counter()
                transport.sendto(question)
                answer = await asyncio.wait_for(protocol.reply, 5)
                assert DNSRecord.parse(answer).rr, "a Service name must have an answer"
                latencies.append(time.perf_counter() - begun)
        finally:
            transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"dns_clients": clients, "dns_queries_per_s": round(len(latencies) / elapsed, 1),
            "dns_latency_p50_ms": _ms(statistics.median(latencies)),
            "dns_latency_p99_ms": _ms(percentile(latencies, 0.99))}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--flips", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--burst-size", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the DNS measurement")
    args = parser.parse_args()
    base = ROOT / ".kubelab" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as scratch:
        directory = Path(scratch)
        server = ApiServerProcess(directory / "data", directory / "apiserver.log")
        server.start()
        daemons: list[DaemonProcess] = []
        try:
            manager = controller_manager(server.address, directory / "controller-manager.log")
            daemons.append(manager)
            manager.start()
            resolver = dns(server.address, directory / "dns.log", "--resolv-conf", "", "--register-service", "")
            daemons.append(resolver)
            resolver.start()
            api, watcher = server.client(), server.client()
            try:
                results: dict[str, Any] = {"machine_cores": os.cpu_count()}
                results.update(await readiness_latency(api, watcher, args.pods, args.flips, args.bursts,
                                                       args.burst_size))
                results.update(await dns_queries(int(resolver.ready["port"]), 8, args.seconds))
            finally:
                await api.close()
                await watcher.close()
        finally:
            for daemon in daemons:
                daemon.stop()
            server.stop()
    results["targets"] = {
        name: {"target_ms": TARGET_MS, "reached_ms": results[name], "met": results[name] <= TARGET_MS}
        for name in ("readiness_to_endpoints_p99_ms", "readiness_to_endpointslices_p99_ms")}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
