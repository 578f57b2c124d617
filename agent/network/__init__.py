"""Pod networking for the node agent: a bridge per node, a network namespace and veth per pod,
addresses from the node's pod CIDR, routes to the other nodes' pod CIDRs, and each pod's
/etc/hosts, /etc/resolv.conf and /etc/hostname.

    network = PodNetwork(NodeNetworkConfig(pod_cidr=..., bridge="kl-cbr0", netns_prefix="kl-worker1",
                                           state_dir=Path(".../network")))
    await network.setup_node()
    sandbox = await network.create_sandbox(pod_uid=..., pod_name=..., namespace=..., hostname=...,
                                           dns=DnsSettings(policy="ClusterFirst"))
"""

from agent.network.cmd import CommandError, NetworkError
from agent.network.config import NodeNetworkConfig
from agent.network.dns import DnsSettings, resolv_conf_text
from agent.network.ipam import RangeFull
from agent.network.podnetwork import PodNetwork
from agent.network.sandbox import Sandbox

__all__ = [
    "CommandError",
    "DnsSettings",
    "NetworkError",
    "NodeNetworkConfig",
    "PodNetwork",
    "RangeFull",
    "Sandbox",
    "resolv_conf_text",
]
