"""Which Services a change of a pod concerns, for the controllers that keep a Service's endpoints.

A pod matters to the Services of its namespace whose selector matches its labels before or after
the change, and only when something an endpoint is made of changed: labels, readiness, addresses,
phase, deletion, node, hostname/subdomain or container ports (a pod's status changes often for
reasons no endpoint shows, such as a restart count).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from controlplane.api.v1 import core_pb2
from controlplane.client.informer import Informer, object_key
from controlplane.controllers import podendpoints


def endpoint_facts(pod: core_pb2.Pod) -> tuple[Any, ...]:
    """Everything of a pod that its endpoints show (or decide on)."""
    containers = [*pod.spec.containers, *pod.spec.init_containers]
    return (sorted(pod.metadata.labels.items()), podendpoints.is_ready(pod), tuple(podendpoints.pod_ips(pod)),
            pod.status.phase, pod.metadata.deletion_timestamp, pod.spec.node_name, pod.spec.hostname,
            pod.spec.subdomain, pod.metadata.uid,
            tuple((c.restart_policy, tuple((p.name, p.container_port, p.protocol) for p in c.ports))
                  for c in containers))


def changed_for_endpoints(old: core_pb2.Pod | None, new: core_pb2.Pod | None) -> bool:
    if old is None or new is None:
        return True
    return endpoint_facts(old) != endpoint_facts(new)


def requeue_services_of_pod(services: Informer, add: Callable[[str], None],
                            ) -> Callable[[core_pb2.Pod | None, core_pb2.Pod | None], None]:
    """A pod handler that queues (`add`) the Services a pod's change concerns."""
    def changed(old: core_pb2.Pod | None, new: core_pb2.Pod | None) -> None:
        for key in services_of_pod(services, old, new):
            add(key)
    return changed


def services_of_pod(services: Informer, old: core_pb2.Pod | None, new: core_pb2.Pod | None) -> set[str]:
    """Keys of the Services whose endpoints the change from `old` to `new` may alter."""
    if not changed_for_endpoints(old, new):
        return set()
    keys: set[str] = set()
    for pod in (old, new):
        if pod is None:
            continue
        for service in services.list(pod.metadata.namespace):
            if podendpoints.selects(service.spec.selector, pod.metadata.labels):
                keys.add(object_key(service))
    return keys
