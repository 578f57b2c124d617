"""API server benchmark (`make bench`): prints one JSON document.

- creates/s: 16 concurrent clients, each on its own connection, creating objects for a fixed time
  against a real `kubelab apiserver` process on the durable SQLite store;
- watch delivery latency: 100 watchers on their own streams while a writer creates objects at a
  steady rate; latency is from the moment the create was sent to the moment each watcher got it;
- the references, measured in the same run: raw SQLite inserts/s on the same disk, one row per
  transaction, with the very pragmas (WAL, synchronous=FULL) the store uses; and the rate of
  empty calls (GetServerInfo) the same 16 clients get from the same server, which is the ceiling
  the gRPC runtime alone puts on any call, a create included.

Targets on the 2-core machine: >= 2,000 creates/s and watch p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controlplane.api import codec, kinds  # noqa: E402
from controlplane.client import ApiClient, ClientConfig, connect  # noqa: E402
from controlplane.store.sqlite import DURABLE_PRAGMAS  # noqa: E402
from tests.support.daemon import ApiServerProcess  # noqa: E402
from tests.support.figures import percentile  # noqa: E402

CONFIGMAP = kinds.by_kind("ConfigMap")
POD = kinds.by_kind("Pod")
VALUE = "x" * 200


def _config_map(name: str, sent: float | None = None):
    data = {"payload": VALUE}
    if sent is not None:
        data["sent"] = repr(sent)
    return codec.decode_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                                "data": data})


def _pod(name: str):
    return codec.decode_object({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "web", "image": "kubelab/demo:1", "ports": [{"containerPort": 3000}],
                                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                                 "readinessProbe": {"httpGet": {"path": "/readyz", "port": 3000}}}]}})


def raw_sqlite_inserts_per_second(directory: Path, seconds: float) -> float:
    """One INSERT per committed transaction, durable as the store is: the same machine's baseline."""
    connection = sqlite3.connect(directory / "raw.db", isolation_level=None)
    for pragma in DURABLE_PRAGMAS:
        connection.execute(pragma)
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, key TEXT, value BLOB)")
    payload = _config_map("x").SerializeToString()
    count = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        connection.execute("BEGIN")
        connection.execute("INSERT INTO t (key, value) VALUES (?, ?)", (f"/registry/configmaps/default/{count}",
                                                                       payload))
        connection.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


async def creates_per_second(address: str, kind: str, clients: int, seconds: float) -> dict[str, float]:
    connections = [connect(ClientConfig(server=address)) for _ in range(clients)]
    latencies: list[float] = []
    make = _pod if kind == "Pod" else _config_map
    stop_at = 0.0

    async def client(number: int, api: ApiClient) -> int:
        done = 0
        while time.perf_counter() < stop_at:
            begun = time.perf_counter()
            await api.create(make(f"{kind.lower()}-{number}-{done}"))
            latencies.append(time.perf_counter() - begun)
            done += 1
        return done

    for api in connections:  # connect every client before the clock starts
        await api.server_info()
    started = time.perf_counter()
    stop_at = started + seconds
    counts = await asyncio.gather(*(client(n, api) for n, api in enumerate(connections)))
    elapsed = time.perf_counter() - started
    for api in connections:
        await api.close()
    return {"creates_per_s": round(sum(counts) / elapsed, 1),
            "create_latency_p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
            "create_latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 2)}


async def empty_calls_per_second(address: str, clients: int, seconds: float) -> float:
    """Calls that do nothing but answer: the gRPC runtime's own ceiling for this server."""
    connections = [connect(ClientConfig(server=address)) for _ in range(clients)]
    for api in connections:
        await api.server_info()
    stop_at = time.perf_counter() + seconds

    async def client(api: ApiClient) -> int:
        done = 0
        while time.perf_counter() < stop_at:
            await api.server_info()
            done += 1
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(client(api) for api in connections))
    elapsed = time.perf_counter() - started
    for api in connections:
        await api.close()
    return round(sum(counts) / elapsed, 1)


async def watch_latency(address: str, watchers: int, rate: float, seconds: float) -> dict[str, float]:
    channels = [connect(ClientConfig(server=address), timeout=None) for _ in range(10)]
    writer = connect(ClientConfig(server=address))
    namespace = "watch-bench"
    await writer.create(codec.decode_object({"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": namespace}}))
    _, version = await writer.list(CONFIGMAP, namespace)
    delays: list[float] = []
    expected = 0
    ready = asyncio.Event()
    subscribed = 0

    async def watch(api: ApiClient) -> None:
        nonlocal subscribed
        subscribed += 1
        if subscribed == watchers:
            ready.set()
        async for event in api.watch(CONFIGMAP, namespace, resource_version=version):
            delays.append(time.perf_counter() - float(event.object.data["sent"]))  # type: ignore[attr-defined]

    tasks = [asyncio.create_task(watch(channels[n % len(channels)])) for n in range(watchers)]
    await ready.wait()
    await asyncio.sleep(0.5)  # let every stream reach the server before the first write
    interval = 1.0 / rate
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        obj = _config_map(f"w-{expected}", sent=time.perf_counter())
        obj.metadata.namespace = namespace  # type: ignore[attr-defined]
        await writer.create(obj)
        expected += 1
        await asyncio.sleep(max(0.0, started + expected * interval - time.perf_counter()))
    deadline = time.perf_counter() + 10
    while len(delays) < expected * watchers and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for api in (*channels, writer):
        await api.close()
    return {"watchers": watchers, "watch_writes": expected, "watch_events_received": len(delays),
            "watch_events_expected": expected * watchers,
            "watch_latency_p50_ms": round(statistics.median(delays) * 1000, 2),
            "watch_latency_p99_ms": round(percentile(delays, 0.99) * 1000, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--watch-rate", type=float, default=50.0, help="writes per second during the watch test")
    args = parser.parse_args()
    base = ROOT / ".kubelab" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as scratch:
        directory = Path(scratch)
        results: dict[str, object] = {"machine_cores": os.cpu_count()}
        results["raw_sqlite_inserts_per_s"] = round(raw_sqlite_inserts_per_second(directory, args.seconds), 1)
        for kind in ("ConfigMap", "Pod"):
            server = ApiServerProcess(directory / f"data-{kind}", directory / f"apiserver-{kind}.log")
            server.start()
            try:
                figures = await creates_per_second(server.address, kind, args.clients, args.seconds)
                if kind == "ConfigMap":
                    results["grpc_empty_calls_per_s"] = await empty_calls_per_second(
                        server.address, args.clients, args.seconds)
            finally:
                server.stop()
            results[kind.lower()] = figures
        server = ApiServerProcess(directory / "data-watch", directory / "apiserver-watch.log")
        server.start()
        try:
            results["watch"] = await watch_latency(server.address, args.watchers, args.watch_rate, args.seconds)
        finally:
            server.stop()
    creates = results["configmap"]["creates_per_s"]  # type: ignore[index]
    results["targets"] = {
        "creates_per_s": {"target": 2000, "reached": creates, "met": creates >= 2000,
                          "versus_raw_sqlite": round(creates / results["raw_sqlite_inserts_per_s"], 2),  # type: ignore[operator]
                          "versus_grpc_empty_calls": round(creates / results["grpc_empty_calls_per_s"], 2)},  # type: ignore[operator]
        "watch_latency_p99_ms": {"target": 50, "reached": results["watch"]["watch_latency_p99_ms"],  # type: ignore[index]
                                 "met": results["watch"]["watch_latency_p99_ms"] < 50},  # type: ignore[index]
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
