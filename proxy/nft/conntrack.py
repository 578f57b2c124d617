"""Which UDP conntrack entries go stale when a route changes (pure), as kube-proxy clears them.

A UDP "connection" is only a conntrack entry, so without this a client that keeps sending keeps
reaching an endpoint that is gone (its entry is refreshed by every datagram), or keeps being
refused after a service gained its first endpoint (the entry made while there was none does not
go through DNAT again). Each result is the arguments of one `conntrack -D` call.
"""

from __future__ import annotations

from proxy.routing import Route, Verdict


def stale_udp_entries(old: Route | None, new: Route | None) -> list[tuple[str, ...]]:
    before = old or new
    if before is None or before.port.protocol != "UDP":
        return []
    port = before.port
    commands: list[tuple[str, ...]] = []
    kept = set(new.reachable) if new is not None else set()
    for endpoint in (old.reachable if old is not None else ()):
        if endpoint in kept:
            continue
        for address in port.addresses:
            commands.append(("-D", "-p", "udp", "--orig-dst", address, "--orig-port-dst", str(port.port),
                             "--dst-nat", endpoint.ip))
        if port.node_port:
            commands.append(("-D", "-p", "udp", "--orig-port-dst", str(port.node_port), "--dst-nat", endpoint.ip))
    was_serving = old is not None and old.internal_verdict is Verdict.FORWARD
    if new is not None and new.internal_verdict is Verdict.FORWARD and not was_serving:
        for address in new.port.addresses:
            commands.append(("-D", "-p", "udp", "--orig-dst", address, "--orig-port-dst", str(new.port.port)))
        if new.port.node_port:
            commands.append(("-D", "-p", "udp", "--orig-port-dst", str(new.port.node_port)))
    return commands
