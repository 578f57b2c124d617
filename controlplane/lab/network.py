"""The lab's network, one small step per function, over a Runner of `ip`.

Building: the bridge in the root netns, then per node a netns, a veth whose root end joins the
bridge and whose other end is the node's eth0, a default route via the host, forwarding on, and
routes to the other nodes' pod CIDRs. Taking down: whatever of it exists, found by name.
"""

from __future__ import annotations

import ipaddress

from controlplane.lab.ip import Runner
from controlplane.lab.ownership import owned_names
from controlplane.lab.plan import LabPlan, NodePlan

NODE_IFACE = "eth0"


async def create_bridge(ip: Runner, plan: LabPlan) -> None:
    await ip.ip("link", "add", plan.bridge, "type", "bridge")
    await ip.ip("addr", "add", f"{plan.host_ip}/{plan.subnet.prefixlen}", "dev", plan.bridge)
    await ip.ip("link", "set", plan.bridge, "up")


async def create_node(ip: Runner, plan: LabPlan, node: NodePlan) -> None:
    await ip.ip("netns", "add", node.netns)
    await ip.ip("link", "set", "lo", "up", netns=node.netns)
    # The node's end is created directly inside its netns, so no temporary name lives in the root netns.
    await ip.ip("link", "add", node.host_veth, "type", "veth", "peer", "name", NODE_IFACE, "netns", node.netns)
    await ip.ip("link", "set", node.host_veth, "master", plan.bridge)
    await ip.ip("link", "set", node.host_veth, "up")
    await ip.ip("addr", "add", f"{node.ip}/{plan.subnet.prefixlen}", "dev", NODE_IFACE, netns=node.netns)
    await ip.ip("link", "set", NODE_IFACE, "up", netns=node.netns)
    await ip.ip("route", "add", "default", "via", str(plan.host_ip), "dev", NODE_IFACE, netns=node.netns)
    await ip.run("ip", "netns", "exec", node.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1")


async def add_pod_routes(ip: Runner, plan: LabPlan, node: NodePlan) -> None:
    for cidr, via in plan.pod_routes(node):
        await ip.ip("route", "replace", str(cidr), "via", str(via), "dev", NODE_IFACE, netns=node.netns)


async def build(ip: Runner, plan: LabPlan) -> None:
    await create_bridge(ip, plan)
    for node in plan.nodes:
        await create_node(ip, plan, node)
    for node in plan.nodes:
        await add_pod_routes(ip, plan, node)


async def netns_names(ip: Runner) -> list[str]:
    return [str(item["name"]) for item in await ip.ip_json("netns", "list") if "name" in item]


async def link_names(ip: Runner) -> list[str]:
    """Interfaces of the root netns."""
    return [str(item["ifname"]) for item in await ip.ip_json("link", "show") if "ifname" in item]


async def lab_netns(ip: Runner, prefix: str) -> list[str]:
    return owned_names(prefix, await netns_names(ip))


async def lab_links(ip: Runner, prefix: str) -> list[str]:
    return owned_names(prefix, await link_names(ip))


async def routes_into(ip: Runner, subnet: ipaddress.IPv4Network) -> list[str]:
    """Routes of the root netns that overlap `subnet` (besides the default route): a sign that it is in use."""
    found = []
    for route in await ip.ip_json("-4", "route", "show"):
        dst = str(route.get("dst", ""))
        if not dst or dst == "default":
            continue
        try:
            network = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue
        if network.overlaps(subnet):
            found.append(f"{dst} dev {route.get('dev', '?')}")
    return found


async def delete_netns(ip: Runner, name: str) -> str | None:
    """Delete a netns; None on success, else why not."""
    result = await ip.ip("netns", "delete", name, check=False)
    return None if result.ok else result.reason()


async def delete_link(ip: Runner, name: str) -> str | None:
    result = await ip.ip("link", "delete", name, check=False)
    # Deleting a veth's peer (its netns went) already took it; "No such device" when the kernel was
    # still tearing it down as we asked.
    if result.ok or "Cannot find device" in result.stderr or "No such device" in result.stderr:
        return None
    return result.reason()
