"""What a hollow node says of its pods: every pod bound to it runs, at once and forever, with an
address from the node's pod range. The status is built by the kubelet's own rules
(agent/lifecycle/status.py) from facts that say so: the sandbox is up, every init container
completed, every container running, its probes passed.
"""

from __future__ import annotations

import ipaddress

from agent.lifecycle.status import ContainerFacts, PodFacts, Running, Terminated, build_pod_status
from controlplane.api.v1 import core_pb2


class PodAddresses:
    """The pod addresses of one node: .2 to .254 of its /24, lowest free first, kept per pod uid."""

    def __init__(self, cidr: ipaddress.IPv4Network) -> None:
        self.cidr = cidr
        self._by_uid: dict[str, str] = {}
        self._free = [str(cidr[host]) for host in range(254, 1, -1)]  # popped from the end: .2 first

    def __len__(self) -> int:
        return len(self._by_uid)

    def get(self, uid: str) -> str | None:
        return self._by_uid.get(uid)

    def assign(self, uid: str, wanted: str = "") -> str:
        """The pod's address: the one it has, `wanted` when free and in range (a restart of the hollow
        nodes keeps pods' addresses), else the lowest free one. ValueError when none is left."""
        found = self._by_uid.get(uid)
        if found is not None:
            return found
        if wanted and wanted in self._free:
            self._free.remove(wanted)
            address = wanted
        elif self._free:
            address = self._free.pop()
        else:
            raise ValueError(f"no pod address left in {self.cidr}")
        self._by_uid[uid] = address
        return address

    def release(self, uid: str) -> None:
        address = self._by_uid.pop(uid, None)
        if address is not None:
            self._free.append(address)
            self._free.sort(key=lambda text: -int(ipaddress.IPv4Address(text)))


def _container_id(pod: core_pb2.Pod, container: str) -> str:
    return f"hollow://{pod.metadata.uid}/{container}"


def running_status(pod: core_pb2.Pod, pod_ip: str, host_ip: str, now: float) -> core_pb2.PodStatus:
    """The status of the pod running on a hollow node (a previous one's times are kept)."""
    started = now
    facts = PodFacts(
        containers=[ContainerFacts(c.name, Running(started), container_id=_container_id(pod, c.name))
                    for c in pod.spec.containers],
        init_containers=[ContainerFacts(c.name, Running(started) if c.restart_policy == "Always"
                                        else Terminated(0, started, started, container_id=_container_id(pod, c.name)),
                                        container_id=_container_id(pod, c.name))
                         for c in pod.spec.init_containers],
        pod_ips=[pod_ip], host_ips=[host_ip], start_time=now, sandbox_ready=True)
    return build_pod_status(pod.spec, facts, pod.status, now)


def is_running_here(pod: core_pb2.Pod, pod_ip: str) -> bool:
    """The pod's status already says it runs with this address (nothing to write)."""
    return pod.status.phase == "Running" and pod.status.pod_ip == pod_ip and all(
        s.ready for s in pod.status.container_statuses)
