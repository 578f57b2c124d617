"""Looking at pods on a lab the way a student does (klctl), with one place to wait for them."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.support.lab import Lab
from tests.support.wait import WaitTimeout

Pod = dict[str, Any]


READY_ON_READYZ = "    readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 1}\n"


def demo_pod(name: str, node: str, *, app: str = "", image: str = "kubelab/demo:1", env: str = "",
             probes: str = "") -> str:
    """A pod of the demo app (port 3000, named `http`) bound to `node` and labelled app=<app, or its
    name>; `env` is YAML flow entries (`{name: A, value: '1'}, ...`), `probes` lines of its container
    (`READY_ON_READYZ`, say)."""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {app or name}}}
spec:
  nodeName: {node}
  containers:
  - name: web
    image: {image}
    ports: [{{name: http, containerPort: 3000}}]
    env: [{env}]
{probes}"""


def get_pod(lab: Lab, name: str, namespace: str = "default") -> Pod | None:
    result = lab.klctl("-n", namespace, "get", "pod", name, "-o", "json")
    return json.loads(result.stdout) if result.returncode == 0 else None


def wait_pod(lab: Lab, name: str, check: Callable[[Pod], bool], *, timeout: float, what: str,
             namespace: str = "default") -> Pod:
    """Poll the pod until `check` holds; on timeout say what it last looked like."""
    deadline = time.monotonic() + timeout
    last: Pod | None = None
    while True:
        last = get_pod(lab, name, namespace)
        if last is not None and check(last):
            return last
        if time.monotonic() > deadline:
            summary = json.dumps(last.get("status") if last else None)[:2000]
            raise WaitTimeout(f"timed out after {timeout}s waiting for pod {name} to be {what}; status: {summary}")
        time.sleep(0.25)


def container_status(pod: Pod, name: str | None = None) -> dict[str, Any]:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    for status in statuses:
        if name is None or status["name"] == name:
            return dict(status)
    return {}


def is_ready(pod: Pod) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def restarts(pod: Pod, name: str | None = None) -> int:
    return int(container_status(pod, name).get("restartCount", 0))


def pod_ip(pod: Pod) -> str:
    return str(pod.get("status", {}).get("podIP", ""))


def pod_netns(lab: Lab, pod: Pod) -> str:
    """The pod's network namespace: `<prefix>-<node>-<first 12 characters of the uid>`."""
    return f"{lab.prefix}-{pod['spec']['nodeName']}-{pod['metadata']['uid'].replace('-', '')[:12]}"


def in_pod_network(lab: Lab, pod: Pod, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command in the pod's network namespace (packets leave from the pod's own address)."""
    return subprocess.run(["ip", "netns", "exec", pod_netns(lab, pod), *command], capture_output=True, text=True,
                          timeout=timeout)


def wait_pods(lab: Lab, names: Iterable[str], check: Callable[[Pod], bool], *, what: str, timeout: float = 90,
              ) -> None:
    """Poll the pods until `check` holds for each; on timeout say which did not get there."""
    pending = set(names)
    deadline = time.monotonic() + timeout
    while pending:
        pending = {name for name in pending if not ((pod := get_pod(lab, name)) and check(pod))}
        if not pending:
            return
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for pods {sorted(pending)} to be {what}")
        time.sleep(0.5)


def is_running(pod: Pod) -> bool:
    return pod.get("status", {}).get("phase") == "Running"


def alive(pid: int) -> bool:
    """The process exists and is neither a zombie nor dead (its state, after the command name, in /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:  # gone, or going while read (ESRCH)
        return False


def pids_in_pod(lab: Lab, pod: Pod) -> list[int]:
    result = subprocess.run(["ip", "netns", "pids", pod_netns(lab, pod)], capture_output=True, text=True)
    return [int(p) for p in result.stdout.split()]
