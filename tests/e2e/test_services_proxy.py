"""Story S3 through the proxy, on a lab per proxy mode (userspace, nftables): ClusterIP balancing,
NodePort on every node, external IPs, ClientIP affinity, several and named ports, UDP, endpoints
leaving. Requests come from the host, from the nodes and from inside pods (`klctl exec`).

Most services here have no selector and the test writes their EndpointSlices, pointing at pods
bound with `nodeName` (a real scenario: S3.5; one writes an Endpoints object instead, which the
mirroring controller turns into slices); `flip` has a selector, so there the endpoints controllers
feed the proxy as a pod turns unready and back.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.support.lab import Lab, LabFactory
from tests.support.pods import READY_ON_READYZ, demo_pod, get_pod, is_ready, is_running, restarts, wait_pods
from tests.support.servicelab import (
    Hammer,
    answers_from_node,
    answers_from_pod,
    busybox_pod,
    cluster_ip,
    endpoint,
    endpoint_slice,
    hostname_of,
    node_port,
    try_get,
    udp_echo_pod,
)
from tests.support.wait import eventually_sync

pytestmark = [pytest.mark.root, pytest.mark.slow]

PODS = {"web-a": "worker1", "web-b": "worker2", "web-c": "worker2"}
HTTP = [{"name": "http", "port": 3000, "protocol": "TCP"}]


@pytest.fixture(scope="module", params=["userspace", "nftables"])
def cluster(request: pytest.FixtureRequest, module_labs: LabFactory) -> Iterator[Lab]:
    lab = module_labs(workers=2, env={"KUBELAB_LAB_PROXY_MODE": request.param})
    manifests = [demo_pod(name, node, probes=READY_ON_READYZ) for name, node in PODS.items()]
    manifests += [busybox_pod("client", "worker1"), udp_echo_pod("echo", "worker2", 5353),
                  udp_echo_pod("echo2", "worker1", 5353), flip_pod("flip-1", "worker1"), flip_pod("flip-2", "worker2")]
    lab.klctl_ok("apply", "-f", lab.write("pods.yaml", "---\n".join(manifests)))
    wait_pods(lab, PODS, is_ready, what="Ready")
    wait_pods(lab, ["client", "echo", "echo2", "flip-1", "flip-2"], is_running, what="Running")
    yield lab


def flip_pod(name: str, node: str) -> str:
    """A demo pod labelled app=flip that is Ready while /tmp/ready exists (an exec probe, S1.5)."""
    return demo_pod(name, node, app="flip", probes="    readinessProbe: {exec: {command: [cat, /tmp/ready]}, "
                                                    "periodSeconds: 1, failureThreshold: 1}\n")


def apply(lab: Lab, name: str, *documents: str) -> None:
    lab.klctl_ok("apply", "-f", lab.write(f"{name}.yaml", "\n---\n".join(documents)))


def service(name: str, ports: str = "[{name: http, port: 80, targetPort: 3000}]", extra: str = "") -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  ports: {ports}
{extra}"""


def expose(lab: Lab, name: str, pods: list[str], *, ports: str = "[{name: http, port: 80, targetPort: 3000}]",
           extra: str = "") -> None:
    apply(lab, name, service(name, ports, extra),
          endpoint_slice(f"{name}-1", name, [endpoint(lab, pod) for pod in pods], HTTP))


def test_a_cluster_ip_balances_over_every_endpoint_from_a_pod_and_from_a_node(cluster: Lab) -> None:
    expose(cluster, "web", list(PODS))
    address = cluster_ip(cluster, "web")

    def every_pod_answers_the_pod() -> Counter[str]:
        seen = answers_from_pod(cluster, "client", f"http://{address}/", 30)
        return seen if set(seen) == set(PODS) else Counter()

    eventually_sync(every_pod_answers_the_pod, timeout=30, what="every endpoint to answer a pod", interval=0.5)

    def every_pod_answers_the_node() -> bool:
        return set(answers_from_node(cluster, "master", f"http://{address}/", 30)) == set(PODS)

    eventually_sync(every_pod_answers_the_node, timeout=30, what="every endpoint to answer the master", interval=0.5)


def test_a_service_without_a_selector_forwards_to_a_hand_written_endpoints_object(cluster: Lab) -> None:
    """S3.5 with the older object: the user writes Endpoints (no EndpointSlice); the mirroring
    controller turns it into slices, which the proxy follows."""
    ips = {pod: endpoint(cluster, pod)["addresses"][0] for pod in ("web-a", "web-b")}
    addresses = ", ".join(f"{{ip: {ip}}}" for ip in ips.values())
    apply(cluster, "manual", service("manual"), f"""\
apiVersion: v1
kind: Endpoints
metadata: {{name: manual}}
subsets:
- addresses: [{addresses}]
  ports: [{{name: http, port: 3000}}]
""")
    address = cluster_ip(cluster, "manual")

    def both_answer() -> Counter[str]:
        seen = answers_from_pod(cluster, "client", f"http://{address}/", 20)
        return seen if set(seen) == set(ips) else Counter()

    eventually_sync(both_answer, timeout=30, what="both hand-listed pods to answer through the service", interval=0.5)
    assert set(answers_from_node(cluster, "worker2", f"http://{address}/", 20)) <= set(ips)


def test_a_pod_reaches_itself_through_its_own_service(cluster: Lab) -> None:
    """Hairpin: the connection is DNATed back to the pod it came from (and masqueraded, so the reply
    returns through the node)."""
    expose(cluster, "self", ["web-a"])
    address = cluster_ip(cluster, "self")

    def answered() -> str:
        result = cluster.klctl("exec", "web-a", "--", "busybox", "timeout", "5", "busybox", "wget", "-qO-",
                               f"http://{address}/")
        return hostname_of(result.stdout) if result.returncode == 0 else ""

    assert eventually_sync(answered, timeout=30, what="web-a to reach itself through its service",
                           interval=0.5) == "web-a"


def test_a_node_port_answers_on_every_nodes_ip_from_the_host(cluster: Lab) -> None:
    expose(cluster, "web-np", ["web-a", "web-b"], extra="  type: NodePort\n")
    port = node_port(cluster, "web-np")
    assert 30000 <= port <= 32767
    for node, ip in cluster.node_ips.items():
        body = eventually_sync(lambda ip=ip: try_get(f"http://{ip}:{port}/"), timeout=30,
                               what=f"node port {port} on {node}")
        assert hostname_of(body) in ("web-a", "web-b")


def test_external_ips_are_served_on_a_nodes_address_and_on_a_routed_address(cluster: Lab) -> None:
    worker1 = cluster.node_ips["worker1"]
    expose(cluster, "web-ext", ["web-b"], ports="[{name: http, port: 8081, targetPort: 3000}]",
           extra=f"  externalIPs: [{worker1}, 192.0.2.10]\n")
    body = eventually_sync(lambda: try_get(f"http://{worker1}:8081/"), timeout=30, what="the external IP from the host")
    assert hostname_of(body) == "web-b"
    seen = eventually_sync(lambda: answers_from_pod(cluster, "client", "http://192.0.2.10:8081/", 3).get("web-b"),
                           timeout=30, what="an external IP from a pod", interval=0.5)
    assert seen == 3


def test_client_ip_affinity_sends_one_client_to_one_pod(cluster: Lab) -> None:
    expose(cluster, "sticky", list(PODS), extra="  sessionAffinity: ClientIP\n"
           "  sessionAffinityConfig: {clientIP: {timeoutSeconds: 600}}\n")
    address = cluster_ip(cluster, "sticky")
    eventually_sync(lambda: try_in_pod(cluster, address), timeout=30, what="the sticky service", interval=0.5)
    seen = answers_from_pod(cluster, "client", f"http://{address}/", 20)
    assert len(seen) == 1 and "FAILED" not in seen, seen
    assert len(answers_from_node(cluster, "worker2", f"http://{address}/", 10)) == 1


def try_in_pod(lab: Lab, address: str) -> bool:
    return "FAILED" not in answers_from_pod(lab, "client", f"http://{address}/", 1)


def test_several_ports_reach_their_endpoints_by_port_name(cluster: Lab) -> None:
    apply(cluster, "multi", service("multi", "[{name: http, port: 80, targetPort: 3000}, "
                                              "{name: admin, port: 8080, targetPort: admin}, "
                                              "{name: missing, port: 9090, targetPort: 9999}]"),
          endpoint_slice("multi-1", "multi", [endpoint(cluster, "web-a")],
                         [{"name": "http", "port": 3000, "protocol": "TCP"},
                          {"name": "admin", "port": 3000, "protocol": "TCP"}]))
    address = cluster_ip(cluster, "multi")
    for port in (80, 8080):
        seen = eventually_sync(lambda port=port: answers_from_pod(cluster, "client", f"http://{address}:{port}/",
                                                                  2).get("web-a"),
                               timeout=30, what=f"port {port} of multi", interval=0.5)
        assert seen == 2
    # A port whose name no slice port carries has no endpoints: refused at once.
    refused = cluster.klctl("exec", "client", "--", "timeout", "5", "wget", "-qO-", f"http://{address}:9090/")
    assert refused.returncode != 0 and "refused" in refused.stderr + refused.stdout


def test_udp_reaches_its_endpoint_through_a_cluster_ip_and_a_node_port(cluster: Lab) -> None:
    apply(cluster, "echo", service("echo", "[{name: dns, port: 53, targetPort: 5353, protocol: UDP}]",
                                   "  type: NodePort\n"),
          endpoint_slice("echo-1", "echo", [endpoint(cluster, "echo")],
                         [{"name": "dns", "port": 5353, "protocol": "UDP"}]))
    address = cluster_ip(cluster, "echo")
    probe = ("import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(2); "
             "s.sendto(b'ping',(sys.argv[1],53)); print(s.recv(100).decode())")

    def from_pod() -> str | None:
        result = cluster.klctl("exec", "client", "--", "python3", "-c", probe, address)
        return result.stdout.strip() if result.returncode == 0 else None

    answer = eventually_sync(from_pod, timeout=30, what="a UDP answer through the cluster IP", interval=0.5)
    assert answer.startswith("echo ") and answer.endswith(" ping")
    port = node_port(cluster, "echo")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flow:  # one client address: one flow
        flow.settimeout(0.5)
        target = (cluster.node_ips["worker1"], port)

        def answer(payload: bytes) -> bytes | None:
            flow.sendto(payload, target)
            try:
                return flow.recv(1000)
            except TimeoutError:
                return None

        reply = eventually_sync(lambda: answer(b"hello"), timeout=30, what="a UDP answer through the node port")
        assert reply.startswith(b"echo ") and reply.endswith(b" hello")
        # The endpoint goes; the same client's next datagrams must reach the new one (conntrack
        # entries of the old endpoint are cleared in nftables mode, the flow ended in userspace).
        apply(cluster, "echo-slice", endpoint_slice("echo-1", "echo", [endpoint(cluster, "echo2")],
                                                    [{"name": "dns", "port": 5353, "protocol": "UDP"}]))
        moved = eventually_sync(lambda: (r := answer(b"again")) is not None and r.startswith(b"echo2 ") and r,
                                timeout=15, what="the flow to reach the new endpoint", interval=0.2)
        assert moved.endswith(b" again")


def test_an_endpoint_that_leaves_gets_no_more_traffic_and_no_request_fails(cluster: Lab) -> None:
    expose(cluster, "shrink", ["web-a", "web-b"], extra="  type: NodePort\n")
    url = f"http://{cluster.node_ips['master']}:{node_port(cluster, 'shrink')}/"
    eventually_sync(lambda: try_get(url), timeout=30, what="the shrink service")
    with Hammer(url) as hammer:
        time.sleep(1)
        apply(cluster, "shrink-slice", endpoint_slice("shrink-1", "shrink",
                                                      [endpoint(cluster, "web-a"),
                                                       endpoint(cluster, "web-b", ready=False)], HTTP))
        stored = time.monotonic()  # klctl has returned: the change is in the API server
        time.sleep(3)
    results = hammer.results
    assert not hammer.failures(), hammer.failures()[:3]
    assert "web-b" in {answer for at, answer in results if at < stored - 0.5}
    # The proxies apply a change within milliseconds of hearing of it; a second is generous.
    late = Counter(answer for at, answer in results if at > stored + 1)
    assert late and "web-b" not in late, late


def test_a_pod_that_turns_unready_gets_no_more_traffic_and_no_request_fails(cluster: Lab) -> None:
    """S1.2 through the whole chain: probe -> pod status -> endpoints controller -> proxies."""
    for pod in ("flip-1", "flip-2"):
        cluster.klctl_ok("exec", pod, "--", "touch", "/tmp/ready")
    wait_pods(cluster, ["flip-1", "flip-2"], is_ready, what="Ready")
    apply(cluster, "flip", service("flip", extra="  type: NodePort\n  selector: {app: flip}\n"))
    url = f"http://{cluster.node_ips['worker2']}:{node_port(cluster, 'flip')}/"
    eventually_sync(lambda: {hostname_of(try_get(url) or "") for _ in range(10)} == {"flip-1", "flip-2"},
                    timeout=30, what="both pods to answer through the service")
    with Hammer(url) as hammer:
        results = hammer.results
        time.sleep(1)
        cluster.klctl_ok("exec", "flip-2", "--", "rm", "/tmp/ready")
        unready = time.monotonic()

        def flip_2_gone() -> bool:
            return bool(results) and results[-1][0] > unready and not any(
                answer == "flip-2" for at, answer in results if at > time.monotonic() - 1)

        eventually_sync(flip_2_gone, timeout=30, what="flip-2 to get no more requests", interval=0.2)
        time.sleep(1)
    assert not hammer.failures(), hammer.failures()[:3]
    last_flip_2 = max(at for at, answer in results if answer == "flip-2")
    assert all(answer == "flip-1" for at, answer in results if at > last_flip_2)
    pod = get_pod(cluster, "flip-2")
    assert pod is not None and not is_ready(pod) and restarts(pod) == 0, "unready, not restarted"


def test_a_proxy_replaces_what_a_killed_one_left_and_removes_everything_when_stopped(cluster: Lab) -> None:
    """Last of the module: worker2 is left without a proxy."""
    mode = cluster.env["KUBELAB_LAB_PROXY_MODE"]
    expose(cluster, "again", ["web-a", "web-c"])
    address = cluster_ip(cluster, "again")
    eventually_sync(lambda: set(answers_from_node(cluster, "worker2", f"http://{address}/", 6)) == {"web-a", "web-c"},
                    timeout=30, what="worker2 to serve the service", interval=0.5)
    record = cluster.daemon("worker2", "proxy")
    os.kill(record["pid"], signal.SIGKILL)
    assert "table ip kubelab" in tables(cluster, "worker2"), "a killed proxy leaves its table behind"
    # The service changes while worker2 has no proxy; the next one must follow from the stale state.
    apply(cluster, "again-slice", endpoint_slice("again-1", "again", [endpoint(cluster, "web-b")], HTTP))
    replacement = cluster.restart(record, log=cluster.workdir / "replacement-proxy.log",
                                  env={"KUBELAB_PROXY_MODE": mode})
    try:
        eventually_sync(lambda: set(answers_from_node(cluster, "worker2", f"http://{address}/", 6)) == {"web-b"},
                        timeout=30, what="the new proxy to apply the change", interval=0.5)
        assert tables(cluster, "worker2").count("table ip kubelab") == 1
    finally:
        replacement.send_signal(signal.SIGTERM)
        code = replacement.wait(timeout=30)
    assert code == 0
    assert "kubelab" not in tables(cluster, "worker2")
    interfaces = cluster.exec_in("worker2", "ip", "-br", "link").stdout
    assert f"{cluster.prefix}-svc0" not in interfaces
    assert "10700:" not in cluster.exec_in("worker2", "ip", "rule").stdout
    assert "klb" not in cluster.exec_in("worker2", "ip", "-4", "addr", "show", "dev", "eth0").stdout


def tables(lab: Lab, node: str) -> str:
    result = lab.exec_in(node, "nft", "list", "tables")
    assert result.returncode == 0, result.stderr
    return result.stdout
