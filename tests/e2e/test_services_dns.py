"""Stories S1.2 and S3.4-S3.6 on the lab, with real pods: endpoints follow readiness, service
variables inside a pod, and cluster DNS asked with busybox's nslookup from inside a pod.

The service proxy that answers the cluster DNS address 10.96.0.10 is not part of this branch, so
the lookups go from a pod whose resolv.conf names its node's own DNS (the `kubelab dns` of that
node, registered as an endpoint of kube-dns) with the search path and ndots that ClusterFirst
writes (dnsPolicy None and a dnsConfig saying so): the short forms are expanded by the pod's own
resolver, as they would be. busybox's nslookup applies the search list to dotless names only (its
own resolver ignores ndots, in Kubernetes too), so `svc.ns` and `pod.svc` are looked up as an application does,
through the C library's resolver (busybox's ping prints the address it resolved). Once a `proxy`
daemon is in the lab's table, every lookup is also made from a ClusterFirst pod, through 10.96.0.10.
Pods are bound with `nodeName` (the scheduler is not part of this story either).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from controlplane.lab.daemons import DAEMON_NAMES
from tests.support.lab import Lab, LabFactory
from tests.support.pods import demo_pod, is_ready, pod_ip, restarts, wait_pod
from tests.support.wait import WaitTimeout

pytestmark = [pytest.mark.root, pytest.mark.slow]

TIMINGS = {"KUBELAB_AGENT_HEARTBEAT_INTERVAL": "2"}

APP = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector: {app: nginx}
  ports:
  - {name: web, port: 80}
---
apiVersion: v1
kind: Service
metadata:
  name: search
spec:
  type: ExternalName
  externalName: www.example.org
"""


def web_pod(name: str, node: str, readyz: str = "always") -> str:
    env = f'{{name: READYZ, value: {readyz}}}, {{name: FLAKY_PERIOD, value: "16"}}, {{name: FLAKY_DOWN, value: "8"}}'
    probes = "    readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 1, failureThreshold: 1}\n"
    return demo_pod(name, node, app="web", env=env, probes=probes)


def stateful_pod(name: str, node: str) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: nginx}}
spec:
  nodeName: {node}
  hostname: {name}
  subdomain: nginx
  containers:
  - name: nginx
    image: nginx
    ports: [{{containerPort: 80}}]
"""


def busybox(name: str, node: str) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeName: {node}
  containers:
  - name: box
    image: busybox
    command: [sleep, "3600"]
"""


def node_dns_client(name: str, node: str, nameserver: str) -> str:
    """A busybox pod resolving as ClusterFirst would, but with its node's DNS as the nameserver."""
    return busybox(name, node) + f"""\
  dnsPolicy: "None"
  dnsConfig:
    nameservers: [{nameserver}]
    searches: [default.svc.cluster.local, svc.cluster.local, cluster.local]
    options: [{{name: ndots, value: "5"}}]
"""


def apply(lab: Lab, name: str, manifest: str) -> None:
    lab.klctl_ok("apply", "-f", lab.write(f"{name}.yaml", manifest))


@pytest.fixture(scope="module")
def cluster(module_labs: LabFactory) -> Iterator[Lab]:
    lab = module_labs(workers=2, env=TIMINGS)
    apply(lab, "app", APP)
    for name, node in (("web-1", "worker1"), ("web-2", "worker2")):
        apply(lab, name, web_pod(name, node))
    apply(lab, "web-flaky", web_pod("web-flaky", "worker1", readyz="flaky"))
    for index, node in enumerate(("worker1", "worker2")):
        apply(lab, f"nginx-{index}", stateful_pod(f"nginx-{index}", node))
    apply(lab, "client", busybox("client", "worker2"))
    apply(lab, "dnsclient", node_dns_client("dnsclient", "worker2", lab.node_ips["worker2"]))
    for name in ("web-1", "web-2", "nginx-0", "nginx-1", "client", "dnsclient"):
        wait_pod(lab, name, is_ready, timeout=60, what="Ready")
    yield lab


def endpoints(lab: Lab, name: str) -> tuple[set[str], set[str]]:
    found = json.loads(lab.klctl_ok("get", "endpoints", name, "-o", "json"))
    subsets = found.get("subsets", [])
    return ({a["ip"] for s in subsets for a in s.get("addresses", [])},
            {a["ip"] for s in subsets for a in s.get("notReadyAddresses", [])})


def endpoints_line(lab: Lab, service: str) -> str:
    lines = [line for line in lab.klctl_ok("describe", "svc", service).splitlines() if line.startswith("Endpoints:")]
    return lines[0] if lines else ""


def wait_until(check: object, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()  # type: ignore[operator]
        if last is True:
            return
        time.sleep(0.25)
    raise WaitTimeout(f"timed out after {timeout}s waiting for {what}; last saw {last!r}")


def test_only_ready_pods_are_endpoints_and_an_unready_one_leaves_without_restart_and_returns(cluster: Lab) -> None:
    pods = {name: wait_pod(cluster, name, lambda p: bool(pod_ip(p)), timeout=30, what="given an address")
            for name in ("web-1", "web-2", "web-flaky")}
    ips = {name: pod_ip(pod) for name, pod in pods.items()}
    steady = {ips["web-1"], ips["web-2"]}

    def flaky_out() -> bool | tuple[set[str], set[str]]:
        ready, not_ready = endpoints(cluster, "web")
        return (ready == steady and ips["web-flaky"] in not_ready) or (ready, not_ready)

    def flaky_in() -> bool | tuple[set[str], set[str]]:
        ready, not_ready = endpoints(cluster, "web")
        return (ready == steady | {ips["web-flaky"]} and not not_ready) or (ready, not_ready)

    wait_until(flaky_out, timeout=40, what="the flaky pod to leave the endpoints")
    line = endpoints_line(cluster, "web")
    assert ips["web-flaky"] not in line and all(f"{ip}:3000" in line for ip in steady), line
    wait_until(flaky_in, timeout=40, what="the flaky pod to return")
    assert f"{ips['web-flaky']}:3000" in endpoints_line(cluster, "web")
    wait_until(flaky_out, timeout=40, what="the flaky pod to leave again")
    assert restarts(wait_pod(cluster, "web-flaky", lambda p: True, timeout=5, what="read")) == 0, \
        "readiness failures must not restart the container"
    slices = json.loads(cluster.klctl_ok("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o",
                                         "json"))["items"]
    conditions = {e["addresses"][0]: e["conditions"]["ready"] for s in slices for e in s.get("endpoints", [])}
    assert conditions == {ips["web-1"]: True, ips["web-2"]: True, ips["web-flaky"]: False}


def test_a_pod_gets_variables_for_the_services_that_existed_before_it(cluster: Lab) -> None:
    web = json.loads(cluster.klctl_ok("get", "svc", "web", "-o", "json"))["spec"]["clusterIP"]
    cluster.klctl_ok("create", "service", "clusterip", "late", "--tcp=80")  # after the pod started
    env = dict(line.split("=", 1) for line in cluster.klctl_ok("exec", "client", "--", "env").splitlines()
               if "=" in line)
    assert env["WEB_SERVICE_HOST"] == web and env["WEB_SERVICE_PORT"] == "80"
    assert env["WEB_SERVICE_PORT_HTTP"] == "80" and env["WEB_PORT"] == f"tcp://{web}:80"
    assert env["WEB_PORT_80_TCP_PROTO"] == "tcp" and env["WEB_PORT_80_TCP_ADDR"] == web
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert not any(name.startswith(("NGINX_", "SEARCH_")) for name in env), "headless and ExternalName have none"
    assert not any(name.startswith("LATE_") for name in env), "a service made after the container started"


def test_every_node_runs_a_dns_registered_behind_kube_dns(cluster: Lab) -> None:
    service = json.loads(cluster.klctl_ok("-n", "kube-system", "get", "svc", "kube-dns", "-o", "json"))
    assert service["spec"]["clusterIP"] == "10.96.0.10"

    def all_registered() -> bool | str:
        line = endpoints_line_in(cluster, "kube-system", "kube-dns")
        return all(f"{ip}:53" in line for ip in cluster.node_ips.values()) or line

    wait_until(all_registered, timeout=30, what="the three DNS instances behind kube-dns")


def endpoints_line_in(lab: Lab, namespace: str, service: str) -> str:
    text = lab.klctl_ok("-n", namespace, "describe", "svc", service)
    return next((line for line in text.splitlines() if line.startswith("Endpoints:")), "")


def dns_clients() -> list[str]:
    """Pods to ask from: the one whose nameserver is its node's DNS, and, once a service proxy is
    part of the lab, a ClusterFirst one asking 10.96.0.10."""
    return ["dnsclient", "client"] if "proxy" in DAEMON_NAMES else ["dnsclient"]


def nslookup(lab: Lab, pod: str, *args: str) -> str:
    result = lab.klctl("exec", pod, "--", "nslookup", *args)
    return result.stdout + result.stderr


def test_the_pods_resolver_files(cluster: Lab) -> None:
    conf = cluster.klctl_ok("exec", "client", "--", "cat", "/etc/resolv.conf")
    assert conf == ("search default.svc.cluster.local svc.cluster.local cluster.local\n"
                    "nameserver 10.96.0.10\noptions ndots:5\n")
    conf = cluster.klctl_ok("exec", "dnsclient", "--", "cat", "/etc/resolv.conf")
    assert f"nameserver {cluster.node_ips['worker2']}\n" in conf and "search default.svc.cluster.local " in conf


@pytest.mark.parametrize("name", ["web", "web.default.svc.cluster.local"])
def test_nslookup_of_a_service_name_answers_its_cluster_ip(cluster: Lab, name: str) -> None:
    web = json.loads(cluster.klctl_ok("get", "svc", "web", "-o", "json"))["spec"]["clusterIP"]
    for pod in dns_clients():
        answer = nslookup(cluster, pod, name)
        assert re.search(rf"Name:\s+web\.default\.svc\.cluster\.local\s+Address:\s+{re.escape(web)}\b", answer), \
            f"{name} from {pod}: {answer}"


def test_svc_dot_namespace_resolves_through_the_pods_search_path(cluster: Lab) -> None:
    web = json.loads(cluster.klctl_ok("get", "svc", "web", "-o", "json"))["spec"]["clusterIP"]
    for pod in dns_clients():
        result = cluster.klctl("exec", pod, "--", "ping", "-c", "1", "-W", "1", "web.default")
        assert f"PING web.default ({web})" in result.stdout, f"from {pod}: {result.stdout}{result.stderr}"


def test_nslookup_of_a_headless_service_and_its_statefulset_pods(cluster: Lab) -> None:
    ips = [pod_ip(wait_pod(cluster, f"nginx-{n}", is_ready, timeout=30, what="Ready")) for n in range(2)]
    for pod in dns_clients():
        answer = nslookup(cluster, pod, "nginx")
        found = re.findall(r"Address:\s+(10\.244\.\d+\.\d+)", answer)
        assert sorted(found) == sorted(ips), f"from {pod}: {answer}"
        for n in range(2):
            answer = nslookup(cluster, pod, f"nginx-{n}.nginx.default.svc.cluster.local")
            assert re.search(rf"Name:\s+nginx-{n}\.nginx\.default\.svc\.cluster\.local\s+Address:\s+"
                             rf"{re.escape(ips[n])}\b", answer), f"from {pod}: {answer}"
            # The short form, through the C library's resolver and the search path (see the module's doc).
            pinged = cluster.klctl("exec", pod, "--", "ping", "-c", "1", "-W", "1", f"nginx-{n}.nginx")
            assert f"PING nginx-{n}.nginx ({ips[n]})" in pinged.stdout, f"from {pod}: {pinged.stdout}"


def test_nslookup_of_an_external_name_srv_records_and_pod_names(cluster: Lab) -> None:
    client_ip = pod_ip(wait_pod(cluster, "client", is_ready, timeout=30, what="Ready"))
    dashed = client_ip.replace(".", "-")
    for pod in dns_clients():
        cname = nslookup(cluster, pod, "-type=CNAME", "search.default.svc.cluster.local")
        assert re.search(r"search\.default\.svc\.cluster\.local\s+canonical name = www\.example\.org", cname), cname
        srv = nslookup(cluster, pod, "-type=SRV", "_http._tcp.web.default.svc.cluster.local")
        assert re.search(r"_http\._tcp\.web\.default\.svc\.cluster\.local\s+service = 0 100 80 "
                         r"web\.default\.svc\.cluster\.local", srv), srv
        answer = nslookup(cluster, pod, f"{dashed}.default.pod.cluster.local")
        assert re.search(rf"Address:\s+{re.escape(client_ip)}\b", answer), answer
        missing = nslookup(cluster, pod, "nosuch.default.svc.cluster.local")
        assert "NXDOMAIN" in missing, missing


def test_names_outside_the_cluster_fail_at_once_in_the_lab(cluster: Lab) -> None:
    """The lab has no upstream resolver (its nodes reach nothing outside the machine): SERVFAIL, quickly."""
    started = time.monotonic()
    answer = nslookup(cluster, "dnsclient", "example.com")
    took = time.monotonic() - started
    assert "SERVFAIL" in answer, answer
    assert took < 5, f"took {took:.1f}s"
