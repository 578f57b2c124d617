"""busybox 1.28's nslookup (agent/images/nslookup128.py): resolv.conf, the C library's search order,
/etc/hosts, the wire format, and the lines the tutorials show."""

from __future__ import annotations

import struct

import pytest

from agent.images.nslookup128 import (
    TYPE_A,
    TYPE_CNAME,
    TYPE_PTR,
    block,
    build_query,
    candidates,
    follow,
    hosts_addresses,
    hosts_name,
    lookup,
    parse_resolv_conf,
    parse_response,
    reverse_name,
)

POD_RESOLV_CONF = """nameserver 10.96.0.10
search default.svc.cluster.local svc.cluster.local cluster.local
options ndots:5
"""
SEARCH = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]


def test_a_pods_resolv_conf() -> None:
    assert parse_resolv_conf(POD_RESOLV_CONF) == (["10.96.0.10"], SEARCH, 5)
    assert parse_resolv_conf("# nothing\ndomain example.org\nsearch a b\noptions ndots:x\n") == ([], ["a", "b"], 1)


@pytest.mark.parametrize(("name", "ndots", "expected"), [
    ("web", 5, ["web.default.svc.cluster.local", "web.svc.cluster.local", "web.cluster.local", "web"]),
    ("web.default", 5, ["web.default.default.svc.cluster.local", "web.default.svc.cluster.local",
                        "web.default.cluster.local", "web.default"]),
    ("example.com", 1, ["example.com", "example.com.default.svc.cluster.local", "example.com.svc.cluster.local",
                        "example.com.cluster.local"]),
    ("web.default.svc.cluster.local.", 5, ["web.default.svc.cluster.local"]),
])
def test_names_are_tried_in_the_c_librarys_order(name: str, ndots: int, expected: list[str]) -> None:
    assert candidates(name, SEARCH, ndots) == expected


def test_etc_hosts_answers_first_both_ways() -> None:
    hosts = "127.0.0.1 localhost\n10.244.1.5 web-1  # the pod itself\n::1 localhost ip6-localhost\n"
    assert hosts_addresses(hosts, "WEB-1") == ["10.244.1.5"]
    assert hosts_addresses(hosts, "localhost") == ["127.0.0.1"]
    assert hosts_name(hosts, "10.244.1.5") == "web-1"
    assert hosts_name(hosts, "10.0.0.1") is None


def _reply(query: bytes, answers: list[tuple[bytes, int, bytes]], rcode: int = 0) -> bytes:
    query_id = struct.unpack("!H", query[:2])[0]
    header = struct.pack("!HHHHHH", query_id, 0x8180 | rcode, 1, len(answers), 0, 0)
    body = b"".join(owner + struct.pack("!HHIH", rtype, 1, 30, len(data)) + data for owner, rtype, data in answers)
    return header + query[12:] + body


def test_replies_are_read_through_compression_and_cnames() -> None:
    query = build_query(7, "search.default.svc.cluster.local", TYPE_A)
    question_name = b"\xc0\x0c"  # a pointer to the question's name
    target = b"\x07example\x03com\x00"
    reply = _reply(query, [(question_name, TYPE_CNAME, target), (target, TYPE_A, bytes([93, 184, 216, 34]))])
    rcode, records = parse_response(reply, 7)
    assert rcode == 0
    assert records == [("search.default.svc.cluster.local", TYPE_CNAME, "example.com"),
                       ("example.com", TYPE_A, "93.184.216.34")]
    assert follow(records, "search.default.svc.cluster.local", TYPE_A) == ["93.184.216.34"]
    assert follow(records, "other.local", TYPE_A) == []


def test_a_reply_to_another_question_is_refused() -> None:
    query = build_query(7, "web", TYPE_A)
    with pytest.raises(Exception, match="not our reply"):
        parse_response(_reply(query, []).replace(query[:2], b"\x00\x08", 1), 7)


def test_reverse_names() -> None:
    assert reverse_name("10.96.0.10") == "10.0.96.10.in-addr.arpa"
    assert TYPE_PTR == 12


def test_the_lines_tutorials_show() -> None:
    assert block("Server:", "10.96.0.10", [("10.96.0.10", "kube-dns.kube-system.svc.cluster.local")]) == (
        "Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n")
    assert block("Name:", "web", [("10.244.1.5", None), ("10.244.2.7", "b")]) == (
        "Name:      web\nAddress 1: 10.244.1.5\nAddress 2: 10.244.2.7 b\n")


def test_usage_errors_exit_1_with_busyboxs_usage() -> None:
    status, out, err = lookup([], POD_RESOLV_CONF, "")
    assert status == 1 and out == "" and err.startswith("BusyBox v1.28.4")
    assert lookup(["-type=A", "web"], POD_RESOLV_CONF, "")[0] == 1
