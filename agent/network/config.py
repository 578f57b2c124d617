"""The node's pod-network settings: one frozen dataclass, checked when built."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

IFNAMSIZ = 15  # the kernel's limit on interface names (16 bytes with the NUL)
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_NETNS_PREFIX = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


@dataclass(frozen=True)
class NodeNetworkConfig:
    # This node's pod range (one /24 of 10.244.0.0/16 in the lab); the first address is the gateway,
    # on the bridge, and pods get the addresses after it.
    pod_cidr: ipaddress.IPv4Network
    # The bridge every pod's veth joins, in the agent's network namespace ("kl-cbr0").
    bridge: str
    # Pod network namespaces are "<netns_prefix>-<first 12 of the pod uid>"; their names are global
    # (/run/netns), so the prefix must be unique per node ("kl-worker1").
    netns_prefix: str
    # Address allocations and one directory per pod (record, hosts, resolv.conf, hostname), so a
    # restarted agent finds its sandboxes and their addresses again.
    state_dir: Path
    # The cluster DNS service; ClusterFirst pods get it as their only nameserver.
    cluster_dns: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    # MTU of the bridge and of both ends of each pod's veth.
    mtu: int = 1500
    # The node's resolver file, the base of dnsPolicy Default and of ClusterFirst's extra search
    # domains (kubelet's --resolv-conf); None = no file, as kubelet's --resolv-conf="".
    host_resolv_conf: Path | None = Path("/etc/resolv.conf")

    def __post_init__(self) -> None:
        if not isinstance(self.pod_cidr, ipaddress.IPv4Network):
            raise ValueError(f"pod_cidr: want an IPv4 network such as 10.244.1.0/24, got {self.pod_cidr!r}")
        if self.pod_cidr.prefixlen > 30:
            raise ValueError(f"pod_cidr {self.pod_cidr}: too small for a gateway and a pod; use /30 or larger")
        if not _IFNAME.match(self.bridge):
            raise ValueError(f"bridge {self.bridge!r}: an interface name is 1-{IFNAMSIZ} characters of "
                             "letters, digits, '-', '_' and '.'")
        if not _NETNS_PREFIX.match(self.netns_prefix):
            raise ValueError(f"netns_prefix {self.netns_prefix!r}: use letters, digits, '-', '_' and '.'")
        if not 68 <= self.mtu <= 65535:
            raise ValueError(f"mtu {self.mtu}: must be between 68 and 65535")
        if self.cluster_dns:
            ipaddress.IPv4Address(self.cluster_dns)

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        """The bridge's address: the pods' default route."""
        return self.pod_cidr.network_address + 1
