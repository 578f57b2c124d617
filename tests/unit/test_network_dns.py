"""A pod's /etc/resolv.conf for each dnsPolicy, with dnsConfig merged and limits applied as the kubelet does."""

from __future__ import annotations

import pytest

from agent.network.dns import DnsSettings, ResolvConf, parse_resolv_conf, pod_resolv_conf, resolv_conf_text

NODE = ResolvConf(nameservers=("192.168.56.1", "8.8.8.8"), searches=("corp.example",), options=("timeout:2",))


def text(dns: DnsSettings, host: ResolvConf | None = NODE, cluster_dns: str = "10.96.0.10",
         cluster_domain: str = "cluster.local") -> str:
    return resolv_conf_text(dns, cluster_dns=cluster_dns, cluster_domain=cluster_domain, host=host)


@pytest.mark.parametrize(("dns", "expected"), [
    (DnsSettings(namespace="default"),
     "search default.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
     "nameserver 10.96.0.10\n"
     "options ndots:5\n"),
    (DnsSettings(policy="ClusterFirst", namespace="shop", host_network=True),  # falls back to Default
     "search corp.example\nnameserver 192.168.56.1\nnameserver 8.8.8.8\noptions timeout:2\n"),
    (DnsSettings(policy="ClusterFirstWithHostNet", namespace="shop", host_network=True),
     "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
     "nameserver 10.96.0.10\noptions ndots:5\n"),
    (DnsSettings(policy="Default", namespace="shop"),
     "search corp.example\nnameserver 192.168.56.1\nnameserver 8.8.8.8\noptions timeout:2\n"),
    (DnsSettings(policy="None", namespace="shop", nameservers=("1.2.3.4",), searches=("ns1.svc.cluster-domain.example",
                                                                                     "my.dns.search.suffix"),
                 options=(("ndots", "2"), ("edns0", None))),
     "search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2 edns0\n"),
    (DnsSettings(policy="None", namespace="shop"), ""),
    (DnsSettings(namespace="shop", nameservers=("10.96.0.10", "1.1.1.1"), searches=("cluster.local", "extra.example"),
                 options=(("ndots", "1"), ("single-request", None))),
     "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example extra.example\n"
     "nameserver 10.96.0.10\nnameserver 1.1.1.1\noptions ndots:1 single-request\n"),
    (DnsSettings(policy="Default", options=(("timeout", "5"), ("attempts", "3"))),
     "search corp.example\nnameserver 192.168.56.1\nnameserver 8.8.8.8\noptions timeout:5 attempts:3\n"),
    (DnsSettings(policy="Bogus", namespace="x"),  # the kubelet logs it and uses ClusterFirst
     "search x.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
     "nameserver 10.96.0.10\noptions ndots:5\n"),
])
def test_policies_and_dns_config(dns: DnsSettings, expected: str) -> None:
    assert text(dns) == expected


def test_cluster_first_without_a_cluster_dns_falls_back_to_default_with_a_warning() -> None:
    result = pod_resolv_conf(DnsSettings(namespace="x"), cluster_dns="", cluster_domain="cluster.local", host=NODE)
    assert result.conf == NODE
    assert "cannot create Pod using \"ClusterFirst\" policy" in result.warnings[0]


def test_no_node_resolver_file_means_the_local_machine() -> None:
    assert text(DnsSettings(policy="Default"), host=None) == "search .\nnameserver 127.0.0.1\n"
    assert text(DnsSettings(namespace="a"), host=None) == (
        "search a.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")


def test_limits_keep_three_nameservers_and_the_search_line_short() -> None:
    many = DnsSettings(policy="None", nameservers=("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"),
                       searches=("s0.example", "x" * 254, *(f"s{n}.example" for n in range(1, 40))))
    result = pod_resolv_conf(many, cluster_dns="10.96.0.10", cluster_domain="cluster.local", host=NODE)
    assert result.conf.nameservers == ("1.1.1.1", "2.2.2.2", "3.3.3.3")
    # cut to 32 first, then the name longer than 253 characters dropped: 31 remain
    assert result.conf.searches == tuple(f"s{n}.example" for n in range(31))
    assert result.warnings == (
        "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: "
        "1.1.1.1 2.2.2.2 3.3.3.3",
        "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: "
        + " ".join(f"s{n}.example" for n in range(31)),
    )
    long = DnsSettings(policy="None", searches=tuple(f"{n:02d}" + "a" * 250 for n in range(10)))
    kept = pod_resolv_conf(long, cluster_dns="", cluster_domain="", host=None).conf.searches
    assert len(kept) == 8 and len(" ".join(kept)) == 2023  # a ninth would make 2276 characters


@pytest.mark.parametrize(("file", "expected"), [
    ("nameserver 10.255.255.53\n", ResolvConf(("10.255.255.53",))),
    ("# comment\n; other\ndomain x\nsearch a.example. b.example .\nsearch c.example\nnameserver 1.1.1.1\n"
     "nameserver 2.2.2.2\noptions ndots:2 timeout:1\noptions ndots:3 rotate\n",
     ResolvConf(("1.1.1.1", "2.2.2.2"), ("c.example",), ("ndots:3", "timeout:1", "rotate"))),
    ("search a.example. b.example .\nnameserver\n", ResolvConf((), ("a.example", "b.example"))),
    ("", ResolvConf()),
])
def test_parse_the_node_resolver_file(file: str, expected: ResolvConf) -> None:
    assert parse_resolv_conf(file) == expected
