"""Pod networking on one node: a bridge, and per pod a network namespace wired to it by a veth.

Runs in the node's network namespace (the root one on a VM, `kl-worker1` in the one-machine lab,
entered with `nsenter --net`, see netns.py) and changes it with iproute2. The layout:

    node netns:  <bridge> = gateway/prefix  <- kl<hash>  (one veth end per pod)
    pod netns:   lo up, eth0 = pod IP/prefix, default via the gateway
    other nodes: `<their pod CIDR> via <their node IP> proto 107` (set_routes)

Every operation is idempotent and safe to repeat after a crash: a pod's record is written before
its kernel objects are made and removed after they are gone, and each step checks what exists.
Pods are handled concurrently; one pod's operations are serialised by a lock of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import structlog

from agent.network import cmd
from agent.network.cmd import CommandError, NetworkError
from agent.network.config import NodeNetworkConfig
from agent.network.dns import DnsSettings, ResolvConf, parse_resolv_conf, pod_resolv_conf, render_resolv_conf
from agent.network.hosts import hostname_file_text, hosts_file_text, pod_domain, pod_hostname
from agent.network.ipam import Ipam
from agent.network.names import IPAM_DIR, POD_IFNAME, bridge_mac, check_pod_uid, netns_name, pod_mac, veth_name
from agent.network.netns import netns_path, netns_state, propagation_problem
from agent.network.routes import ROUTE_PROTOCOL, parse_routes, plan_routes
from agent.network.sandbox import HOSTNAME, HOSTS, RESOLV_CONF, Sandbox, SandboxRecord, SandboxStore

log = structlog.get_logger("agent.network")

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


class PodNetwork:
    def __init__(self, config: NodeNetworkConfig) -> None:
        self.config = config
        self._store = SandboxStore(config.state_dir)
        self._ipam = Ipam(config.pod_cidr, config.state_dir / IPAM_DIR)  # thread-safe on its own
        self._routes_lock = asyncio.Lock()
        self._pod_locks: dict[str, _PodLock] = {}
        self._netns_dir_lock = asyncio.Lock()
        self._netns_dir_ready = False

    # --- the node -------------------------------------------------------------------------------

    async def setup_node(self) -> None:
        """The bridge up with the gateway address, forwarding on; safe to call again."""
        problem = propagation_problem(await asyncio.to_thread(_read, Path("/proc/self/mountinfo")))
        if problem:
            raise NetworkError(f"cannot manage pod network namespaces: {problem}")
        await asyncio.to_thread(self.config.state_dir.mkdir, parents=True, exist_ok=True)
        bridge, gateway = self.config.bridge, self.config.gateway
        mac = bridge_mac(str(gateway))
        found = await cmd.link(bridge)
        if found is None:
            try:
                await cmd.ip("link", "add", bridge, "address", mac, "type", "bridge")
            except CommandError as error:
                if "File exists" not in error.stderr:  # else: made meanwhile, checked below
                    raise
            found = await cmd.link(bridge)
        if found is None:
            raise NetworkError(f"bridge {bridge} vanished right after it was made; is something else removing it?")
        kind = found.get("linkinfo", {}).get("info_kind")
        if kind != "bridge":
            raise NetworkError(f"interface {bridge} exists and is a {kind or 'plain'} device, not a bridge: "
                               "remove it or give the agent another bridge name")
        if found.get("address") != mac:
            await cmd.ip("link", "set", bridge, "address", mac)
        wanted = (str(gateway), self.config.pod_cidr.prefixlen)
        for entry in await cmd.ip_json("-4", "addr", "show", "dev", bridge):
            for address in entry.get("addr_info", []):
                have = (str(address.get("local")), int(address.get("prefixlen", 0)))
                if have != wanted:  # a pod CIDR this node had before
                    await cmd.ip("addr", "del", f"{have[0]}/{have[1]}", "dev", bridge)
        await cmd.ip("addr", "replace", f"{gateway}/{self.config.pod_cidr.prefixlen}", "dev", bridge)
        await cmd.ip("link", "set", bridge, "mtu", str(self.config.mtu), "up")
        await asyncio.to_thread(IP_FORWARD.write_text, "1\n")
        log.info("network.node_ready", bridge=bridge, gateway=str(gateway), pod_cidr=str(self.config.pod_cidr))

    async def teardown_node(self) -> None:
        """Every sandbox, the routes set_routes made, the bridge; the pod network is gone."""
        async with asyncio.TaskGroup() as group:
            for record in await asyncio.to_thread(self._store.load_all):
                group.create_task(self.remove_sandbox(record.pod_uid))
        async with self._routes_lock:
            for route in await cmd.ip_json("-4", "route", "show", "table", "main", "proto", ROUTE_PROTOCOL):
                await self._delete_route(str(route.get("dst", "")))
        await cmd.delete_link(self.config.bridge)
        await asyncio.to_thread(self._ipam.release_all)
        log.info("network.node_removed", bridge=self.config.bridge)

    async def set_routes(self, routes: Mapping[ipaddress.IPv4Network, str]) -> None:
        """Make the routes to other nodes' pod CIDRs exactly `routes` (pod CIDR -> node IP): add the
        missing, change the moved, remove those made before and no longer wanted; others' routes
        are left alone. Every route is tried; NetworkError at the end lists those that failed."""
        wanted = {ipaddress.IPv4Network(cidr): str(ipaddress.IPv4Address(via)) for cidr, via in routes.items()}
        async with self._routes_lock:
            current = parse_routes(await cmd.ip_json("-4", "route", "show", "table", "main"))
            plan = plan_routes(wanted, current, own_cidr=self.config.pod_cidr)
            failures: list[str] = []
            for dst, reason in plan.skipped.items():
                log.warning("network.route_skipped", cidr=str(dst), via=wanted[dst], reason=reason)
            for dst, via in plan.replace.items():
                try:
                    await cmd.ip("route", "replace", str(dst), "via", via, "proto", ROUTE_PROTOCOL)
                    log.info("network.route_set", cidr=str(dst), via=via)
                except CommandError as error:
                    failures.append(f"{dst} via {via}: {error.stderr or error}")
            for dst in plan.delete:
                await self._delete_route(str(dst))
            if failures:
                raise NetworkError("could not route to other nodes' pods (is the next hop on a connected "
                                   "network of this node?): " + "; ".join(failures))

    # --- pods -----------------------------------------------------------------------------------

    async def create_sandbox(self, *, pod_uid: str, pod_name: str, namespace: str, hostname: str,
                             subdomain: str = "", host_aliases: Sequence[tuple[str, Sequence[str]]] = (),
                             dns: DnsSettings) -> Sandbox:
        """The pod's namespace, address, route and files; the same sandbox (and IP) when called again."""
        check_pod_uid(pod_uid)
        async with self._pod_lock(pod_uid):
            record, fresh = await asyncio.to_thread(self._record_for, pod_uid, pod_name, namespace)
            await self._write_files(record, hostname, subdomain, host_aliases, dns)
            created = await self._plumb(record, fresh=fresh)
            sandbox = self._store.sandbox(record)
        if created:
            log.info("sandbox.created", pod=f"{namespace}/{pod_name}", uid=pod_uid, ip=record.ip, netns=record.netns)
        return sandbox

    async def remove_sandbox(self, pod_uid: str) -> None:
        """Delete the pod's veth, namespace and files and free its IP; nothing to do if already gone."""
        check_pod_uid(pod_uid)
        async with self._pod_lock(pod_uid):
            await self._remove(pod_uid, await asyncio.to_thread(self._store.load, pod_uid))

    async def sandboxes(self) -> list[Sandbox]:
        """The sandboxes this node has, from the records (for adoption after a restart). A record
        whose namespace is gone (a reboot) is dropped with its address; a listed sandbox may be
        half made (a crash during creation): create_sandbox completes it, remove_sandbox undoes it."""
        found: list[Sandbox] = []
        for record in await asyncio.to_thread(self._store.load_all):
            if self._busy(record.pod_uid):  # being created or removed right now
                found.append(self._store.sandbox(record))
                continue
            async with self._pod_lock(record.pod_uid):
                state = await asyncio.to_thread(netns_state, netns_path(record.netns))
                if state == "mounted":
                    found.append(self._store.sandbox(record))
                else:
                    log.info("sandbox.dropped", uid=record.pod_uid, netns=record.netns, reason="netns gone")
                    await self._remove(record.pod_uid, record)
        await self._release_orphan_addresses()
        return found

    # --- steps ----------------------------------------------------------------------------------

    def _record_for(self, pod_uid: str, pod_name: str, namespace: str) -> tuple[SandboxRecord, bool]:
        """The pod's record, and whether it is new: read, or made (its address taken, then the record
        written before any kernel object). Blocking: one trip to a thread for all of it."""
        record = self._store.load(pod_uid)
        if record is not None:
            return record, False
        netns = netns_name(self.config.netns_prefix, pod_uid)
        if netns_state(netns_path(netns)) == "mounted":
            raise NetworkError(f"network namespace {netns} for pod {namespace}/{pod_name} (uid {pod_uid}) already "
                               "exists but this node has no record of it; another pod's uid begins the same, or "
                               f"it is a leftover: check `ip netns pids {netns}`, then `ip netns delete {netns}`")
        address = self._ipam.allocate(pod_uid)
        record = SandboxRecord(pod_uid=pod_uid, pod_name=pod_name, namespace=namespace, netns=netns,
                               veth=veth_name(pod_uid), ip=str(address), gateway=str(self.config.gateway),
                               prefixlen=self.config.pod_cidr.prefixlen)
        self._store.save(record)
        return record, True

    async def _write_files(self, record: SandboxRecord, hostname: str, subdomain: str,
                           host_aliases: Sequence[tuple[str, Sequence[str]]], dns: DnsSettings) -> None:
        config = self.config
        name = pod_hostname(record.pod_name, hostname)
        if not dns.namespace:
            dns = dataclasses.replace(dns, namespace=record.namespace)
        host: ResolvConf | None = None
        if config.host_resolv_conf is not None:
            host = parse_resolv_conf(await asyncio.to_thread(_read, config.host_resolv_conf))
        resolv = pod_resolv_conf(dns, cluster_dns=config.cluster_dns, cluster_domain=config.cluster_domain,
                                 host=host)
        for warning in resolv.warnings:
            log.warning("sandbox.dns_config_forming", uid=record.pod_uid, message=warning)
        texts = {
            HOSTS: hosts_file_text(record.ip, name, pod_domain(subdomain, record.namespace, config.cluster_domain),
                                   host_aliases),
            RESOLV_CONF: render_resolv_conf(resolv.conf),
            HOSTNAME: hostname_file_text(name),
        }
        await asyncio.to_thread(self._store.write_files, record.pod_uid, texts)

    async def _plumb(self, record: SandboxRecord, *, fresh: bool) -> bool:
        """Make the pod's namespace and veth and state its address and route. True when the veth
        had to be made (a new sandbox, or one repaired).

        A `fresh` sandbox (its record just written, so nothing of it should exist) is made in two
        `ip -batch` runs, node side then pod side, which keeps many pods starting at once cheap;
        otherwise, or if that fails half way, each piece is checked and what is missing is made."""
        if fresh:
            try:
                await self._netns_add(self._node_side(record, with_netns=True))
            except CommandError as error:
                log.info("sandbox.repairing", uid=record.pod_uid, netns=record.netns, reason=str(error))
            else:
                await self._pod_side(record)
                return True
        netns, veth = record.netns, record.veth
        state = await asyncio.to_thread(netns_state, netns_path(netns))
        if state == "stale":  # the file of a namespace that is gone (a reboot, a private mount)
            await cmd.ip("netns", "delete", netns)
        if state != "mounted":
            await self._netns_add(f"netns add {netns}\n")
        host_end = await cmd.link(veth)
        if host_end is not None and await cmd.link(POD_IFNAME, netns=netns) is None:
            # the node end outlived its peer (the kernel frees a deleted namespace's devices later)
            await cmd.delete_link(veth)
            host_end = None
        await cmd.ip("-batch", "-", stdin=self._node_side(record, with_netns=False, with_veth=host_end is None))
        await self._pod_side(record)
        return host_end is None

    def _node_side(self, record: SandboxRecord, *, with_netns: bool, with_veth: bool = True) -> str:
        mtu = self.config.mtu
        lines = [f"netns add {record.netns}"] if with_netns else []
        if with_veth:
            lines.append(f"link add {record.veth} mtu {mtu} type veth peer name {POD_IFNAME} "
                         f"address {pod_mac(record.ip)} mtu {mtu} netns {record.netns}")
        lines.append(f"link set {record.veth} master {self.config.bridge} mtu {mtu} up")
        # Hairpin, as the kubelet's hairpin-veth mode: a pod reaching its own service is DNATed back
        # to itself, and with br_netfilter that frame leaves by the port it came in on.
        lines.append(f"link set {record.veth} type bridge_slave hairpin on")
        return "".join(line + "\n" for line in lines)

    async def _pod_side(self, record: SandboxRecord) -> None:
        await cmd.ip("-batch", "-", netns=record.netns, stdin=(
            "link set lo up\n"
            f"addr replace {record.ip}/{record.prefixlen} dev {POD_IFNAME}\n"
            f"link set {POD_IFNAME} mtu {self.config.mtu} up\n"
            f"route replace default via {record.gateway} dev {POD_IFNAME}\n"))

    async def _netns_add(self, batch: str) -> None:
        """Run an `ip -batch` that starts with `netns add`. The first one in this process runs alone:
        it makes /run/netns a shared mount point, and two at once could stack two mounts there."""
        if self._netns_dir_ready:
            await cmd.ip("-batch", "-", stdin=batch)
            return
        async with self._netns_dir_lock:
            await cmd.ip("-batch", "-", stdin=batch)
            self._netns_dir_ready = True

    async def _remove(self, pod_uid: str, record: SandboxRecord | None) -> None:
        netns = record.netns if record else netns_name(self.config.netns_prefix, pod_uid)
        veth = record.veth if record else veth_name(pod_uid)
        # The veth first: a namespace that processes still hold outlives `ip netns delete`, and its
        # devices with it.
        await cmd.delete_link(veth)
        if await asyncio.to_thread(netns_state, netns_path(netns)) != "absent":
            try:
                await cmd.ip("netns", "delete", netns)
            except CommandError as error:
                if not error.not_found:
                    raise
        released = await asyncio.to_thread(self._ipam.release, pod_uid)
        await asyncio.to_thread(self._store.delete, pod_uid)
        if record is not None or released is not None:
            log.info("sandbox.removed", uid=pod_uid, netns=netns, ip=str(released) if released else "")

    async def _release_orphan_addresses(self) -> None:
        """Addresses whose pod has no record (a crash between allocating and recording)."""
        recorded = {record.pod_uid for record in await asyncio.to_thread(self._store.load_all)}
        for address, owner in (await asyncio.to_thread(self._ipam.owners)).items():
            if owner not in recorded and not self._busy(owner):
                await asyncio.to_thread(self._ipam.release, owner)
                log.info("network.address_released", ip=str(address), uid=owner, reason="no sandbox record")

    async def _delete_route(self, dst: str) -> None:
        try:
            await cmd.ip("route", "del", dst, "proto", ROUTE_PROTOCOL, "table", "main")
            log.info("network.route_removed", cidr=dst)
        except CommandError as error:
            if not error.not_found:
                raise

    @contextlib.asynccontextmanager
    async def _pod_lock(self, pod_uid: str) -> AsyncIterator[None]:
        """One pod's operations, one at a time; the lock lives while someone holds or awaits it."""
        entry = self._pod_locks.get(pod_uid)
        if entry is None:
            entry = self._pod_locks[pod_uid] = _PodLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._pod_locks[pod_uid]

    def _busy(self, pod_uid: str) -> bool:
        return pod_uid in self._pod_locks


@dataclasses.dataclass
class _PodLock:
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    users: int = 0


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
