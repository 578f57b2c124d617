"""The DNS answer builder, by tables: every name form of the cluster domain, and what is not ours."""

from __future__ import annotations

from typing import Any

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from controlplane.api import codec
from controlplane.dns import wire
from controlplane.dns.answer import Settings, answer
from controlplane.dns.records import ClusterRecords, service_info, slice_endpoints

SETTINGS = Settings(domain="cluster.local", ttl=30)


def _service(name: str, namespace: str = "shop", **spec: Any) -> Any:
    return codec.decode_object({"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": name, "namespace": namespace}, "spec": spec})


def _slice(name: str, service: str, endpoints: list[dict[str, Any]], ports: list[dict[str, Any]],
           namespace: str = "shop") -> Any:
    return codec.decode_object({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                                "metadata": {"name": name, "namespace": namespace,
                                             "labels": {"kubernetes.io/service-name": service}},
                                "addressType": "IPv4", "endpoints": endpoints, "ports": ports})


def _ready(ip: str, hostname: str = "", ready: bool = True) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"addresses": [ip], "conditions": {"ready": ready}}
    if hostname:
        endpoint["hostname"] = hostname
    return endpoint


def cluster() -> ClusterRecords:
    records = ClusterRecords()
    records.namespaces |= {"shop", "default", "kube-system"}
    records.serial = 1700000000
    for service in (
        _service("web", clusterIP="10.96.0.20", ports=[{"name": "http", "port": 80, "protocol": "TCP"},
                                                      {"name": "metrics", "port": 9100, "protocol": "TCP"}]),
        _service("nginx", clusterIP="None", ports=[{"name": "web", "port": 80, "protocol": "TCP"}]),
        _service("empty", clusterIP="None", ports=[{"name": "web", "port": 80, "protocol": "TCP"}]),
        _service("raw", clusterIP="None"),
        _service("ext", type="ExternalName", externalName="db.example.com"),
        _service("inner", type="ExternalName", externalName="web.shop.svc.cluster.local"),
        _service("kube-dns", "kube-system", clusterIP="10.96.0.10",
                 ports=[{"name": "dns", "port": 53, "protocol": "UDP"}]),
    ):
        records.put_service(service_info(service))
    for eps in (
        _slice("nginx-a", "nginx", [_ready("10.244.1.5", "nginx-0"), _ready("10.244.2.6", "nginx-1"),
                                    _ready("10.244.2.7", "nginx-2", ready=False)],
               [{"name": "web", "port": 80, "protocol": "TCP"}]),
        _slice("empty-a", "empty", [_ready("10.244.1.9", ready=False)], [{"name": "web", "port": 80}]),
        _slice("raw-a", "raw", [_ready("10.244.1.8")], []),
        _slice("web-a", "web", [_ready("10.244.1.3")], [{"name": "http", "port": 3000}]),
    ):
        service, endpoints = slice_endpoints(eps)
        records.put_slice(eps.metadata.namespace, eps.metadata.name, service, endpoints)
    return records


def lines(name: str, qtype: str) -> tuple[str, list[str], list[str], list[str]]:
    found = answer(name, getattr(QTYPE, qtype), cluster(), SETTINGS)
    assert not found.forward

    def show(records: list[Any]) -> list[str]:
        return [" ".join(str(record).split()) for record in records]

    return RCODE.get(found.rcode), show(found.answers), show(found.authority), show(found.additional)


SOA = ("cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1700000000 7200 1800 86400 30")


@pytest.mark.parametrize(("name", "qtype", "rcode", "answers"), [
    ("web.shop.svc.cluster.local.", "A", "NOERROR", ["web.shop.svc.cluster.local. 30 IN A 10.96.0.20"]),
    ("WEB.Shop.svc.cluster.local.", "A", "NOERROR", ["WEB.Shop.svc.cluster.local. 30 IN A 10.96.0.20"]),
    ("nginx.shop.svc.cluster.local.", "A", "NOERROR", ["nginx.shop.svc.cluster.local. 30 IN A 10.244.1.5",
                                                       "nginx.shop.svc.cluster.local. 30 IN A 10.244.2.6"]),
    ("raw.shop.svc.cluster.local.", "A", "NOERROR", ["raw.shop.svc.cluster.local. 30 IN A 10.244.1.8"]),
    ("nginx-1.nginx.shop.svc.cluster.local.", "A", "NOERROR",
     ["nginx-1.nginx.shop.svc.cluster.local. 30 IN A 10.244.2.6"]),
    ("10-244-1-3.web.shop.svc.cluster.local.", "A", "NOERROR",
     ["10-244-1-3.web.shop.svc.cluster.local. 30 IN A 10.244.1.3"]),
    ("10-244-1-5.shop.pod.cluster.local.", "A", "NOERROR", ["10-244-1-5.shop.pod.cluster.local. 30 IN A 10.244.1.5"]),
    ("_http._tcp.web.shop.svc.cluster.local.", "A", "NOERROR",
     ["_http._tcp.web.shop.svc.cluster.local. 30 IN A 10.96.0.20"]),
    ("ext.shop.svc.cluster.local.", "CNAME", "NOERROR", ["ext.shop.svc.cluster.local. 30 IN CNAME db.example.com."]),
    ("ext.shop.svc.cluster.local.", "A", "NOERROR", ["ext.shop.svc.cluster.local. 30 IN CNAME db.example.com."]),
    ("inner.shop.svc.cluster.local.", "A", "NOERROR",
     ["inner.shop.svc.cluster.local. 30 IN CNAME web.shop.svc.cluster.local.",
      "web.shop.svc.cluster.local. 30 IN A 10.96.0.20"]),
    ("dns-version.cluster.local.", "TXT", "NOERROR", ['dns-version.cluster.local. 30 IN TXT "1.1.0"']),
    ("cluster.local.", "SOA", "NOERROR", [SOA]),
    ("cluster.local.", "NS", "NOERROR", ["cluster.local. 30 IN NS ns.dns.cluster.local."]),
    ("20.0.96.10.in-addr.arpa.", "PTR", "NOERROR", ["20.0.96.10.in-addr.arpa. 30 IN PTR web.shop.svc.cluster.local."]),
    ("6.2.244.10.in-addr.arpa.", "PTR", "NOERROR",
     ["6.2.244.10.in-addr.arpa. 30 IN PTR nginx-1.nginx.shop.svc.cluster.local."]),
])
def test_names_with_records(name: str, qtype: str, rcode: str, answers: list[str]) -> None:
    found_rcode, found, authority, _ = lines(name, qtype)
    assert (found_rcode, found, authority) == (rcode, answers, [])


@pytest.mark.parametrize(("name", "qtype", "rcode"), [
    ("nosuch.shop.svc.cluster.local.", "A", "NXDOMAIN"),
    ("web.nosuchns.svc.cluster.local.", "A", "NXDOMAIN"),
    ("web.shop.svc.cluster.local.shop.svc.cluster.local.", "A", "NXDOMAIN"),  # a search-path try
    ("web.shop.cluster.local.", "A", "NXDOMAIN"),
    ("empty.shop.svc.cluster.local.", "A", "NXDOMAIN"),  # headless, no ready endpoint
    ("nginx-2.nginx.shop.svc.cluster.local.", "A", "NXDOMAIN"),  # not ready
    ("_grpc._tcp.web.shop.svc.cluster.local.", "SRV", "NXDOMAIN"),
    ("_http._udp.web.shop.svc.cluster.local.", "SRV", "NXDOMAIN"),
    ("x.ext.shop.svc.cluster.local.", "A", "NXDOMAIN"),
    ("1-2-3.shop.pod.cluster.local.", "A", "NXDOMAIN"),
    ("10-244-1-5.nosuchns.pod.cluster.local.", "A", "NXDOMAIN"),
    ("a.b.c.d.e.web.shop.svc.cluster.local.", "A", "NXDOMAIN"),
    ("web.shop.svc.cluster.local.", "AAAA", "NOERROR"),
    ("web.shop.svc.cluster.local.", "TXT", "NOERROR"),
    ("shop.svc.cluster.local.", "A", "NOERROR"),
    ("svc.cluster.local.", "A", "NOERROR"),
    ("cluster.local.", "A", "NOERROR"),
    ("shop.pod.cluster.local.", "A", "NOERROR"),
    ("10-244-1-5.shop.pod.cluster.local.", "AAAA", "NOERROR"),
])
def test_names_without_records_carry_the_soa(name: str, qtype: str, rcode: str) -> None:
    assert lines(name, qtype) == (rcode, [], [SOA], [])


@pytest.mark.parametrize(("name", "answers", "additional"), [
    ("_http._tcp.web.shop.svc.cluster.local.",
     ["_http._tcp.web.shop.svc.cluster.local. 30 IN SRV 0 100 80 web.shop.svc.cluster.local."],
     ["web.shop.svc.cluster.local. 30 IN A 10.96.0.20"]),
    ("web.shop.svc.cluster.local.",
     ["web.shop.svc.cluster.local. 30 IN SRV 0 50 80 web.shop.svc.cluster.local.",
      "web.shop.svc.cluster.local. 30 IN SRV 0 50 9100 web.shop.svc.cluster.local."],
     ["web.shop.svc.cluster.local. 30 IN A 10.96.0.20"]),
    ("_web._tcp.nginx.shop.svc.cluster.local.",
     ["_web._tcp.nginx.shop.svc.cluster.local. 30 IN SRV 0 50 80 nginx-0.nginx.shop.svc.cluster.local.",
      "_web._tcp.nginx.shop.svc.cluster.local. 30 IN SRV 0 50 80 nginx-1.nginx.shop.svc.cluster.local."],
     ["nginx-0.nginx.shop.svc.cluster.local. 30 IN A 10.244.1.5",
      "nginx-1.nginx.shop.svc.cluster.local. 30 IN A 10.244.2.6"]),
    ("_dns._udp.kube-dns.kube-system.svc.cluster.local.",
     ["_dns._udp.kube-dns.kube-system.svc.cluster.local. 30 IN SRV 0 100 53 kube-dns.kube-system.svc.cluster.local."],
     ["kube-dns.kube-system.svc.cluster.local. 30 IN A 10.96.0.10"]),
])
def test_srv_records_for_named_ports(name: str, answers: list[str], additional: list[str]) -> None:
    assert lines(name, "SRV") == ("NOERROR", answers, [], additional)


def test_a_cname_to_a_name_outside_the_cluster_is_chased_upstream() -> None:
    found = answer("ext.shop.svc.cluster.local.", QTYPE.A, cluster(), SETTINGS)
    assert found.chase == "db.example.com."
    assert answer("ext.shop.svc.cluster.local.", QTYPE.CNAME, cluster(), SETTINGS).chase == ""


@pytest.mark.parametrize(("name", "qtype"), [
    ("example.com.", "A"), ("kubernetes.io.", "AAAA"), ("1.1.168.192.in-addr.arpa.", "PTR"),
    ("cluster.local.example.com.", "A"),
])
def test_names_outside_the_cluster_are_forwarded(name: str, qtype: str) -> None:
    found = answer(name, getattr(QTYPE, qtype), cluster(), SETTINGS)
    assert found.forward and not found.answers


def test_the_ttl_and_the_domain_are_settings() -> None:
    found = answer("web.shop.svc.example.internal.", QTYPE.A, cluster(), Settings("example.internal", 5))
    assert [" ".join(str(r).split()) for r in found.answers] == ["web.shop.svc.example.internal. 5 IN A 10.96.0.20"]


def test_records_follow_services_and_slices_as_they_change() -> None:
    records = cluster()
    records.delete_slice("shop", "nginx-a")
    assert answer("nginx.shop.svc.cluster.local.", QTYPE.A, records, SETTINGS).rcode == RCODE.NXDOMAIN
    records.delete_service("shop", "web")
    assert answer("web.shop.svc.cluster.local.", QTYPE.A, records, SETTINGS).rcode == RCODE.NXDOMAIN
    assert answer("20.0.96.10.in-addr.arpa.", QTYPE.PTR, records, SETTINGS).forward


# ------------------------------------------------------------------------------------------ the wire


def ask(name: str, qtype: str = "A", edns: bool = False) -> DNSRecord:
    request = DNSRecord.question(name, qtype)
    if edns:
        from dnslib import EDNS0
        request.add_ar(EDNS0(udp_len=4096))
    return request


def test_a_query_is_answered_with_its_id_question_and_flags() -> None:
    request = ask("web.shop.svc.cluster.local")
    decision = wire.decide(request.pack(), cluster(), SETTINGS)
    assert decision.reply is not None and not decision.forward
    reply = DNSRecord.parse(wire.encode(decision.reply, wire.udp_limit(decision.request)))
    assert reply.header.id == request.header.id and reply.header.qr and reply.header.aa and reply.header.ra
    assert reply.header.rd == request.header.rd
    assert str(reply.q.qname) == "web.shop.svc.cluster.local." and str(reply.rr[0].rdata) == "10.96.0.20"


def test_outside_names_are_left_to_forward_and_servfail_says_they_failed() -> None:
    request = ask("example.com")
    decision = wire.decide(request.pack(), cluster(), SETTINGS)
    assert decision.forward and decision.reply is None
    failed = wire.servfail(request)
    assert failed.header.rcode == RCODE.SERVFAIL and failed.header.id == request.header.id


def test_a_reply_too_big_for_udp_is_truncated_and_whole_over_tcp() -> None:
    records = cluster()
    eps = _slice("big", "nginx", [_ready(f"10.244.3.{n}") for n in range(1, 60)], [{"name": "web", "port": 80}])
    records.put_slice("shop", "big", *slice_endpoints(eps))
    decision = wire.decide(ask("nginx.shop.svc.cluster.local").pack(), records, SETTINGS)
    assert decision.reply is not None
    over_udp = DNSRecord.parse(wire.encode(decision.reply, wire.udp_limit(decision.request)))
    assert over_udp.header.tc and not over_udp.rr and str(over_udp.q.qname) == "nginx.shop.svc.cluster.local."
    over_tcp = DNSRecord.parse(wire.encode(decision.reply))
    assert not over_tcp.header.tc and len(over_tcp.rr) == 61


def test_edns_clients_get_bigger_udp_replies_and_an_opt_record() -> None:
    decision = wire.decide(ask("nginx.shop.svc.cluster.local", edns=True).pack(), cluster(), SETTINGS)
    assert wire.udp_limit(decision.request) == 1232
    assert decision.reply is not None
    reply = DNSRecord.parse(wire.encode(decision.reply, 1232))
    assert [record.rtype for record in reply.ar] == [41]


@pytest.mark.parametrize(("data", "rcode"), [
    (b"\x12\x34\x01\x00\x00\x02" + b"\x00" * 6 + b"\x00\x00\x01\x00\x01" * 2, "FORMERR"),  # two questions
    (b"\x12\x34\x28\x00\x00\x01" + b"\x00" * 6 + b"\x00\x00\x01\x00\x01", "NOTIMP"),  # UPDATE opcode
    (b"\x12\x34\x01\x00\x00\x01" + b"\x00" * 6 + b"\x00\x00\x01\x00\x03", "REFUSED"),  # class CHAOS
    (b"\x12\x34\x01\x00\x00\x01" + b"\x00" * 6 + b"\x05ab", "FORMERR"),  # cut short
])
def test_malformed_or_unsupported_requests(data: bytes, rcode: str) -> None:
    decision = wire.decide(data, cluster(), SETTINGS)
    assert decision.reply is not None
    reply = DNSRecord.parse(wire.encode(decision.reply))
    assert (reply.header.id, RCODE.get(reply.header.rcode)) == (0x1234, rcode)


def test_responses_and_runts_are_not_answered() -> None:
    response = ask("web.shop.svc.cluster.local").reply().pack()
    assert wire.decide(response, cluster(), SETTINGS).reply is None
    assert wire.decide(b"\x00\x01", cluster(), SETTINGS).reply is None
