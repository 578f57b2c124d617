"""`kubelab dns` for real: a DNS server process on loopback, fed by watch caches of a real API server
whose endpoints a real controller manager keeps, answering real DNS queries over UDP and TCP (with
dnslib's client and with `dig`). Names outside the cluster go to an upstream resolver: here a
second `kubelab dns` serving another domain.

The test plays the node agent for pods: it binds them to a node name and writes their status."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from agent.images import nslookup128
from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError
from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.client import ApiClient
from tests.integration.test_endpoints_controllers import set_ready
from tests.support.daemon import ApiServerProcess, DaemonProcess, apiserver, control_plane
from tests.support.daemon import dns as dns_daemon
from tests.support.wait import eventually

SERVICE = kinds.by_kind("Service")
ENDPOINTS = kinds.by_kind("Endpoints")
SLICE = kinds.by_kind("EndpointSlice")


class Cluster:
    def __init__(self, workdir: Path, apiserver: ApiServerProcess) -> None:
        self.workdir = workdir
        self.apiserver = apiserver
        self.daemons: list[DaemonProcess] = []

    def dns(self, name: str, *args: str) -> DaemonProcess:
        daemon = dns_daemon(self.apiserver.address, self.workdir / f"{name}.log", "--node-name", name, *args)
        self.daemons.append(daemon)
        return daemon.start()

    def close(self) -> None:
        for daemon in self.daemons:
            daemon.kill()
        self.apiserver.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("dns")
    with control_plane(workdir) as (server, _):
        made = Cluster(workdir, server)
        try:
            yield made
        finally:
            made.close()


@pytest.fixture(scope="module")
def upstream(cluster: Cluster) -> DaemonProcess:
    """A resolver for names outside cluster.local: another kubelab dns, authoritative for example.test."""
    return cluster.dns("upstream", "--cluster-domain", "example.test", "--resolv-conf", "", "--register-service", "")


@pytest.fixture(scope="module")
def dns(cluster: Cluster, upstream: DaemonProcess) -> DaemonProcess:
    return cluster.dns("node-a", "--upstream", f"127.0.0.1:{upstream.ready['port']}", "--register-interval", "0.5")


@pytest.fixture
async def api(cluster: Cluster) -> AsyncIterator[ApiClient]:
    client = cluster.apiserver.client()
    try:
        yield client
    finally:
        await client.close()


def query(server: DaemonProcess, name: str, qtype: str = "A", tcp: bool = False) -> DNSRecord:
    request = DNSRecord.question(name, qtype)
    return DNSRecord.parse(request.send("127.0.0.1", int(server.ready["port"]), tcp=tcp, timeout=10))


def records(reply: DNSRecord) -> list[str]:
    return sorted(" ".join(str(record).split()) for record in reply.rr)


async def ask(server: DaemonProcess, name: str, qtype: str = "A", tcp: bool = False) -> DNSRecord:
    return await asyncio.to_thread(query, server, name, qtype, tcp)


async def create(api: ApiClient, document: dict[str, Any]) -> Any:
    document.setdefault("metadata", {}).setdefault("namespace", "default")
    try:
        return await api.create(codec.decode_object(document))
    except ApiError as error:
        if "already exists" not in error.message:
            raise
        return None


async def pod(api: ApiClient, name: str, ip: str, *, app: str, ready: bool = True, hostname: str = "",
              subdomain: str = "") -> None:
    spec: dict[str, Any] = {"nodeName": "node-a", "containers": [{"name": "c", "image": "busybox"}]}
    if hostname:
        spec.update(hostname=hostname, subdomain=subdomain)
    await create(api, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
                       "spec": spec})
    await set_ready(api, name, ready, ip)


async def answers(server: DaemonProcess, name: str, expected: list[str], qtype: str = "A") -> None:
    async def check() -> bool:
        return records(await ask(server, name, qtype)) == expected

    await eventually(check, timeout=10, what=f"{qtype} {name} to be {expected}")


async def test_the_cluster_dns_service_is_bootstrapped_at_the_tenth_service_address(api: ApiClient) -> None:
    service = await api.get(SERVICE, "kube-system", "kube-dns")
    assert isinstance(service, core_pb2.Service)
    assert service.spec.cluster_ip == "10.96.0.10" and not service.spec.selector
    assert [(p.name, p.port, p.protocol) for p in service.spec.ports] == [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]
    kubernetes_slice = await api.get(SLICE, "default", "kubernetes")
    assert isinstance(kubernetes_slice, discovery_pb2.EndpointSlice)
    assert kubernetes_slice.endpoints[0].addresses == ["127.0.0.1"]


async def test_a_service_name_answers_its_cluster_ip_over_udp_and_tcp_with_the_ttl(api: ApiClient,
                                                                                    dns: DaemonProcess) -> None:
    made = await create(api, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                              "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}})
    ip = made.spec.cluster_ip if made else (await api.get(SERVICE, "default", "web")).spec.cluster_ip  # type: ignore
    await answers(dns, "web.default.svc.cluster.local", [f"web.default.svc.cluster.local. 30 IN A {ip}"])
    over_tcp = await ask(dns, "web.default.svc.cluster.local", tcp=True)
    assert records(over_tcp) == [f"web.default.svc.cluster.local. 30 IN A {ip}"] and over_tcp.header.aa
    srv = await ask(dns, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert records(srv) == ["_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 100 80 "
                            "web.default.svc.cluster.local."]


async def test_unknown_names_in_the_cluster_domain_are_nxdomain_with_the_zones_soa(dns: DaemonProcess) -> None:
    reply = await ask(dns, "nosuch.default.svc.cluster.local")
    assert reply.header.rcode == RCODE.NXDOMAIN and not reply.rr
    assert [QTYPE.get(r.rtype) for r in reply.auth] == ["SOA"] and reply.auth[0].ttl == 30


async def test_headless_services_answer_ready_pods_and_statefulset_pod_names(api: ApiClient,
                                                                            dns: DaemonProcess) -> None:
    await create(api, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nginx"},
                       "spec": {"selector": {"app": "nginx"}, "clusterIP": "None",
                                "ports": [{"name": "web", "port": 80}]}})
    for n, ip in enumerate(("10.244.1.10", "10.244.1.11", "10.244.1.12")):
        await pod(api, f"nginx-{n}", ip, app="nginx", ready=n != 2, hostname=f"nginx-{n}", subdomain="nginx")
    await answers(dns, "nginx.default.svc.cluster.local", ["nginx.default.svc.cluster.local. 30 IN A 10.244.1.10",
                                                           "nginx.default.svc.cluster.local. 30 IN A 10.244.1.11"])
    await answers(dns, "nginx-1.nginx.default.svc.cluster.local",
                  ["nginx-1.nginx.default.svc.cluster.local. 30 IN A 10.244.1.11"])
    srv = await ask(dns, "_web._tcp.nginx.default.svc.cluster.local", "SRV")
    assert [str(r.rdata.target) for r in srv.rr] == ["nginx-0.nginx.default.svc.cluster.local.",
                                                     "nginx-1.nginx.default.svc.cluster.local."]
    assert sorted(str(r.rdata) for r in srv.ar) == ["10.244.1.10", "10.244.1.11"]
    await set_ready(api, "nginx-2", True)
    await answers(dns, "nginx.default.svc.cluster.local", [f"nginx.default.svc.cluster.local. 30 IN A 10.244.1.1{n}"
                                                           for n in range(3)])


async def test_publish_not_ready_addresses_puts_unready_pods_in_the_answer(api: ApiClient, dns: DaemonProcess) -> None:
    await create(api, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "peers"},
                       "spec": {"selector": {"app": "peers"}, "clusterIP": "None",
                                "publishNotReadyAddresses": True, "ports": [{"port": 7000}]}})
    await pod(api, "peer-0", "10.244.1.20", app="peers", ready=False)
    await answers(dns, "peers.default.svc.cluster.local", ["peers.default.svc.cluster.local. 30 IN A 10.244.1.20"])


async def test_external_name_services_answer_a_cname(api: ApiClient, dns: DaemonProcess) -> None:
    await create(api, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "search"},
                       "spec": {"type": "ExternalName", "externalName": "www.example.org"}})
    await answers(dns, "search.default.svc.cluster.local",
                  ["search.default.svc.cluster.local. 30 IN CNAME www.example.org."], "CNAME")


async def test_pod_names_answer_the_address_they_spell(dns: DaemonProcess) -> None:
    assert records(await ask(dns, "10-244-1-5.default.pod.cluster.local")) == [
        "10-244-1-5.default.pod.cluster.local. 30 IN A 10.244.1.5"]
    assert (await ask(dns, "10-244-1-5.nosuchns.pod.cluster.local")).header.rcode == RCODE.NXDOMAIN


async def test_names_outside_the_cluster_are_answered_by_the_upstream(api: ApiClient, dns: DaemonProcess,
                                                                     upstream: DaemonProcess) -> None:
    made = await create(api, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "far"},
                              "spec": {"selector": {"app": "far"}, "ports": [{"port": 80}]}})
    ip = made.spec.cluster_ip if made else (await api.get(SERVICE, "default", "far")).spec.cluster_ip  # type: ignore
    for tcp in (False, True):
        reply = await ask(dns, "far.default.svc.example.test", tcp=tcp)
        assert records(reply) == [f"far.default.svc.example.test. 30 IN A {ip}"], f"tcp={tcp}"
    assert (await ask(dns, "nosuch.default.svc.example.test")).header.rcode == RCODE.NXDOMAIN


async def test_without_an_upstream_outside_names_fail_at_once_and_a_silent_one_after_its_timeout(
        cluster: Cluster, dns: DaemonProcess) -> None:
    lonely = cluster.dns("lonely", "--resolv-conf", "", "--register-service", "")
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    refused = cluster.dns("refused", "--upstream", f"127.0.0.1:{refused_port}", "--register-service", "")
    silent_socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent_socket.bind(("127.0.0.1", 0))
    try:
        silent = cluster.dns("silent", "--upstream", f"127.0.0.1:{silent_socket.getsockname()[1]}",
                             "--upstream-timeout", "0.5", "--register-service", "")
        for server, at_least, at_most in ((lonely, 0.0, 0.3), (refused, 0.0, 0.3), (silent, 0.5, 3.0)):
            started = time.monotonic()
            reply = await ask(server, "example.com")
            took = time.monotonic() - started
            assert reply.header.rcode == RCODE.SERVFAIL, server.args
            assert at_least <= took <= at_most, f"{server.args}: SERVFAIL after {took:.3f}s"
    finally:
        silent_socket.close()


async def registered(api: ApiClient, node: str, port: int) -> bool:
    """Whether the instance on `node` serving `port` has its kube-dns slice."""
    try:
        eps = await api.get(SLICE, "kube-system", f"kube-dns-{node}")
    except ApiError:
        return False
    assert isinstance(eps, discovery_pb2.EndpointSlice)
    assert eps.metadata.labels["kubernetes.io/service-name"] == "kube-dns"
    endpoints = [(e.addresses[0], e.node_name, e.conditions.ready) for e in eps.endpoints]
    ports = sorted((p.name, p.port, p.protocol) for p in eps.ports)
    return endpoints == [("127.0.0.1", node, True)] and ports == [("dns", port, "UDP"), ("dns-tcp", port, "TCP")]


async def kube_dns_endpoint_ports(api: ApiClient) -> list[int]:
    endpoints = await api.get(ENDPOINTS, "kube-system", "kube-dns")
    assert isinstance(endpoints, core_pb2.Endpoints)
    assert endpoints.metadata.labels["endpointslice.kubernetes.io/skip-mirror"] == "true"
    return sorted(s.ports[0].port for s in endpoints.subsets for _ in s.addresses)


async def test_each_instance_registers_as_a_kube_dns_endpoint_and_leaves_on_sigterm(
        api: ApiClient, cluster: Cluster, dns: DaemonProcess) -> None:
    first = int(dns.ready["port"])
    await eventually(lambda: registered(api, "node-a", first), timeout=10, what="node-a's kube-dns slice")
    other = cluster.dns("node-b", "--register-interval", "0.5")
    second = int(other.ready["port"])
    await eventually(lambda: registered(api, "node-b", second), timeout=10, what="node-b's kube-dns slice")

    async def both_listed() -> bool:
        return await kube_dns_endpoint_ports(api) == sorted([first, second])

    await eventually(both_listed, timeout=10, what="both instances in the kube-dns Endpoints")
    await api.delete(SLICE, "kube-system", "kube-dns-node-b")
    await eventually(lambda: registered(api, "node-b", second), timeout=10, what="a removed registration to return")

    assert other.stop() == 0
    assert not await registered(api, "node-b", second)
    assert await kube_dns_endpoint_ports(api) == [first]
    assert await registered(api, "node-a", first)


@pytest.mark.skipif(shutil.which("dig") is None, reason="dig is not installed")
def test_dig_gets_the_same_answers_over_udp_and_tcp(dns: DaemonProcess) -> None:
    port = str(dns.ready["port"])
    for transport in ("+notcp", "+tcp"):
        result = subprocess.run(["dig", "@127.0.0.1", "-p", port, transport, "+short", "+tries=1", "+time=5",
                                 "kube-dns.kube-system.svc.cluster.local"], capture_output=True, text=True,
                                timeout=20)
        assert result.stdout.split() == ["10.96.0.10"], result
    srv = subprocess.run(["dig", "@127.0.0.1", "-p", port, "+short", "SRV",
                          "_dns._udp.kube-dns.kube-system.svc.cluster.local"], capture_output=True, text=True,
                         timeout=20)
    assert srv.stdout.split() == ["0", "100", "53", "kube-dns.kube-system.svc.cluster.local."], srv


async def test_answers_come_from_the_watch_cache_even_with_the_api_server_gone(tmp_path: Path) -> None:
    own = Cluster(tmp_path, apiserver(tmp_path))
    try:
        own.apiserver.start()
        server = own.dns("alone", "--resolv-conf", "", "--register-service", "")
        client = own.apiserver.client()
        try:
            await client.create(codec.decode_object({"apiVersion": "v1", "kind": "Service",
                                                     "metadata": {"name": "cached", "namespace": "default"},
                                                     "spec": {"clusterIP": "10.96.7.7", "ports": [{"port": 80}]}}))
        finally:
            await client.close()
        expected = ["cached.default.svc.cluster.local. 30 IN A 10.96.7.7"]
        await answers(server, "cached.default.svc.cluster.local", expected)
        own.apiserver.kill()
        for tcp in (False, True):
            assert records(await ask(server, "cached.default.svc.cluster.local", tcp=tcp)) == expected
    finally:
        own.close()


async def test_busybox_128s_nslookup_uses_the_search_path_for_dotted_names_and_prints_as_tutorials_show(
        api: ApiClient, dns: DaemonProcess) -> None:
    made = await create(api, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                              "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}})
    ip = made.spec.cluster_ip if made else (await api.get(SERVICE, "default", "web")).spec.cluster_ip  # type: ignore
    await answers(dns, "web.default.svc.cluster.local", [f"web.default.svc.cluster.local. 30 IN A {ip}"])
    resolv_conf = "search default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
    port = int(dns.ready["port"])
    for name in ("web", "web.default", "web.default.svc", "web.default.svc.cluster.local"):
        status, out, err = await asyncio.to_thread(nslookup128.lookup, [name, "127.0.0.1"], resolv_conf, "", port)
        assert (status, err) == (0, ""), f"nslookup {name}: {err}"
        assert out.splitlines()[-2:] == [f"Name:      {name}", f"Address 1: {ip} web.default.svc.cluster.local"]
        assert out.startswith("Server:    127.0.0.1\nAddress 1: 127.0.0.1")
    status, out, err = await asyncio.to_thread(nslookup128.lookup, ["nosuch", "127.0.0.1"], resolv_conf, "", port)
    assert (status, err) == (1, "nslookup: can't resolve 'nosuch'\n")
