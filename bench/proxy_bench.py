"""Service proxy benchmark (`make bench`): prints one JSON document.

For each proxy mode, on a lab of its own (a master and two workers), from worker2's node namespace
to two pods on worker1, side by side:

- direct: to the pod's IP (the network itself, the ceiling),
- proxy: to the service's cluster IP, through the node's `kubelab proxy` in that mode,
- haproxy: through HAProxy (Debian's package, `mode tcp`, its default threads), started by this
  bench in the same node namespace and configured for the same pods.

Bulk throughput is one iperf3 TCP stream for 3 s (the pod runs `iperf3 -s`), five rounds; request
latency and rate come from wrk (1 thread, 16 keep-alive connections, 4 s), three rounds, against a
pod that answers HTTP at C speed (HAProxy's `http-request return` as a static responder, so the
backend is not what is measured). Both load generators are C programs. The three paths are measured
in turn, round after round, and each figure is the median of its rounds (the machine is shared;
interleaving spreads the noise evenly over the paths).

Then the programming latency: 200 EndpointSlice changes, 50 ms apart, each stamped with Kubernetes'
`endpoints.kubernetes.io/last-change-trigger-time` when it is sent; every node's proxy reports the
time from that stamp to the change being applied in its data path (kube-proxy's network programming
latency, `/metrics` on port 10256), and the p99 is taken per node.

Targets: nftables throughput >= 0.9x direct; userspace throughput >= 0.5x HAProxy's; an endpoint
change applied on every node within 100 ms p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controlplane.api import kinds  # noqa: E402
from controlplane.api.timestamps import format_micro_time  # noqa: E402
from controlplane.client import ClientConfig, connect  # noqa: E402
from tests.support.lab import Lab, lab_session  # noqa: E402
from tests.support.pods import is_running, wait_pods  # noqa: E402
from tests.support.servicelab import cluster_ip, endpoint, endpoint_slice  # noqa: E402

CLIENT_NODE, SERVER_NODE = "worker2", "worker1"
BULK_PORT, WEB_PORT = 5201, 8080
HAPROXY_BULK, HAPROXY_WEB = 15201, 18080
SECONDS = 4  # of each wrk run
BULK_SECONDS = 3  # of each iperf3 run
ROUNDS = 3  # wrk runs per path
BULK_ROUNDS = 5  # iperf3 runs per path (single-stream throughput varies most)
SLICE = kinds.by_kind("EndpointSlice")
TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"

RESPONDER = """global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend web
  bind :8080
  http-request return status 200 content-type text/plain string "hello from the bench backend"
"""

PODS = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: bulk}}
spec:
  nodeName: {SERVER_NODE}
  containers:
  - {{name: iperf3, image: busybox, command: [iperf3, -s, -p, "{BULK_PORT}"]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  nodeName: {SERVER_NODE}
  containers:
  - name: responder
    image: busybox
    command: [sh, -c, {json.dumps(f"printf '%s' '{RESPONDER}' > /tmp/web.cfg && exec haproxy -db -f /tmp/web.cfg")}]
"""


def services(lab: Lab) -> str:
    documents = []
    for name, port in (("bulk", BULK_PORT), ("web", WEB_PORT)):
        documents.append(f"""\
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  ports: [{{name: tcp, port: {port}}}]
""")
        documents.append(endpoint_slice(f"{name}-1", name, [endpoint(lab, name)],
                                        [{"name": "tcp", "port": port, "protocol": "TCP"}]))
    return "\n---\n".join(documents)


def haproxy_config(bulk_ip: str, web_ip: str, pidfile: Path) -> str:
    return f"""global
  maxconn 4096
  pidfile {pidfile}
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bulk
  bind 127.0.0.1:{HAPROXY_BULK}
  default_backend bulk
backend bulk
  server pod {bulk_ip}:{BULK_PORT}
frontend web
  bind 127.0.0.1:{HAPROXY_WEB}
  default_backend web
backend web
  server pod {web_ip}:{WEB_PORT}
"""


def pod_ip(lab: Lab, name: str) -> str:
    return str(endpoint(lab, name)["addresses"][0])


def iperf3(lab: Lab, host: str, port: int) -> float:
    """Gbit/s of one TCP stream."""
    result = lab.exec_in(CLIENT_NODE, "iperf3", "-c", host, "-p", str(port), "-t", str(BULK_SECONDS), "-J",
                         timeout=BULK_SECONDS + 60)
    data = json.loads(result.stdout or "{}")
    if "error" in data or result.returncode != 0:
        raise RuntimeError(f"iperf3 to {host}:{port}: {data.get('error') or result.stderr.strip()}")
    return round(float(data["end"]["sum_received"]["bits_per_second"]) / 1e9, 2)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _millis(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return round(float(number) * _UNITS[unit], 3)


def wrk(lab: Lab, url: str) -> dict[str, Any]:
    result = lab.exec_in(CLIENT_NODE, "wrk", "-t1", "-c16", f"-d{SECONDS}s", "--latency", url, timeout=SECONDS + 60)
    out = result.stdout
    if result.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk {url}: {result.stderr.strip() or out.strip()}")
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)$", out, re.MULTILINE)
    return {"requests_per_s": round(float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))),  # type: ignore[union-attr]
            "p50_ms": _millis(percentiles["50"]), "p99_ms": _millis(percentiles["99"]),
            "errors": errors.group(0) if errors else "none"}


def data_path(lab: Lab) -> dict[str, Any]:
    bulk_ip, web_ip = pod_ip(lab, "bulk"), pod_ip(lab, "web")
    targets = {"direct": (bulk_ip, BULK_PORT, web_ip, WEB_PORT),
               "proxy": (cluster_ip(lab, "bulk"), BULK_PORT, cluster_ip(lab, "web"), WEB_PORT),
               "haproxy": ("127.0.0.1", HAPROXY_BULK, "127.0.0.1", HAPROXY_WEB)}
    pidfile = lab.workdir / "haproxy.pid"
    config = lab.write("haproxy.cfg", haproxy_config(bulk_ip, web_ip, pidfile))
    haproxy = lab.spawn_in(CLIENT_NODE, "haproxy", "-db", "-f", config)
    try:
        time.sleep(1)
        bulk: dict[str, list[float]] = {path: [] for path in targets}
        web: dict[str, list[dict[str, float]]] = {path: [] for path in targets}
        for _ in range(BULK_ROUNDS):
            for path, (bulk_host, bulk_port, _, _) in targets.items():
                bulk[path].append(iperf3(lab, bulk_host, bulk_port))
        for _ in range(ROUNDS):
            for path, (_, _, web_host, web_port) in targets.items():
                web[path].append(wrk(lab, f"http://{web_host}:{web_port}/"))
        return {path: {"throughput_gbit_s": statistics.median(bulk[path]), "throughput_runs": bulk[path],
                       **{key: statistics.median(run[key] for run in web[path])
                          for key in ("requests_per_s", "p50_ms", "p99_ms")},
                       "http_errors": [run["errors"] for run in web[path] if run["errors"] != "none"]}
                for path in targets}
    finally:
        haproxy.terminate()
        haproxy.wait(timeout=10)


def _stamp() -> str:
    return format_micro_time(datetime.now(UTC))


async def change_endpoints(lab: Lab, changes: int, spacing: float) -> None:
    """Flip the web pod's readiness in its slice, `changes` times: one merge patch each, stamped with
    the time it is sent."""
    client = connect(ClientConfig(server=lab.api_address))
    web = endpoint(lab, "web")
    try:
        for number in range(changes):
            web["conditions"] = {"ready": number % 2 == 1}
            patch = {"metadata": {"annotations": {TRIGGER: _stamp()}}, "endpoints": [web]}
            await client.patch(SLICE, "default", "web-1", json.dumps(patch))
            await asyncio.sleep(spacing)
    finally:
        await client.close()


def programming_latency(lab: Lab, changes: int) -> dict[str, Any]:
    asyncio.run(change_endpoints(lab, changes, 0.05))
    time.sleep(1)
    per_node: dict[str, Any] = {}
    for node, ip in lab.node_ips.items():
        with urllib.request.urlopen(f"http://{ip}:10256/metrics", timeout=5) as response:
            text = response.read().decode()
        name = "kubeproxy_network_programming_duration_seconds_recent"
        quantiles = dict(re.findall(rf'^{name}{{quantile="([0-9.]+)"}} (\S+)$', text, re.MULTILINE))
        count = int(re.search(rf"^{name}_count (\d+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
        per_node[node] = {"changes_seen": count, "p50_ms": round(float(quantiles["0.5"]) * 1000, 1),
                          "p99_ms": round(float(quantiles["0.99"]) * 1000, 1)}
    return per_node


def run_mode(start: Any, mode: str, changes: int) -> dict[str, Any]:
    lab: Lab = start(workers=2, env={"KUBELAB_LAB_PROXY_MODE": mode})
    lab.klctl_ok("apply", "-f", lab.write("pods.yaml", PODS))
    wait_pods(lab, ["bulk", "web"], is_running, what="Running")
    lab.klctl_ok("apply", "-f", lab.write("services.yaml", services(lab)))
    time.sleep(2)  # the servers in the pods start listening
    result = data_path(lab)
    result["programming_latency"] = programming_latency(lab, changes)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    base = ROOT / ".kubelab" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    # The machine may be shared: its load is part of what the figures mean.
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0]}
    for mode in ("userspace", "nftables"):  # one lab at a time: the idle one would take CPU from the other
        with tempfile.TemporaryDirectory(dir=base) as scratch, lab_session(Path(scratch)) as start:
            results[mode] = run_mode(start, mode, args.changes)
    results["load_average_after"] = os.getloadavg()[0]
    nft, user = results["nftables"], results["userspace"]
    nft_ratio = round(nft["proxy"]["throughput_gbit_s"] / nft["direct"]["throughput_gbit_s"], 2)
    user_ratio = round(user["proxy"]["throughput_gbit_s"] / user["haproxy"]["throughput_gbit_s"], 2)
    user_rate_ratio = round(user["proxy"]["requests_per_s"] / user["haproxy"]["requests_per_s"], 2)
    worst = max(node["p99_ms"] for mode in ("userspace", "nftables")
                for node in results[mode]["programming_latency"].values())
    results["targets"] = {
        "nftables_throughput_vs_direct": {"target": 0.9, "reached": nft_ratio, "met": nft_ratio >= 0.9},
        "userspace_throughput_vs_haproxy": {"target": 0.5, "reached": user_ratio, "met": user_ratio >= 0.5},
        "userspace_requests_per_s_vs_haproxy": {"target": 0.5, "reached": user_rate_ratio,
                                                "met": user_rate_ratio >= 0.5},
        "endpoint_change_applied_p99_ms_every_node": {"target": 100, "reached": worst, "met": worst <= 100},
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
