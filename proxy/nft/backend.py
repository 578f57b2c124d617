"""`--mode nftables`: service traffic DNATed by the kernel, table `ip kubelab` (ruleset.py).

Each sync regenerates the fragments of the service ports that changed, and applies a single `nft -f`
transaction with only the difference from what the table holds (diff.py), through libnftables in
this process (libnftables.py). If that transaction fails
(the table was changed behind our back, say), the whole table is rewritten in one transaction. The
table is replaced at start (a killed proxy's stale table goes) and deleted at stop.

Pods on this node reach a service whose endpoint is on the same bridge only if the endpoint's
reply, which crosses the bridge without being routed, is seen by conntrack: that is what br_netfilter
(`net.bridge.bridge-nf-call-iptables`, per network namespace) does. When it is off here, such
connections are masqueraded instead (NodeContext.hairpin_cidr), so the reply comes to the node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import structlog

from agent.network.cmd import CommandError, run
from proxy.backend import NodeView
from proxy.config import ProxyConfig
from proxy.model import ServicePortName
from proxy.net.sysctl import bridged_traffic_is_filtered
from proxy.nft import diff
from proxy.nft.conntrack import stale_udp_entries
from proxy.nft.libnftables import Nftables, NftError
from proxy.nft.ruleset import Desired, Fragment, NodeContext, fragment, merge
from proxy.routing import Route
from proxy.state import RouteChanges

log = structlog.get_logger("proxy.nftables")


class NftablesBackend:
    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.context = NodeContext(node_ip=config.node_ip, cluster_cidr=str(config.cluster_cidr))
        self.fragments: dict[ServicePortName, Fragment] = {}
        self.routes: dict[ServicePortName, Route] = {}
        self.applied = Desired()
        self._bridge_filtered = True
        self._conntrack = True
        self._conflicts: set[str] = set()
        self._nft: Nftables | None = None

    async def nft(self, commands: list[str]) -> None:
        assert self._nft is not None, "start() first"
        await self._nft.run(diff.script(commands))

    async def start(self) -> None:
        self._nft = Nftables()
        self._bridge_filtered = await asyncio.to_thread(bridged_traffic_is_filtered)
        if not self._bridge_filtered:
            log.info("nftables.hairpin_masquerade",
                     reason="net.bridge.bridge-nf-call-iptables is off here: same-node pod-to-service "
                            "connections are masqueraded")
        await self.nft(diff.full_load(self.context, Desired()))
        self.applied = Desired()
        try:
            await run(("conntrack", "--version"))
        except CommandError:
            self._conntrack = False
            log.warning("nftables.no_conntrack_tool", consequence="UDP clients of a removed endpoint keep "
                        "reaching it until their conntrack entry times out (install the conntrack package)")
        log.info("nftables.ready", table="ip kubelab")

    def needs_retry(self) -> bool:
        return False  # a failed transaction raises, and the sync loop retries

    async def stop(self) -> None:
        if self._nft is None:
            return
        try:
            await self.nft(diff.removal())
        finally:
            self._nft.close()

    async def apply(self, changes: RouteChanges, routes: Mapping[ServicePortName, Route], view: NodeView) -> None:
        context = NodeContext(node_ip=self.config.node_ip, cluster_cidr=str(self.config.cluster_cidr),
                              hairpin_cidr="" if self._bridge_filtered else view.pod_cidr or
                              str(self.config.cluster_cidr))
        rebuild = context != self.context
        self.context = context
        old_routes = {name: self.routes.pop(name, None) for name in changes}
        self.routes.update((name, route) for name, route in changes.items() if route is not None)
        if rebuild:
            self.fragments = {name: fragment(route, context) for name, route in routes.items()}
        else:
            for name, route in changes.items():
                if route is None:
                    self.fragments.pop(name, None)
                else:
                    self.fragments[name] = fragment(route, context)
        desired, conflicts = merge(self.fragments.items())
        for conflict in set(conflicts) - self._conflicts:
            log.warning("frontend.conflict", conflict=conflict)
        self._conflicts = set(conflicts)
        if rebuild:
            await self._full(desired)
        else:
            commands = diff.transaction(self.applied, desired)
            if commands:
                try:
                    await self.nft(commands)
                except NftError as error:
                    log.warning("nftables.transaction_failed", error=str(error), action="rewriting the table")
                    await self._full(desired)
        self.applied = desired
        await self._clear_stale_udp(old_routes, changes)

    async def _full(self, desired: Desired) -> None:
        await self.nft(diff.full_load(self.context, desired))
        self.applied = desired

    async def _clear_stale_udp(self, old: Mapping[ServicePortName, Route | None], changes: RouteChanges) -> None:
        if not self._conntrack:
            return
        for name, route in changes.items():
            for arguments in stale_udp_entries(old.get(name), route):
                try:
                    await run(("conntrack", *arguments))
                except CommandError as error:
                    if "0 flow entries" not in error.stderr:
                        log.warning("conntrack.failed", error=str(error))
