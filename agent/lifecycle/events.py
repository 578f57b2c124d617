"""The events a container's lifecycle records, in Kubernetes' words.

An `EventText` is what an event recorder needs besides the object and the time: its type
(`Normal` or `Warning`), its reason (one CamelCase word, the REASON column of `kubectl get events`)
and its message. The agent records them against the container's pod with the field path
`spec.containers{NAME}` (or `spec.initContainers{NAME}`), as the kubelet does.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.lifecycle.goformat import pod_ref

NORMAL = "Normal"
WARNING = "Warning"

REASON_BACK_OFF = "BackOff"
REASON_KILLING = "Killing"


@dataclass(frozen=True, slots=True)
class EventText:
    type: str  # NORMAL or WARNING
    reason: str  # "Unhealthy", "Killing", "BackOff" ...
    message: str


def back_off_restarting(container: str, pod_name: str, namespace: str, uid: str) -> EventText:
    """Recorded each time the agent finds a container it must restart still inside its back-off.

    `Back-off restarting failed container api in pod web-1_default(0d3c...)`
    """
    return EventText(WARNING, REASON_BACK_OFF,
                     f"Back-off restarting failed container {container} in pod {pod_ref(pod_name, namespace, uid)}")


def stopping_container(container: str) -> EventText:
    """Recorded when a container is stopped because its pod is deleted: `Stopping container api`."""
    return EventText(NORMAL, REASON_KILLING, f"Stopping container {container}")
