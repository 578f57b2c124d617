"""The nftables ruleset of the proxy (pure): the fixed skeleton, and what each service port adds.

One table, `ip kubelab`, owned by the proxy alone, laid out as kube-proxy's nftables mode lays out
its own (pkg/proxy/nftables/README.md in Kubernetes):

    nat-prerouting, nat-output (dstnat)  -> services: ip . proto . port vmap @service-ips,
                                            node IP . proto . port vmap @service-nodeports
    service-<port>   Cluster policy: affinity checks, then numgen random mod N vmap -> endpoint-*
    local-<port>     Local policy: the same over this node's endpoints
    external-<port>  node ports, external and LB IPs: masquerade (Cluster policy), or keep the
                     client address (Local policy) except for pods and the node, sent to service-*
    endpoint-<ep>    hairpin masquerade, affinity update, dnat to the endpoint
    nat-postrouting (srcnat) -> masquerading: what was marked leaves with the node's address
    filter-* (before dnat)   -> endpoints-check: no endpoint -> reject, Local without one -> drop
    filter-*-post-dnat       -> a cluster IP that was not rewritten (unknown port) -> reject

Everything is written as `nft` commands (`add rule ip kubelab CHAIN ...`), so one generator serves
the first full load and every incremental transaction (see diff.py).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from proxy.model import Endpoint, ServicePortName
from proxy.routing import Route, Verdict

TABLE = "kubelab"
FAMILY = "ip"
MASQUERADE_MARK = "0x4000"  # kube-proxy's masquerade bit

SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NODEPORT_IPS = "nodeport-ips"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
CLUSTER_IPS = "cluster-ips"
MARK_FOR_MASQUERADE = "mark-for-masquerade"
REJECT_CHAIN = "reject-chain"

# Numeric priorities (nft 1.0 accepts `dstnat - 10` only in nat chains): dstnat = -100, srcnat = 100.
PRIORITY_FILTER_PRE_DNAT = -110
PRIORITY_DSTNAT = -100
PRIORITY_FILTER_POST_DNAT = -90
PRIORITY_SRCNAT = 100


@dataclass(frozen=True, slots=True)
class NodeContext:
    """What of the node shapes the rules."""

    node_ip: str
    cluster_cidr: str = "10.244.0.0/16"
    # Masquerade a pod's connection to a service that lands on a pod of the same bridge. Needed when
    # bridged frames skip netfilter (bridge-nf-call-iptables off): the reply would go straight
    # back over the bridge and never be un-DNATed.
    hairpin_cidr: str = ""  # the node's pod CIDR when that masquerade is needed, else ""


@dataclass(frozen=True, slots=True)
class Fragment:
    """What one service port adds to the table."""

    chains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # chain -> its rules
    sets: Mapping[str, int] = field(default_factory=dict)  # affinity set -> timeout seconds
    elements: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (map or set, key) -> value


@dataclass(frozen=True, slots=True)
class Desired:
    """The whole variable part of the table."""

    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sets: dict[str, int] = field(default_factory=dict)
    elements: dict[tuple[str, str], str] = field(default_factory=dict)


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:8]


def port_base(name: ServicePortName) -> str:
    """`HASH-namespace/name/protocol/port`: unique, readable, and a valid nft identifier."""
    plain = f"{name.namespace}/{name.name}/{name.protocol.lower()}/{name.port}"
    return f"{_hash(plain)}-{plain}"


def endpoint_base(name: ServicePortName, endpoint: Endpoint) -> str:
    plain = f"{name.namespace}/{name.name}/{name.protocol.lower()}/{name.port}__{endpoint.ip}/{endpoint.port}"
    return f"{_hash(plain)}-{plain}"


def service_chain(name: ServicePortName) -> str:
    return f"service-{port_base(name)}"


def local_chain(name: ServicePortName) -> str:
    return f"local-{port_base(name)}"


def external_chain(name: ServicePortName) -> str:
    return f"external-{port_base(name)}"


def endpoint_chain(name: ServicePortName, endpoint: Endpoint) -> str:
    return f"endpoint-{endpoint_base(name, endpoint)}"


def affinity_set(name: ServicePortName, endpoint: Endpoint, seconds: int) -> str:
    """The timeout is part of the name: a set's timeout cannot change, a new set replaces it."""
    plain = f"{name.namespace}/{name.name}/{name.protocol.lower()}/{name.port}__{endpoint.ip}/{endpoint.port}"
    return f"affinity-{_hash(f'{plain}@{seconds}')}-{plain}"


def _verdict_value(verdict: Verdict) -> str:
    return f"goto {REJECT_CHAIN}" if verdict is Verdict.REJECT else "drop"


def _key(ip: str, protocol: str, port: int) -> str:
    return f"{ip} . {protocol.lower()} . {port}"


# --------------------------------------------------------------------------------- the skeleton


def skeleton(context: NodeContext) -> list[str]:
    """The fixed part of the table, as commands (after the table itself is created)."""
    t = f"{FAMILY} {TABLE}"
    service_map = "type ipv4_addr . inet_proto . inet_service : verdict ;"
    nodeport_map = "type inet_proto . inet_service : verdict ;"
    commands = [
        f'add table {t} {{ comment "rules of the kubelab proxy" ; }}',
        f"add map {t} {SERVICE_IPS} {{ {service_map} "
        f"comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }}",
        f"add map {t} {SERVICE_NODEPORTS} {{ {nodeport_map} comment \"NodePort traffic\" ; }}",
        f"add set {t} {NODEPORT_IPS} {{ type ipv4_addr ; comment \"IPs that accept NodePort traffic\" ; }}",
        f"add element {t} {NODEPORT_IPS} {{ {context.node_ip} }}",
        f"add map {t} {NO_ENDPOINT_SERVICES} {{ {service_map} comment \"services without endpoints\" ; }}",
        f"add map {t} {NO_ENDPOINT_NODEPORTS} {{ {nodeport_map} comment \"node ports without endpoints\" ; }}",
        f"add set {t} {CLUSTER_IPS} {{ type ipv4_addr ; comment \"every active cluster IP\" ; }}",
    ]
    base_chains = [
        ("filter-input", "filter", "input", PRIORITY_FILTER_PRE_DNAT),
        ("filter-forward", "filter", "forward", PRIORITY_FILTER_PRE_DNAT),
        ("filter-output", "filter", "output", PRIORITY_FILTER_PRE_DNAT),
        ("filter-forward-post-dnat", "filter", "forward", PRIORITY_FILTER_POST_DNAT),
        ("filter-output-post-dnat", "filter", "output", PRIORITY_FILTER_POST_DNAT),
        ("nat-prerouting", "nat", "prerouting", PRIORITY_DSTNAT),
        ("nat-output", "nat", "output", PRIORITY_DSTNAT),
        ("nat-postrouting", "nat", "postrouting", PRIORITY_SRCNAT),
    ]
    for name, kind, hook, priority in base_chains:
        commands.append(f"add chain {t} {name} {{ type {kind} hook {hook} priority {priority} ; policy accept ; }}")
    for name in ("services", "masquerading", MARK_FOR_MASQUERADE, "endpoints-check", "cluster-ips-check",
                 REJECT_CHAIN):
        commands.append(f"add chain {t} {name}")
    rules = [
        ("filter-input", "ct state new jump endpoints-check"),
        ("filter-forward", "ct state new jump endpoints-check"),
        ("filter-output", "ct state new jump endpoints-check"),
        ("filter-forward-post-dnat", "ct state new jump cluster-ips-check"),
        ("filter-output-post-dnat", "ct state new jump cluster-ips-check"),
        ("nat-prerouting", "jump services"),
        ("nat-output", "jump services"),
        ("nat-postrouting", "jump masquerading"),
        ("services", f"ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}"),
        ("services", f"ip daddr @{NODEPORT_IPS} meta l4proto . th dport vmap @{SERVICE_NODEPORTS}"),
        ("endpoints-check", f"ip daddr . meta l4proto . th dport vmap @{NO_ENDPOINT_SERVICES}"),
        ("endpoints-check", f"ip daddr @{NODEPORT_IPS} meta l4proto . th dport vmap @{NO_ENDPOINT_NODEPORTS}"),
        ("cluster-ips-check", f"ip daddr @{CLUSTER_IPS} reject"),
        (MARK_FOR_MASQUERADE, f"mark set mark or {MASQUERADE_MARK}"),
        ("masquerading", f"mark and {MASQUERADE_MARK} == 0 return"),
        ("masquerading", f"mark set mark xor {MASQUERADE_MARK}"),
        ("masquerading", "masquerade fully-random"),
        (REJECT_CHAIN, "reject"),
    ]
    commands += [f"add rule {t} {chain} {rule}" for chain, rule in rules]
    return commands


# --------------------------------------------------------------------------------- per service port


def _balance(chains: dict[str, tuple[str, ...]], chain: str, name: ServicePortName, route: Route,
             endpoints: tuple[Endpoint, ...], first: tuple[str, ...]) -> None:
    rules = list(first)
    seconds = route.port.affinity_seconds
    if seconds:
        rules += [f"ip saddr @{affinity_set(name, e, seconds)} goto {endpoint_chain(name, e)}" for e in endpoints]
    targets = " , ".join(f"{index} : goto {endpoint_chain(name, e)}" for index, e in enumerate(endpoints))
    rules.append(f"numgen random mod {len(endpoints)} vmap {{ {targets} }}")
    chains[chain] = tuple(rules)


def fragment(route: Route, context: NodeContext) -> Fragment:
    """The chains, affinity sets and map elements of one service port."""
    port = route.port
    name = port.name
    protocol = port.protocol.lower()
    chains: dict[str, tuple[str, ...]] = {}
    sets: dict[str, int] = {}
    elements: dict[tuple[str, str], str] = {(CLUSTER_IPS, port.cluster_ip): ""}

    cluster_chain = service_chain(name) if route.cluster and port.uses_cluster_endpoints else ""
    own_chain = local_chain(name) if route.local and port.uses_local_endpoints else ""
    internal_chain = own_chain if port.internal_local else cluster_chain
    # Traffic to the cluster IP from outside the pod network (the node, a routed client) leaves
    # masqueraded, so that replies come back through this node.
    masquerade_outsiders = (f"ip daddr {port.cluster_ip} {protocol} dport {port.port} "
                            f"ip saddr != {context.cluster_cidr} jump {MARK_FOR_MASQUERADE}",)
    if cluster_chain:
        first = masquerade_outsiders if internal_chain == cluster_chain else ()
        _balance(chains, cluster_chain, name, route, route.cluster, first)
    if own_chain:
        first = masquerade_outsiders if internal_chain == own_chain else ()
        _balance(chains, own_chain, name, route, route.local, first)

    for endpoint in route.reachable:
        rules = [f"ip saddr {endpoint.ip} jump {MARK_FOR_MASQUERADE}"]  # a pod reaching itself
        if context.hairpin_cidr and _inside(endpoint.ip, context.hairpin_cidr):
            rules.append(f"ip saddr {context.hairpin_cidr} jump {MARK_FOR_MASQUERADE}")
        if port.affinity_seconds:
            affinity = affinity_set(name, endpoint, port.affinity_seconds)
            sets[affinity] = port.affinity_seconds
            rules.append(f"update @{affinity} {{ ip saddr }}")
        rules.append(f"meta l4proto {protocol} dnat to {endpoint.ip}:{endpoint.port}")
        chains[endpoint_chain(name, endpoint)] = tuple(rules)

    # The cluster IP.
    internal_verdict = route.internal_verdict
    if internal_verdict is Verdict.FORWARD:
        elements[(SERVICE_IPS, _key(port.cluster_ip, protocol, port.port))] = f"goto {internal_chain}"
    else:
        elements[(NO_ENDPOINT_SERVICES, _key(port.cluster_ip, protocol, port.port))] = _verdict_value(internal_verdict)

    # External destinations: node port, external IPs, load balancer IPs.
    if port.externally_accessible:
        external_verdict = route.external_verdict
        chain = external_chain(name)
        if route.has_endpoints:
            rules = []
            if not port.external_local:
                rules.append(f"jump {MARK_FOR_MASQUERADE}")
                if cluster_chain:
                    rules.append(f"goto {cluster_chain}")
            else:
                # Pods and the node itself are not subject to the Local policy; the node's own
                # connections may carry a service address as source, so they are masqueraded.
                if cluster_chain:
                    rules.append(f"ip saddr {context.cluster_cidr} goto {cluster_chain}")
                rules.append(f"fib saddr type local jump {MARK_FOR_MASQUERADE}")
                if cluster_chain:
                    rules.append(f"fib saddr type local goto {cluster_chain}")
                if own_chain:
                    rules.append(f"goto {own_chain}")
            chains[chain] = tuple(rules)
        for ip in (*port.external_ips, *port.load_balancer_ips):
            if route.has_endpoints:
                elements[(SERVICE_IPS, _key(ip, protocol, port.port))] = f"goto {chain}"
            if external_verdict is not Verdict.FORWARD:
                elements[(NO_ENDPOINT_SERVICES, _key(ip, protocol, port.port))] = _verdict_value(external_verdict)
        if port.node_port:
            node_key = f"{protocol} . {port.node_port}"
            if route.has_endpoints:
                elements[(SERVICE_NODEPORTS, node_key)] = f"goto {chain}"
            if external_verdict is not Verdict.FORWARD:
                elements[(NO_ENDPOINT_NODEPORTS, node_key)] = _verdict_value(external_verdict)
    return Fragment(chains, sets, elements)


def _inside(ip: str, cidr: str) -> bool:
    return ipaddress.IPv4Address(ip) in ipaddress.IPv4Network(cidr, strict=False)


def merge(fragments: Iterable[tuple[ServicePortName, Fragment]]) -> tuple[Desired, list[str]]:
    """The whole variable part from every port's fragment, and the conflicts: when two ports claim
    the same destination (two services with one external IP and port), the first by name keeps it."""
    desired = Desired()
    conflicts = []
    owners: dict[tuple[str, str], ServicePortName] = {}
    for name, part in sorted(fragments, key=lambda item: item[0]):
        desired.chains.update(part.chains)
        desired.sets.update(part.sets)
        for key, value in part.elements.items():
            held = owners.get(key)
            if held is not None and desired.elements[key] != value:
                conflicts.append(f"{key[1]} ({key[0]}) is claimed by {held} and {name}; {held} keeps it")
                continue
            owners.setdefault(key, name)
            desired.elements[key] = value
    return desired, conflicts
