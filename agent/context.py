"""What every part of the agent shares: its settings, the API client, the runtime, the network,
the event recorder, and the watch cache of Services (for the pods' service variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agent.config import AgentConfig
from agent.network import PodNetwork
from agent.runtime.interface import Runtime
from controlplane.client import ApiClient
from controlplane.client.events import EventRecorder
from controlplane.client.informer import Informer


@dataclass(frozen=True)
class AgentContext:
    config: AgentConfig
    client: ApiClient
    runtime: Runtime
    network: PodNetwork
    events: EventRecorder
    # Every Service of the cluster, watched: a container's service variables are read from here
    # when it starts, never listed from the API per pod.
    services: Informer

    @property
    def pods_dir(self) -> Path:
        return self.config.state_dir / "pods"

    @property
    def host_netns(self) -> Path:
        """The node's own network namespace, for hostNetwork pods."""
        return Path(f"/proc/{os.getpid()}/ns/net")
