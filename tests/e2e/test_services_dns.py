"""Stories S1.2 and S3.4-S3.6 on the lab, with real pods: endpoints follow readiness, service
variables inside a pod, and cluster DNS asked with nslookup from inside pods, through the cluster
DNS address 10.96.0.10 (a Service the proxies send to the nodes' `kubelab dns`).

As in Kubernetes' DNS pages, the name forms are looked up with `busybox:1.28`, whose nslookup goes
through the pod's search path; later busybox releases skip it for names with a dot (`web.default`
fails there, in Kubernetes too). Record types and error answers are asked with the current busybox,
whose nslookup takes `-type=`. Pods are bound with `nodeName`, so the story does not depend on where
the scheduler puts them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

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


def busybox(name: str, node: str, image: str = "busybox") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeName: {node}
  containers:
  - name: box
    image: {image}
    command: [sleep, "3600"]
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
    apply(lab, "client128", busybox("client128", "worker1", image="busybox:1.28"))
    for name in ("web-1", "web-2", "nginx-0", "nginx-1", "client", "client128"):
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


def test_publish_not_ready_addresses_keeps_an_unready_pod_in_the_endpoints_and_the_dns(cluster: Lab) -> None:
    apply(cluster, "web-all", """\
apiVersion: v1
kind: Service
metadata: {name: web-all}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
""")
    ips = {name: pod_ip(wait_pod(cluster, name, lambda p: bool(pod_ip(p)), timeout=30, what="given an address"))
           for name in ("web-1", "web-2", "web-flaky")}

    def flaky_unready_for_web() -> bool | tuple[set[str], set[str]]:
        ready, not_ready = endpoints(cluster, "web")
        return ips["web-flaky"] in not_ready or (ready, not_ready)

    def all_published() -> bool | tuple[set[str], set[str]]:
        found = endpoints(cluster, "web-all")
        return found == (set(ips.values()), set()) or found

    def all_answered() -> bool | str:
        answer = nslookup(cluster, "client128", "web-all")
        return sorted(addresses(answer)) == sorted(ips.values()) or answer

    wait_until(lambda: bool(cluster.klctl("get", "endpoints", "web-all").returncode == 0) or "none yet",
               timeout=30, what="the Endpoints of web-all")
    wait_until(flaky_unready_for_web, timeout=40, what="the flaky pod to be unready")
    # Read while it is unready (8 s of every 16): every pod is there, the unready one as ready.
    assert all_published() is True, endpoints(cluster, "web-all")
    wait_until(all_answered, timeout=10, what="a headless answer with every pod")


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


def nslookup(lab: Lab, pod: str, *args: str) -> str:
    result = lab.klctl("exec", pod, "--", "nslookup", *args)
    return result.stdout + result.stderr


def addresses(answer: str) -> list[str]:
    """The addresses of the looked-up name in busybox 1.28's answer (after its `Name:` line)."""
    _, _, named = answer.partition("\nName:")
    return re.findall(r"^Address \d+: (\S+)", named, re.MULTILINE)


def test_the_pods_resolver_file_names_the_cluster_dns_and_the_search_path(cluster: Lab) -> None:
    conf = cluster.klctl_ok("exec", "client", "--", "cat", "/etc/resolv.conf")
    assert conf == ("search default.svc.cluster.local svc.cluster.local cluster.local\n"
                    "nameserver 10.96.0.10\noptions ndots:5\n")


@pytest.mark.parametrize("name", ["web", "web.default", "web.default.svc", "web.default.svc.cluster.local"])
def test_nslookup_of_every_form_of_a_service_name_answers_its_cluster_ip(cluster: Lab, name: str) -> None:
    web = json.loads(cluster.klctl_ok("get", "svc", "web", "-o", "json"))["spec"]["clusterIP"]
    answer = nslookup(cluster, "client128", name)
    assert answer.startswith("Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n"), \
        answer
    assert f"\nName:      {name}\nAddress 1: {web} web.default.svc.cluster.local\n" in answer, answer


def test_nslookup_of_a_headless_service_and_its_statefulset_pods(cluster: Lab) -> None:
    ips = [pod_ip(wait_pod(cluster, f"nginx-{n}", is_ready, timeout=30, what="Ready")) for n in range(2)]
    answer = nslookup(cluster, "client128", "nginx")
    assert sorted(addresses(answer)) == sorted(ips), answer
    for n in range(2):
        for name in (f"nginx-{n}.nginx", f"nginx-{n}.nginx.default.svc.cluster.local"):
            answer = nslookup(cluster, "client128", name)
            assert addresses(answer) == [ips[n]], f"{name}: {answer}"


def test_an_unknown_name_cannot_be_resolved(cluster: Lab) -> None:
    result = cluster.klctl("exec", "client128", "--", "nslookup", "nosuch")
    assert result.returncode == 1 and "nslookup: can't resolve 'nosuch'" in result.stderr, result


def test_nslookup_of_an_external_name_srv_records_and_pod_names(cluster: Lab) -> None:
    client_ip = pod_ip(wait_pod(cluster, "client", is_ready, timeout=30, what="Ready"))
    dashed = client_ip.replace(".", "-")
    cname = nslookup(cluster, "client", "-type=CNAME", "search.default.svc.cluster.local")
    assert re.search(r"search\.default\.svc\.cluster\.local\s+canonical name = www\.example\.org", cname), cname
    srv = nslookup(cluster, "client", "-type=SRV", "_http._tcp.web.default.svc.cluster.local")
    assert re.search(r"_http\._tcp\.web\.default\.svc\.cluster\.local\s+service = 0 100 80 "
                     r"web\.default\.svc\.cluster\.local", srv), srv
    answer = nslookup(cluster, "client", f"{dashed}.default.pod.cluster.local")
    assert re.search(rf"Address:\s+{re.escape(client_ip)}\b", answer), answer
    missing = nslookup(cluster, "client", "nosuch.default.svc.cluster.local")
    assert "NXDOMAIN" in missing, missing


def test_names_outside_the_cluster_fail_at_once_in_the_lab(cluster: Lab) -> None:
    """The lab has no upstream resolver (its nodes reach nothing outside the machine): SERVFAIL, not a
    wait for an upstream's timeout."""
    started = time.monotonic()
    answer = nslookup(cluster, "client", "example.com")
    took = time.monotonic() - started
    assert "SERVFAIL" in answer, answer
    assert took < 5, f"took {took:.1f}s"
