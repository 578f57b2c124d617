"""Stories S1.1, S1.6 (a deleted pod) and S2 on the lab, with every daemon real (API server, scheduler,
controller manager, agents): a Deployment's pods spread over both workers with their env from a
ConfigMap and a Secret, and a deleted one replaced; a rolling update of a readiness-probed
Deployment during which a client never sees a failed request, then rollout status, history, undo,
scale, the ReplicaSets' hash names, and Recreate.

Services and the service proxy are built elsewhere: the client here (tests/support/readyclient.py)
plays the service's part as a proxy does, following the ready pods through the API and sending each
request to the next of them. As in production manifests made for zero-downtime rollouts, the pods
have a short preStop sleep, so a pod being removed still answers while its readers drop it.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.lab.daemons import DAEMON_NAMES
from tests.support.lab import Lab, LabFactory
from tests.support.pods import is_ready, pod_ip
from tests.support.servicelab import try_get
from tests.support.wait import eventually_sync

pytestmark = [pytest.mark.root, pytest.mark.slow]

HASH = "[bcdfghjklmnpqrstvwxz2456789]+"
READY_CLIENT = Path(__file__).resolve().parent.parent / "support" / "readyclient.py"


@pytest.fixture(scope="module")
def cluster(module_labs: LabFactory) -> Iterator[Lab]:
    yield module_labs(workers=2)


def apply(lab: Lab, name: str, manifest: str) -> None:
    lab.klctl_ok("apply", "-f", lab.write(f"{name}.yaml", manifest))


def pods(lab: Lab, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(lab.klctl_ok("get", "pods", "-l", selector, "-o", "json"))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def rollout_status(lab: Lab, name: str, timeout: str = "120s") -> str:
    result = lab.klctl("rollout", "status", f"deployment/{name}", "--timeout", timeout, timeout=180)
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{lab.logs()}"
    return result.stdout


S1 = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {GREETING: hello-from-configmap, LOG_LEVEL: debug}
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData: {API_TOKEN: s3cret-token}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: probes}
spec:
  replicas: 6
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 20%, maxSurge: 10%}
  selector: {matchLabels: {app: probes}}
  template:
    metadata: {labels: {app: probes}}
    spec:
      containers:
      - name: app
        image: kubelab/demo:1
        ports: [{containerPort: 3000}]
        resources:
          requests: {cpu: 400m, memory: 64Mi}
          limits: {cpu: 700m, memory: 128Mi}
        envFrom:
        - configMapRef: {name: app-config}
        - secretRef: {name: app-secret}
        startupProbe:
          httpGet: {path: /healthz, port: 3000}
          failureThreshold: 3
          periodSeconds: 10
          timeoutSeconds: 1
"""


def test_s1_1_six_replicas_with_resources_and_env_from_are_ready_on_both_workers(cluster: Lab) -> None:
    apply(cluster, "s1", S1)
    assert rollout_status(cluster, "probes").endswith('deployment "probes" successfully rolled out\n')
    row = cluster.klctl_ok("get", "deployment", "probes").splitlines()[1].split()
    assert row[:4] == ["probes", "6/6", "6", "6"]
    running = pods(cluster, "app=probes")
    assert len(running) == 6 and all(is_ready(p) for p in running)
    nodes = {p["spec"]["nodeName"] for p in running}
    assert nodes == {"worker1", "worker2"}, nodes
    for pod in running:
        assert re.fullmatch(f"probes-{HASH}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", pod["metadata"]["name"])
        assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "400m", "memory": "64Mi"}
    env = cluster.klctl_ok("exec", running[0]["metadata"]["name"], "--", "env")
    assert "GREETING=hello-from-configmap" in env.splitlines()
    assert "LOG_LEVEL=debug" in env.splitlines()
    assert "API_TOKEN=s3cret-token" in env.splitlines()


def test_s1_6_a_deleted_pod_of_a_deployment_is_replaced(cluster: Lab) -> None:
    apply(cluster, "s1", S1)  # unchanged when the S1.1 test already made it
    rollout_status(cluster, "probes")
    before = {p["metadata"]["name"] for p in pods(cluster, "app=probes")}
    victim = sorted(before)[0]
    assert cluster.klctl_ok("delete", "pod", victim) == f'pod "{victim}" deleted\n'

    def replaced() -> set[str] | None:
        now = pods(cluster, "app=probes")
        names = {p["metadata"]["name"] for p in now}
        return names if len(now) == 6 and victim not in names and all(is_ready(p) for p in now) else None

    after = eventually_sync(replaced, timeout=90, what="6 ready pods, the deleted one replaced")
    assert len(after - before) == 1, f"one new pod: {sorted(after - before)}"
    assert before - after == {victim}
    gone = cluster.klctl("get", "pod", victim)
    assert gone.returncode != 0 and f'pods "{victim}" not found' in gone.stderr, gone.stderr


WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 4
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: kubelab/demo:{version}
        ports: [{{containerPort: 3000}}]
        readinessProbe:
          httpGet: {{path: /readyz, port: 3000}}
          periodSeconds: 1
        lifecycle:
          preStop: {{sleep: {{seconds: 2}}}}
"""


class Requests:
    """The ready-pod client running inside the master node, and what it has seen so far."""

    def __init__(self, lab: Lab, selector: str) -> None:
        self.path = lab.workdir / f"requests-{selector.replace('=', '-')}.jsonl"
        self.process = lab.spawn_in("master", sys.executable, str(READY_CLIENT), "--selector", selector,
                                    "--out", str(self.path))

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def banners(self, last: int = 0) -> list[str]:
        return [r.get("body", "") for r in self.records()[-last:] if r.get("ok") and "ip" in r]

    def wait_for(self, banner: str, count: int = 20, timeout: float = 60) -> None:
        """Until the last `count` answers all came from `banner`."""
        eventually_sync(lambda: (b := self.banners(count)) and len(b) == count and set(b) == {banner},
                        timeout=timeout, what=f"{count} answers in a row from {banner!r}")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=20)


def test_s2_a_rolling_update_keeps_answering_and_undo_brings_version_1_back(cluster: Lab) -> None:
    apply(cluster, "web", WEB.format(version=1))
    rollout_status(cluster, "web")
    client = Requests(cluster, "app=web")
    try:
        client.wait_for("kubelab demo v1")
        cluster.klctl_ok("set", "image", "deployment/web", "web=kubelab/demo:2")
        assert rollout_status(cluster, "web").endswith('deployment "web" successfully rolled out\n')
        client.wait_for("kubelab demo v2")
        history = cluster.klctl_ok("rollout", "history", "deployment/web")
        assert history.splitlines()[1:4] == ["REVISION  CHANGE-CAUSE", "1         <none>", "2         <none>"]
        assert cluster.klctl_ok("rollout", "undo", "deployment/web") == "deployment.apps/web rolled back\n"
        rollout_status(cluster, "web")
        client.wait_for("kubelab demo v1")
    finally:
        client.stop()
    records = client.records()
    failures = [r for r in records if not r["ok"]]
    assert not failures, f"{len(failures)} of {len(records)} requests failed, first: {failures[:3]}"
    seen = {r["body"] for r in records if "body" in r}
    assert seen == {"kubelab demo v1", "kubelab demo v2"}
    assert len(records) > 100  # it kept asking the whole time

    sets = cluster.klctl_ok("get", "rs", "-l", "app=web").splitlines()[1:]
    assert len(sets) == 2 and all(re.fullmatch(f"web-{HASH}", line.split()[0]) for line in sets), sets
    current = [line.split() for line in sets if line.split()[1] == "4"]
    assert len(current) == 1 and current[0][2:4] == ["4", "4"]
    revisions = cluster.klctl_ok("rollout", "history", "deployment/web").splitlines()[2:4]
    assert [line.split()[0] for line in revisions] == ["2", "3"]  # revision 1 came back as 3

    assert cluster.klctl_ok("scale", "deployment", "web", "--replicas=6") == "deployment.apps/web scaled\n"
    rollout_status(cluster, "web")
    assert cluster.klctl_ok("get", "deployment", "web").splitlines()[1].split()[1] == "6/6"


def test_s3_6_an_exposed_deployment_has_its_ready_pods_as_endpoints_and_answers_on_a_node_port(cluster: Lab) -> None:
    apply(cluster, "web", WEB.format(version=1))
    rollout_status(cluster, "web")
    exposed = cluster.klctl_ok("expose", "deployment", "web", "--port", "80", "--target-port", "3000",
                               "--type", "NodePort", "--name", "web-np")
    assert exposed == "service/web-np exposed\n"

    def endpoints_of_ready_pods() -> set[str] | None:
        ready = {f"{pod_ip(p)}:3000" for p in pods(cluster, "app=web") if is_ready(p)}
        found = json.loads(cluster.klctl_ok("get", "endpoints", "web-np", "-o", "json")).get("subsets", [])
        listed = {f"{a['ip']}:{port['port']}" for s in found for a in s.get("addresses", []) for port in s["ports"]}
        return listed if listed == ready and ready else None

    listed = eventually_sync(endpoints_of_ready_pods, timeout=30, what="the ready pods as web-np's endpoints")
    slices = cluster.klctl_ok("get", "endpointslices", "-l", "kubernetes.io/service-name=web-np").splitlines()
    assert slices[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], slices
    assert len(slices) == 2 and slices[1].split()[1:3] == ["IPv4", "3000"], slices
    port = json.loads(cluster.klctl_ok("get", "svc", "web-np", "-o", "json"))["spec"]["ports"][0]["nodePort"]
    for node, address in cluster.node_ips.items():
        body = eventually_sync(functools.partial(try_get, f"http://{address}:{port}/"), timeout=30,
                               what=f"the node port on {node}")
        assert "kubelab demo v1" in body, body
    assert len(listed) == len(pods(cluster, "app=web"))


RECREATE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: rec}}
spec:
  replicas: 3
  strategy: {{type: Recreate}}
  selector: {{matchLabels: {{app: rec}}}}
  template:
    metadata: {{labels: {{app: rec}}}}
    spec:
      containers:
      - name: rec
        image: kubelab/demo:{version}
        readinessProbe:
          httpGet: {{path: /readyz, port: 3000}}
          periodSeconds: 1
"""


def test_s2_recreate_stops_every_old_pod_before_starting_new_ones(cluster: Lab) -> None:
    apply(cluster, "rec", RECREATE.format(version=1))
    rollout_status(cluster, "rec")
    apply(cluster, "rec", RECREATE.format(version=2))
    deadline = time.monotonic() + 120
    mixed = False
    while time.monotonic() < deadline:
        items = json.loads(cluster.klctl_ok("get", "pods", "-l", "app=rec", "-o", "json"))["items"]
        images = {p["spec"]["containers"][0]["image"] for p in items}  # terminating ones included
        mixed |= len(images) > 1
        if images == {"kubelab/demo:2"} and len(items) == 3 and all(is_ready(p) for p in items):
            break
        time.sleep(0.2)
    assert not mixed, "old and new pods ran at the same time"
    rollout_status(cluster, "rec")
    events = json.loads(cluster.klctl_ok("get", "events", "--field-selector", "involvedObject.name=rec",
                                         "-o", "json"))["items"]
    scaling = [e["message"] for e in sorted(events, key=lambda e: e["metadata"]["creationTimestamp"])
               if e["reason"] == "ScalingReplicaSet"]
    assert re.fullmatch(f"Scaled up replica set rec-{HASH} from 0 to 3", scaling[0])
    assert re.fullmatch(f"Scaled down replica set rec-{HASH} from 3 to 0", scaling[1])
    assert re.fullmatch(f"Scaled up replica set rec-{HASH} from 0 to 3", scaling[2])


def test_run_attaches_to_the_pods_own_process_and_removes_the_pod(cluster: Lab) -> None:
    result = cluster.klctl("run", "--rm", "-i", "talk", "--image=busybox", "--restart=Never", "--",
                           "sh", "-c", "read x; echo got $x; exit 3", stdin="hello\n", timeout=120)
    assert result.returncode == 3, result.stderr
    assert result.stdout == 'got hello\npod "talk" deleted\n'
    assert result.stderr.splitlines()[-1] == "pod default/talk terminated (Error)"
    assert cluster.klctl("get", "pod", "talk").returncode == 1  # gone


@pytest.mark.skipif(not {"dns", "proxy"} <= set(DAEMON_NAMES),
                    reason="needs cluster DNS reachable at its service address 10.96.0.10: the DNS daemon and the "
                           "service proxy in the lab")
def test_run_rm_it_nslookup_kubernetes_prints_the_answer_and_cleans_up(cluster: Lab) -> None:
    result = cluster.klctl("run", "--rm", "-it", "t", "--image=busybox", "--restart=Never", "--",
                           "nslookup", "kubernetes", stdin="", timeout=120)
    # busybox's nslookup (1.35) asks every name of the search path and exits 1 when the last ones are
    # NXDOMAIN (kubernetes.svc.cluster.local, kubernetes.cluster.local), as it does in Kubernetes;
    # `klctl run` passing on exit statuses is the attach test's business.
    assert re.search(r"Name:\s+kubernetes\.default\.svc\.cluster\.local\s+Address: 10\.96\.0\.1\b",
                     result.stdout), result.stdout + result.stderr
    assert result.stdout.endswith('pod "t" deleted\n')
