"""`--mode userspace`: service traffic through this process.

Service addresses are bound on a dummy interface (so pods and the node deliver them locally), a
listener serves each frontend (frontends.py), and each new connection or UDP flow picks its endpoint
from the *current* route of its service port at that moment: an endpoint change is a dictionary
update, applied at once, and touches no listener. Listeners open and close only when a frontend
appears or goes (a service created, changed or deleted, or its first or last endpoint).

Clients from the pod network or from this node are "inside"; external traffic from outside under
`externalTrafficPolicy: Local` goes to this node's endpoints from the client's own address
(transparent.py), so the endpoint sees who called.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping

import structlog

from proxy.backend import NodeView
from proxy.balancer import Balancer
from proxy.config import ProxyConfig
from proxy.model import Endpoint, ServicePortName
from proxy.net import transparent
from proxy.net.addresses import ServiceInterface, local_addresses
from proxy.net.sysctl import Sysctls
from proxy.routing import Route
from proxy.state import RouteChanges
from proxy.userspace.frontends import Binding, Frontend, merge_frontends, service_addresses
from proxy.userspace.tcp import Choose, Dial, TcpListener
from proxy.userspace.udp import UdpListener

log = structlog.get_logger("proxy.userspace")

Listener = TcpListener | UdpListener
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


class UserspaceBackend:
    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.interface = ServiceInterface(config.interface)
        self.sysctls = Sysctls()
        self.routes: Mapping[ServicePortName, Route] = {}
        self.balancers: dict[ServicePortName, Balancer] = {}
        self.listeners: dict[Frontend, tuple[Binding, Listener]] = {}
        self._wanted: dict[Frontend, Binding] = {}  # the frontends of the last apply
        self._node_local: set[str] = set()  # the node's own addresses (not the service ones)
        self._conflicts: set[str] = set()

    async def start(self) -> None:
        await transparent.setup()
        await self.interface.create()
        # The service addresses are on every node; only the interface that holds an address may
        # answer ARP for it (so a load balancer address is answered by its owner alone).
        await self.sysctls.set("net.ipv4.conf.all.arp_ignore", "1")
        await self.sysctls.set("net.ipv4.conf.all.arp_announce", "2")
        self._node_local = await local_addresses()
        log.info("userspace.ready", interface=self.interface.name)

    async def stop(self) -> None:
        for _, listener in self.listeners.values():
            await listener.close()
        self.listeners.clear()
        try:
            await self.interface.delete()
        finally:
            try:
                await self.sysctls.restore()
            finally:
                await transparent.teardown()

    # ------------------------------------------------------------------ applying routes

    async def apply(self, changes: RouteChanges, routes: Mapping[ServicePortName, Route], view: NodeView) -> None:
        self.routes = routes
        for name, route in changes.items():
            if route is None:
                self.balancers.pop(name, None)
                continue
            balancer = self.balancers.setdefault(name, Balancer(route.port.affinity_seconds))
            balancer.retarget(route.port.affinity_seconds, route.reachable)
        await self.interface.sync(service_addresses(routes.values(), view.node_addresses))
        wanted, conflicts = merge_frontends(routes, self.config.node_ip)
        self._wanted = wanted
        for conflict in set(conflicts) - self._conflicts:
            log.warning("frontend.conflict", conflict=conflict)
        self._conflicts = set(conflicts)
        for frontend in [f for f, (binding, _) in self.listeners.items() if wanted.get(f) != binding]:
            _, listener = self.listeners.pop(frontend)
            await listener.close()
            log.info("listener.closed", frontend=_text(frontend))
        for frontend, binding in sorted(wanted.items()):
            if frontend in self.listeners:
                continue
            listener = self._listener(frontend, binding)
            try:
                await listener.start()
            except OSError as error:
                log.warning("listener.failed", frontend=_text(frontend), service=str(binding.name), error=str(error))
                continue
            self.listeners[frontend] = (binding, listener)
            log.info("listener.opened", frontend=_text(frontend), service=str(binding.name))
        for binding, listener in self.listeners.values():
            if isinstance(listener, UdpListener) and binding.name in changes:
                route = routes.get(binding.name)
                listener.retire(route.reachable if route is not None else ())

    def needs_retry(self) -> bool:
        """Some frontend should listen but does not (its bind failed): try again later."""
        return any(frontend not in self.listeners for frontend in self._wanted)

    def _listener(self, frontend: Frontend, binding: Binding) -> Listener:
        choose = self._chooser(binding)
        if frontend.protocol == "UDP":
            return UdpListener(frontend, choose, self.config.udp_idle_timeout)
        return TcpListener(frontend, choose, self.config.connect_timeout)

    # ------------------------------------------------------------------ choosing endpoints

    def is_inside(self, client_ip: str) -> bool:
        """A pod or this node (never subject to externalTrafficPolicy: Local)."""
        try:
            address = ipaddress.IPv4Address(client_ip)
        except ValueError:
            return False
        return (address in self.config.cluster_cidr or address in LOOPBACK or client_ip in self._node_local
                or client_ip in self.interface.addresses)

    def _chooser(self, binding: Binding) -> Choose:
        name, external = binding.name, binding.external

        def choose(client_ip: str) -> Dial | None:
            route = self.routes.get(name)
            balancer = self.balancers.get(name)
            if route is None or balancer is None:
                return None
            inside = self.is_inside(client_ip)
            endpoints = route.for_client(external=external, inside=inside)
            if not endpoints:
                return None
            order = balancer.candidates(endpoints, client_ip, time.monotonic())
            keep_client = external and route.port.external_local and not inside

            def connected(endpoint: Endpoint) -> None:
                balancer.connected(endpoint, client_ip, time.monotonic())

            return Dial(order, connected, client_ip if keep_client else None)

        return choose


def _text(frontend: Frontend) -> str:
    return f"{frontend.ip}:{frontend.port}/{frontend.protocol}"
