"""The DNS daemon's settings, its upstream list, and the registration of an instance behind kube-dns."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.api import codec
from controlplane.daemon import ConfigError
from controlplane.dns.config import from_args
from controlplane.dns.records import ClusterRecords, service_info
from controlplane.dns.registration import Instance, instance_slice, with_instance
from controlplane.dns.upstream import Forwarder, Upstream, nameservers, parse_upstream


def test_defaults_and_flags() -> None:
    config = from_args(["--node-ip", "10.240.0.11", "--resolv-conf", "", "--cluster-domain", "Cluster.Local."])
    assert (config.node_ip, config.port, config.ttl, config.resolv_conf) == ("10.240.0.11", 53, 30, None)
    assert config.cluster_domain == "cluster.local" and config.register_service == "kube-system/kube-dns"
    config = from_args(["--upstream", "1.1.1.1, 127.0.0.1:5353", "--register-service", ""])
    assert config.upstreams == (Upstream("1.1.1.1"), Upstream("127.0.0.1", 5353)) and config.register_service == ""
    assert from_args([]).resolv_conf == Path("/etc/resolv.conf")


@pytest.mark.parametrize(("argv", "message"), [
    (["--node-ip", "node"], "--node-ip 'node': not an IP address"),
    (["--port", "70000"], "--port 70000: must be between 0 and 65535"),
    (["--cluster-domain", "bad_domain"], "--cluster-domain 'bad_domain': "),
    (["--ttl", "-1"], "--ttl -1: must be between 0 and 3600"),
    (["--upstream", "1.1.1.1:99999"], "--upstream '1.1.1.1:99999': port 99999 out of range"),
    (["--register-service", "kube-dns"], "--register-service 'kube-dns': expected NAMESPACE/NAME"),
    (["--upstream-timeout", "0"], "--upstream-timeout must be more than 0"),
    (["--register-interval", "-1"], "--register-interval must be more than 0"),
])
def test_bad_settings_are_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        from_args(argv)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(("text", "upstream"), [
    ("8.8.8.8", Upstream("8.8.8.8")), ("127.0.0.1:5353", Upstream("127.0.0.1", 5353)),
    ("[fd00::1]:53", Upstream("fd00::1")), ("fd00::1", Upstream("fd00::1")),
])
def test_upstream_forms(text: str, upstream: Upstream) -> None:
    assert parse_upstream(text) == upstream


def test_nameservers_of_a_resolver_file_and_never_ourselves() -> None:
    text = "# comment\nsearch example.com\nnameserver 10.255.255.53\nnameserver fe80::1%eth0\nnameserver bogus\n"
    assert nameservers(text) == [Upstream("10.255.255.53"), Upstream("fe80::1")]
    forwarder = Forwarder([Upstream("10.0.0.1"), Upstream("10.240.0.11")], 1.0, own=[Upstream("10.240.0.11")])
    assert forwarder.upstreams == [Upstream("10.0.0.1")]


INSTANCE = Instance("kube-system", "kube-dns", "worker1", "10.240.0.11", 53)


def test_an_instances_slice() -> None:
    assert codec.encode(instance_slice(INSTANCE)) == {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kube-dns-worker1", "namespace": "kube-system",
                     "labels": {"kubernetes.io/service-name": "kube-dns",
                                "endpointslice.kubernetes.io/managed-by": "dns.kubelab.io"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.240.0.11"], "conditions": {"ready": True, "serving": True,
                                                                    "terminating": False}, "nodeName": "worker1"}],
        "ports": [{"name": "dns", "protocol": "UDP", "port": 53}, {"name": "dns-tcp", "protocol": "TCP", "port": 53}]}


def test_instances_share_the_endpoints_subset_of_their_port_and_leave_it() -> None:
    endpoints = codec.decode_object({"apiVersion": "v1", "kind": "Endpoints",
                                     "metadata": {"name": "kube-dns", "namespace": "kube-system"}})
    other = Instance("kube-system", "kube-dns", "master", "10.240.0.10", 53)
    with_instance(endpoints, INSTANCE, True)
    with_instance(endpoints, other, True)
    with_instance(endpoints, other, True)
    encoded = codec.encode(endpoints)
    assert encoded["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
    assert encoded["subsets"] == [{"addresses": [{"ip": "10.240.0.10", "nodeName": "master"},
                                                 {"ip": "10.240.0.11", "nodeName": "worker1"}],
                                   "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                             {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}]
    with_instance(endpoints, INSTANCE, False)
    with_instance(endpoints, other, False)
    assert not endpoints.subsets


def test_a_service_of_every_type_as_dns_sees_it() -> None:
    def info(spec: dict[str, object]) -> tuple[tuple[str, ...], bool, str]:
        made = service_info(codec.decode_object({"apiVersion": "v1", "kind": "Service",
                                                 "metadata": {"name": "s", "namespace": "n"}, "spec": spec}))
        return made.cluster_ips, made.headless, made.external_name

    assert info({"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"]}) == (("10.96.0.5",), False, "")
    assert info({"clusterIP": "None"}) == ((), True, "")
    assert info({"type": "ExternalName", "externalName": "x.example.com"}) == ((), False, "x.example.com")
    records = ClusterRecords()
    records.changed(100.0)
    records.changed(100.0)
    assert records.serial == 101, "the serial grows with every change, even within one second"
