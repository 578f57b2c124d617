"""Services on a lab, as a student drives them: pods with `nodeName`, Services and the EndpointSlices
that point at the pods (written by hand: a service without a selector and its slices is a real
Kubernetes scenario), and requests through the services from the host, from nodes and from pods."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from tests.support.lab import Lab
from tests.support.pods import get_pod, pod_ip


def busybox_pod(name: str, node: str) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  containers:
  - {{name: sh, image: busybox, command: [sleep, "100000"]}}
"""


UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
host = socket.gethostname()
while True:
    data, peer = s.recvfrom(65535)
    s.sendto(host.encode() + b" " + peer[0].encode() + b" " + data, peer)
"""


def udp_echo_pod(name: str, node: str, port: int) -> str:
    """A UDP echo server (the host's python3, through the busybox image's PATH): answers
    `<hostname> <client address> <datagram>`."""
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  containers:
  - name: echo
    image: busybox
    command: [python3, -c, {json.dumps(UDP_ECHO)}, "{port}"]
    ports: [{{containerPort: {port}, protocol: UDP}}]
"""


def endpoint_slice(name: str, service: str, endpoints: Iterable[Mapping[str, Any]],
                   ports: Iterable[Mapping[str, Any]], annotations: Mapping[str, str] | None = None) -> str:
    document = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service},
                             **({"annotations": dict(annotations)} if annotations else {})},
                "addressType": "IPv4", "endpoints": list(endpoints), "ports": list(ports)}
    return json.dumps(document)


def endpoint(lab: Lab, pod: str, *, ready: bool = True) -> dict[str, Any]:
    found = get_pod(lab, pod)
    assert found is not None, f"no pod {pod}"
    return {"addresses": [pod_ip(found)], "nodeName": found["spec"]["nodeName"], "conditions": {"ready": ready}}


def service_json(lab: Lab, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(lab.klctl_ok("get", "svc", name, "-o", "json"))
    return data


def cluster_ip(lab: Lab, name: str) -> str:
    return str(service_json(lab, name)["spec"]["clusterIP"])


def node_port(lab: Lab, name: str, index: int = 0) -> int:
    return int(service_json(lab, name)["spec"]["ports"][index]["nodePort"])


def hostname_of(body: str) -> str:
    """The pod that answered, from the demo app's page (`hostname: web-a`)."""
    for line in body.splitlines():
        if line.startswith("hostname: "):
            return line.partition(": ")[2].strip()
    return ""


def http_get(url: str, timeout: float = 5) -> str:
    """A request from the host (the test's own network namespace), as `curl` would make it."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return str(response.read().decode())


def try_get(url: str, timeout: float = 3) -> str | None:
    try:
        return http_get(url, timeout)
    except (urllib.error.URLError, OSError):
        return None


def wget_loop(count: int, url: str) -> list[str]:
    """A shell loop of busybox wget: each request prints the answering pod or FAILED. (Not `wget -T`:
    Debian's busybox 1.35 crashes on it; `timeout` bounds each request instead.)"""
    script = (f"for i in $(seq {count}); do out=$(timeout 5 wget -qO- {url} 2>/dev/null) "
              f"&& echo \"$out\" | grep '^hostname:' || echo FAILED; done")
    return ["sh", "-c", script]


def _answers(out: str) -> Counter[str]:
    """How many times each pod answered (and FAILED), from `wget_loop`'s output."""
    return Counter(line.partition(": ")[2] or line for line in out.split("\n") if line.strip())


def answers_from_pod(lab: Lab, pod: str, url: str, count: int) -> Counter[str]:
    return _answers(lab.klctl_ok("exec", pod, "--", *wget_loop(count, url)))


def answers_from_node(lab: Lab, node: str, url: str, count: int) -> Counter[str]:
    result = lab.exec_in(node, "busybox", *wget_loop(count, url), timeout=120)
    assert result.returncode == 0, result.stderr
    return _answers(result.stdout)


class Hammer:
    """A client that asks `url` again and again from the host, retrying nothing, and records when
    each request started and which pod answered (or `FAILED <error>`). Use as `with Hammer(url) as h:`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.results.append((started, hostname_of(http_get(self.url, timeout=5))))
            except OSError as error:
                self.results.append((started, f"FAILED {error}"))

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def failures(self) -> list[str]:
        return [answer for _, answer in self.results if answer.startswith("FAILED")]
