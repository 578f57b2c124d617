"""Story S3.2's LoadBalancer and `externalTrafficPolicy: Local`, on a lab per proxy mode: an address
from the lab's pool in `klctl get svc`, reachable from the host, answered by one node at a time that
moves when that node stops; the client address kept under the Local policy, and the health check
node port telling which nodes have endpoints.

Proxy leases last 3 s here (KUBELAB_PROXY_LEASE_DURATION) instead of 15 s, so a dead node's
addresses move within seconds.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from controlplane.lab.daemons import lb_pool
from controlplane.lbpool import parse_pool
from proxy.announce import owner
from tests.support.lab import Lab, LabFactory
from tests.support.pods import READY_ON_READYZ, demo_pod, is_ready, wait_pods
from tests.support.servicelab import endpoint, endpoint_slice, hostname_of, service_json, try_get
from tests.support.wait import eventually_sync

pytestmark = [pytest.mark.root, pytest.mark.slow]

HTTP = [{"name": "http", "port": 3000, "protocol": "TCP"}]


@pytest.fixture(scope="module", params=["userspace", "nftables"])
def cluster(request: pytest.FixtureRequest, module_labs: LabFactory) -> Iterator[Lab]:
    lab = module_labs(workers=2, env={"KUBELAB_LAB_PROXY_MODE": request.param, "KUBELAB_PROXY_LEASE_DURATION": "3"})
    lab.klctl_ok("apply", "-f", lab.write("pods.yaml", demo_pod("web-a", "worker1", probes=READY_ON_READYZ) + "---\n" +
                                          demo_pod("web-b", "worker2", probes=READY_ON_READYZ)))
    wait_pods(lab, ["web-a", "web-b"], is_ready, what="Ready")
    yield lab


def load_balancer(lab: Lab, name: str, pods: list[str], extra: str = "") -> None:
    manifest = f"""\
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  type: LoadBalancer
  ports: [{{name: http, port: 80, targetPort: 3000}}]
{extra}---
{endpoint_slice(f"{name}-1", name, [endpoint(lab, pod) for pod in pods], HTTP)}
"""
    lab.klctl_ok("apply", "-f", lab.write(f"{name}.yaml", manifest))


def external_ip(lab: Lab, name: str) -> str:
    """The EXTERNAL-IP column of `klctl get svc NAME`, once it is no longer <pending>."""
    def shown() -> str | None:
        row = lab.klctl_ok("get", "svc", name).splitlines()[1].split()
        return row[3] if row[3] != "<pending>" else None

    return eventually_sync(shown, timeout=30, what=f"an external IP for {name}", interval=0.3)


def holders(lab: Lab, address: str) -> list[str]:
    """The nodes with `address` on their lab interface."""
    found = []
    for node in lab.nodes:
        result = lab.exec_in(node, "ip", "-j", "-4", "addr", "show", "dev", "eth0")
        if any(info.get("local") == address for link in json.loads(result.stdout or "[]")
               for info in link.get("addr_info", [])):
            found.append(node)
    return found


def status_and_body(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_load_balancer_gets_a_pool_address_reachable_from_the_host_and_answered_by_one_node(cluster: Lab) -> None:
    load_balancer(cluster, "front", ["web-a", "web-b"])
    address = external_ip(cluster, "front")
    assert address in parse_pool(lb_pool(cluster.plan))
    body = eventually_sync(lambda: try_get(f"http://{address}/"), timeout=30, what="the LB address from the host")
    assert hostname_of(body) in ("web-a", "web-b")
    assert len(holders(cluster, address)) == 1
    described = cluster.klctl_ok("describe", "svc", "front").splitlines()
    assert any(line.startswith("LoadBalancer Ingress:") and line.split()[2:] == [address, "(VIP)"]
               for line in described), described
    # Deleting the service frees the address and its node lets it go.
    cluster.klctl_ok("delete", "svc", "front")
    eventually_sync(lambda: not holders(cluster, address), timeout=30, what=f"{address} to be released")
    load_balancer(cluster, "again", ["web-b"])
    assert external_ip(cluster, "again") == address, "the freed address is the lowest free one again"
    cluster.klctl_ok("apply", "-f", cluster.write("again-clusterip.yaml", """\
apiVersion: v1
kind: Service
metadata: {name: again}
spec:
  type: ClusterIP
  ports: [{name: http, port: 80, targetPort: 3000}]
"""))
    eventually_sync(lambda: not service_json(cluster, "again").get("status", {}).get("loadBalancer"), timeout=30,
                    what="the address to leave the status of a service that is no longer a LoadBalancer")
    eventually_sync(lambda: not holders(cluster, address), timeout=30, what=f"{address} to be released")


def test_the_local_policy_keeps_the_client_address_and_health_checks_show_which_nodes_have_endpoints(
        cluster: Lab) -> None:
    load_balancer(cluster, "local", ["web-a"], "  externalTrafficPolicy: Local\n")
    address = external_ip(cluster, "local")
    eventually_sync(lambda: holders(cluster, address) == ["worker1"], timeout=30,
                    what="the node with the endpoint to answer for the address")
    spec = service_json(cluster, "local")["spec"]
    node_port, health_port = spec["ports"][0]["nodePort"], spec["healthCheckNodePort"]
    worker1, worker2 = cluster.node_ips["worker1"], cluster.node_ips["worker2"]
    for url in (f"http://{address}/", f"http://{worker1}:{node_port}/"):
        probe = secrets.token_hex(4)
        body = eventually_sync(lambda url=url, probe=probe: try_get(f"{url}?probe={probe}"), timeout=30,
                               what=f"{url} from the host")
        assert hostname_of(body) == "web-a"
        logs = eventually_sync(lambda probe=probe: probe in (text := cluster.klctl_ok("logs", "web-a")) and text,
                               timeout=10, what="the request in web-a's log")
        line = next(line for line in logs.splitlines() if probe in line)
        assert line.startswith(f"{cluster.host_ip} "), f"the pod saw {line!r}, not the host {cluster.host_ip}"
    assert try_get(f"http://{worker2}:{node_port}/", timeout=2) is None, "no local endpoint on worker2"
    status, body = eventually_sync(lambda: (r := status_and_body(f"http://{worker1}:{health_port}/"))[0] == 200 and r,
                                   timeout=30, what="the health check on worker1")
    assert json.loads(body)["localEndpoints"] == 1
    status, body = status_and_body(f"http://{worker2}:{health_port}/")
    assert status == 503 and json.loads(body) == {"service": {"namespace": "default", "name": "local"},
                                                  "localEndpoints": 0, "serviceProxyHealthy": True}
    for ip in cluster.node_ips.values():
        assert status_and_body(f"http://{ip}:10256/healthz")[0] == 200


def test_the_load_balancer_address_moves_when_its_node_stops(cluster: Lab) -> None:
    taken = {row.split()[3] for row in cluster.klctl_ok("get", "svc").splitlines()[1:]}
    nodes = sorted(cluster.nodes)
    address = next(a for a in parse_pool(lb_pool(cluster.plan)) if a not in taken and owner(a, nodes) == "worker1")
    load_balancer(cluster, "moving", ["web-b"], f"  loadBalancerIP: {address}\n")
    assert external_ip(cluster, "moving") == address
    eventually_sync(lambda: holders(cluster, address) == ["worker1"], timeout=30, what="worker1 to answer")
    body = eventually_sync(lambda: try_get(f"http://{address}/"), timeout=30, what="the address from the host")
    assert hostname_of(body) == "web-b"

    for daemon in cluster.daemons():  # worker1 dies: its daemons are killed and its cable cut
        if daemon["node"] == "worker1":
            os.kill(daemon["pid"], signal.SIGKILL)
    subprocess.run(["ip", "link", "set", cluster.plan.node("worker1").host_veth, "down"], check=True)

    body = eventually_sync(lambda: try_get(f"http://{address}/", timeout=2), timeout=45,
                           what="the address to answer again from another node")
    assert hostname_of(body) == "web-b"
    assert [node for node in holders(cluster, address) if node != "worker1"]
