"""A pod as an endpoint of a Service, by Kubernetes' rules (pure): which pods a Service selects,
which of them belong in its endpoints, whether they are ready, which port a target port names on
each pod, and the hostname a StatefulSet-style pod publishes under its headless Service.
"""

from __future__ import annotations

from collections.abc import Mapping

from controlplane.api.v1 import core_pb2, meta_pb2

TERMINAL_PHASES = ("Succeeded", "Failed")
RESTART_ALWAYS = "Always"


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A Service's map selector matches the labels; an empty selector selects no pod (a Service
    without a selector has its endpoints written by someone else)."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def is_ready(pod: core_pb2.Pod) -> bool:
    """The pod's Ready condition is True."""
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)


def is_terminating(pod: core_pb2.Pod) -> bool:
    return bool(pod.metadata.deletion_timestamp)


def pod_ips(pod: core_pb2.Pod) -> list[str]:
    return [ip.ip for ip in pod.status.pod_ips if ip.ip] or ([pod.status.pod_ip] if pod.status.pod_ip else [])


def belongs_in_endpoints(pod: core_pb2.Pod, include_terminating: bool) -> bool:
    """Kubernetes' ShouldPodBeInEndpoints: not finished, has an address, and (unless asked) not
    being deleted."""
    if pod.status.phase in TERMINAL_PHASES:
        return False
    if not pod_ips(pod):
        return False
    return include_terminating or not is_terminating(pod)


def _protocol(value: str) -> str:
    return value or "TCP"


def find_port(pod: core_pb2.Pod, port: core_pb2.ServicePort) -> int | None:
    """The pod's port for a service port: the number itself, or the container port of that name and
    protocol (in the app containers, then in sidecars: init containers that always restart); None
    when the pod has no such port (the pod then serves nothing on it)."""
    target: meta_pb2.IntOrString = port.target_port
    which = target.WhichOneof("value")
    if which == "int_val" and target.int_val:
        return target.int_val
    if which != "str_val" or not target.str_val:
        return port.port  # unset: the API server defaults it to the port; be as lenient here
    protocol = _protocol(port.protocol)
    containers = [*pod.spec.containers,
                  *(c for c in pod.spec.init_containers if c.restart_policy == RESTART_ALWAYS)]
    for container in containers:
        for container_port in container.ports:
            if container_port.name == target.str_val and _protocol(container_port.protocol) == protocol:
                return container_port.container_port
    return None


def hostname_for(pod: core_pb2.Pod, service: core_pb2.Service) -> str:
    """spec.hostname when the pod names this Service as its subdomain (StatefulSets do), else ""."""
    if pod.spec.hostname and pod.spec.subdomain == service.metadata.name and \
            pod.metadata.namespace == service.metadata.namespace:
        return pod.spec.hostname
    return ""


def is_headless(service: core_pb2.Service) -> bool:
    return service.spec.cluster_ip == "None"


def pod_reference(pod: core_pb2.Pod) -> meta_pb2.ObjectReference:
    return meta_pb2.ObjectReference(kind="Pod", namespace=pod.metadata.namespace, name=pod.metadata.name,
                                    uid=pod.metadata.uid)
