"""Stories S1.3-S1.5 and S1.6's "a killed process is restarted in place", on the lab, with real
processes and packets. Pods are bound with `nodeName` (the scheduler is not part of this story).

Tutorial timings are scaled down by configuration: the app's 60 s boot becomes 6 s (BOOT_DELAY),
and the agent's CrashLoopBackOff starts at 1 s instead of 10 s (KUBELAB_AGENT_BACKOFF_*).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.support.lab import Lab, LabFactory
from tests.support.pods import (
    container_status,
    demo_pod,
    get_pod,
    in_pod_network,
    is_ready,
    pids_in_pod,
    pod_ip,
    restarts,
    wait_pod,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]

TIMINGS = {"KUBELAB_AGENT_BACKOFF_INITIAL": "1", "KUBELAB_AGENT_BACKOFF_MAX": "8",
           "KUBELAB_AGENT_HEARTBEAT_INTERVAL": "2"}


@pytest.fixture(scope="module")
def cluster(module_labs: LabFactory) -> Iterator[Lab]:
    yield module_labs(workers=2, env=TIMINGS)


def apply(lab: Lab, name: str, manifest: str) -> None:
    lab.klctl_ok("apply", "-f", lab.write(f"{name}.yaml", manifest))


def describe(lab: Lab, pod: str) -> str:
    return lab.klctl_ok("describe", "pod", pod)


def test_a_slow_app_with_too_short_a_startup_budget_is_restarted_again_and_again(cluster: Lab) -> None:
    apply(cluster, "impatient", demo_pod("impatient", "worker1", env="{name: BOOT_DELAY, value: '6'}", probes="""\
    startupProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 1
      failureThreshold: 2
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 1
"""))
    pod = wait_pod(cluster, "impatient", lambda p: restarts(p) >= 2, timeout=60, what="restarted twice")
    ip = pod_ip(pod)
    events = describe(cluster, "impatient")
    assert (f'Startup probe failed: Get "http://{ip}:3000/healthz": dial tcp {ip}:3000: connect: '
            "connection refused") in events
    assert "Container web failed startup probe, will be restarted" in events
    assert "Liveness probe failed" not in events, "liveness must wait for the startup probe"
    assert not is_ready(pod)
    row = cluster.klctl_ok("get", "pod", "impatient").splitlines()[1].split()
    assert row[1] == "0/1" and int(row[3]) >= 2


def test_a_slow_app_comes_up_when_the_startup_probe_waits_long_enough(cluster: Lab) -> None:
    apply(cluster, "patient", demo_pod("patient", "worker2", env="{name: BOOT_DELAY, value: '6'}", probes="""\
    startupProbe:
      httpGet: {path: /healthz, port: http}
      initialDelaySeconds: 8
      periodSeconds: 1
      failureThreshold: 2
    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 1
"""))
    pod = wait_pod(cluster, "patient", is_ready, timeout=60, what="Ready")
    assert restarts(pod) == 0
    assert container_status(pod)["started"] is True
    assert "Startup probe failed" not in describe(cluster, "patient")


def test_a_failing_liveness_probe_restarts_the_container_with_growing_back_off(cluster: Lab) -> None:
    apply(cluster, "sick", demo_pod("sick", "worker1", env="{name: HEALTHZ, value: never}", probes="""\
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 1
      failureThreshold: 2
"""))
    seen_back_off = False
    pod = None
    delays: dict[int, float] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(delays) < 4:
        pod = get_pod(cluster, "sick")
        assert pod is not None
        status = container_status(pod)
        waiting = status.get("state", {}).get("waiting", {})
        seen_back_off |= waiting.get("reason") == "CrashLoopBackOff"
        running = status.get("state", {}).get("running")
        last = status.get("lastState", {}).get("terminated")
        count = status.get("restartCount", 0)
        if running and last and count not in delays:
            delays[count] = _seconds(running["startedAt"]) - _seconds(last["finishedAt"])
        time.sleep(0.2)
    assert len(delays) >= 4, f"restarts seen: {delays}"
    assert seen_back_off, "the pod never showed CrashLoopBackOff"
    counts = sorted(delays)
    assert delays[counts[-1]] >= delays[counts[0]] + 2, f"back-off did not grow: {delays}"
    events = describe(cluster, "sick")
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in events
    assert "Container web failed liveness probe, will be restarted" in events
    assert "Back-off restarting failed container web in pod sick_default" in events


def _seconds(stamp: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def test_a_crashing_app_shows_crash_loop_back_off_and_its_exit(cluster: Lab) -> None:
    apply(cluster, "crasher", demo_pod("crasher", "worker2", image="kubelab/demo:crash",
                                       env="{name: EXIT_AFTER, value: '1'}"))
    pod = wait_pod(cluster, "crasher", lambda p: restarts(p) >= 2, timeout=60, what="restarted twice")
    last = container_status(pod)["lastState"]["terminated"]
    assert last["reason"] == "Error" and last["exitCode"] != 0
    wait_pod(cluster, "crasher", lambda p: container_status(p).get("state", {}).get("waiting", {}).get("reason")
             == "CrashLoopBackOff", timeout=30, what="in CrashLoopBackOff")


def test_probes_by_http_tcp_and_exec_with_thresholds(cluster: Lab) -> None:
    apply(cluster, "probed", """\
apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  nodeName: worker2
  containers:
  - name: web
    image: kubelab/demo:1
    ports: [{name: http, containerPort: 3000}]
    readinessProbe:
      httpGet: {path: /readyz, port: http, httpHeaders: [{name: X-Probe, value: kubelab}]}
      initialDelaySeconds: 1
      periodSeconds: 1
      timeoutSeconds: 2
      successThreshold: 3
      failureThreshold: 2
  - name: static
    image: nginx
    readinessProbe:
      tcpSocket: {port: 80}
      periodSeconds: 1
  - name: box
    image: busybox
    command: ["sh", "-c", "sleep 4; touch /tmp/ready; sleep 3600"]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
""")
    pod = wait_pod(cluster, "probed", lambda p: len(p.get("status", {}).get("containerStatuses", [])) == 3
                   and container_status(p, "box").get("state", {}).get("running") is not None,
                   timeout=30, what="running its three containers")
    assert not container_status(pod, "box").get("ready"), "the exec probe fails until /tmp/ready exists"
    pod = wait_pod(cluster, "probed", is_ready, timeout=30, what="Ready")
    assert all(container_status(pod, name)["ready"] for name in ("web", "static", "box"))
    assert "Readiness probe failed" in describe(cluster, "probed")


def test_a_killed_process_is_restarted_in_place(cluster: Lab) -> None:
    apply(cluster, "victim", demo_pod("victim", "worker1"))
    pod = wait_pod(cluster, "victim", lambda p: container_status(p).get("state", {}).get("running") is not None,
                   timeout=30, what="running")
    before_ip, before_uid = pod_ip(pod), pod["metadata"]["uid"]
    for pid in pids_in_pod(cluster, pod):
        os.kill(pid, signal.SIGKILL)
    pod = wait_pod(cluster, "victim", lambda p: restarts(p) == 1 and container_status(p).get("state", {}).get(
        "running") is not None, timeout=30, what="running again after one restart")
    assert (pod_ip(pod), pod["metadata"]["uid"]) == (before_ip, before_uid), "the same pod, in place"
    assert container_status(pod)["lastState"]["terminated"]["exitCode"] == 137


def test_pods_on_different_workers_talk_by_pod_ip(cluster: Lab) -> None:
    apply(cluster, "server", demo_pod("server", "worker2", env="{name: VERSION, value: cross-node}"))
    apply(cluster, "client", demo_pod("client", "worker1"))
    server = wait_pod(cluster, "server", lambda p: container_status(p).get("state", {}).get("running") is not None,
                      timeout=30, what="running")
    client = wait_pod(cluster, "client", lambda p: bool(pod_ip(p)), timeout=30, what="given an IP")
    assert server["spec"]["nodeName"] != client["spec"]["nodeName"]
    deadline = time.monotonic() + 20
    while True:
        result = in_pod_network(cluster, client, "busybox", "wget", "-qO-", f"http://{pod_ip(server)}:3000/")
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert result.returncode == 0, result.stderr
    assert "cross-node" in result.stdout


def test_ten_replicas_on_one_node_all_listen_on_the_same_port(cluster: Lab) -> None:
    names = [f"replica-{n}" for n in range(10)]
    apply(cluster, "replicas", "---\n".join(demo_pod(name, "worker2", env=f"{{name: VERSION, value: {name}}}")
                                            for name in names))
    pods = [wait_pod(cluster, name, lambda p: container_status(p).get("state", {}).get("running") is not None,
                     timeout=60, what="running") for name in names]
    assert len({pod_ip(p) for p in pods}) == 10
    for pod in pods:
        deadline = time.monotonic() + 15
        while True:
            answer = cluster.exec_in("worker2", "busybox", "wget", "-qO-", f"http://{pod_ip(pod)}:3000/")
            if answer.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert pod["metadata"]["name"] in answer.stdout, answer.stderr
    table = cluster.klctl_ok("get", "pods", "-l", "app").splitlines()
    assert table[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


def test_exec_touch_makes_an_exec_readiness_probe_pass(cluster: Lab) -> None:
    apply(cluster, "waiter", """\
apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  nodeName: worker1
  containers:
  - name: box
    image: busybox
    command: ["sleep", "3600"]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ready"]}
      periodSeconds: 1
""")
    wait_pod(cluster, "waiter", lambda p: container_status(p).get("state", {}).get("running") is not None,
             timeout=30, what="running")
    time.sleep(2)
    assert not is_ready(get_pod(cluster, "waiter") or {})
    cluster.klctl_ok("exec", "waiter", "--", "touch", "/tmp/ready")
    wait_pod(cluster, "waiter", is_ready, timeout=15, what="Ready after touch /tmp/ready")


def test_logs_and_exec_as_a_student_sees_them(cluster: Lab) -> None:
    apply(cluster, "chatty", """\
apiVersion: v1
kind: ConfigMap
metadata: {name: chatty-config}
data: {GREETING: hello-from-configmap}
---
apiVersion: v1
kind: Secret
metadata: {name: chatty-secret}
stringData: {TOKEN: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: chatty}
spec:
  nodeName: worker2
  containers:
  - name: box
    image: busybox
    command: ["sh", "-c", "for i in 1 2 3; do echo line $i; done; echo oops >&2; sleep 3600"]
    envFrom:
    - configMapRef: {name: chatty-config}
    - secretRef: {name: chatty-secret}
""")
    wait_pod(cluster, "chatty", lambda p: container_status(p).get("state", {}).get("running") is not None,
             timeout=30, what="running")
    deadline = time.monotonic() + 10
    while "oops" not in cluster.klctl_ok("logs", "chatty") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert cluster.klctl_ok("logs", "chatty").splitlines() == ["line 1", "line 2", "line 3", "oops"]
    assert cluster.klctl_ok("logs", "chatty", "--tail", "1").splitlines() == ["oops"]
    stamped = cluster.klctl_ok("logs", "chatty", "--timestamps").splitlines()[0]
    assert stamped.endswith(" line 1") and stamped[:4].isdigit() and "T" in stamped.split()[0]
    env = cluster.klctl_ok("exec", "chatty", "--", "env").splitlines()
    assert "GREETING=hello-from-configmap" in env and "TOKEN=s3cret" in env
    assert cluster.klctl_ok("exec", "-i", "chatty", "--", "cat", stdin="piped in\n") == "piped in\n"
    failed = cluster.klctl("exec", "chatty", "--", "sh", "-c", "exit 3")
    assert failed.returncode == 3
    assert failed.stderr.strip() == "command terminated with exit code 3"
    assert cluster.klctl_ok("exec", "chatty", "--", "hostname").strip() == "chatty"
