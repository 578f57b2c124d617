"""A pod's /etc/hosts and /etc/hostname read exactly as the kubelet writes them."""

from __future__ import annotations

import pytest

from agent.network.hosts import hostname_file_text, hosts_file_text, pod_domain, pod_hostname

BOILERPLATE = (
    "# Kubernetes-managed hosts file.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


@pytest.mark.parametrize(("ip", "hostname", "domain", "aliases", "tail"), [
    ("10.200.0.4", "nginx", "", (), "10.200.0.4\tnginx\n"),
    ("10.244.1.5", "web-0", "web.shop.svc.cluster.local", (),
     "10.244.1.5\tweb-0.web.shop.svc.cluster.local\tweb-0\n"),
    ("10.244.1.6", "hostaliases-pod", "", (("127.0.0.1", ("foo.local", "bar.local")),
                                           ("10.1.2.3", ("foo.remote", "bar.remote"))),
     "10.244.1.6\thostaliases-pod\n"
     "\n"
     "# Entries added by HostAliases.\n"
     "127.0.0.1\tfoo.local\tbar.local\n"
     "10.1.2.3\tfoo.remote\tbar.remote\n"),
])
def test_hosts_file(ip: str, hostname: str, domain: str, aliases: tuple[tuple[str, tuple[str, ...]], ...],
                    tail: str) -> None:
    assert hosts_file_text(ip, hostname, domain, aliases) == BOILERPLATE + tail


@pytest.mark.parametrize(("subdomain", "namespace", "domain", "expected"), [
    ("", "default", "cluster.local", ""),
    ("web", "shop", "cluster.local", "web.shop.svc.cluster.local"),
    ("db", "default", "corp.example", "db.default.svc.corp.example"),
])
def test_pod_domain(subdomain: str, namespace: str, domain: str, expected: str) -> None:
    assert pod_domain(subdomain, namespace, domain) == expected


@pytest.mark.parametrize(("pod_name", "hostname", "expected"), [
    ("nginx-7c5ddbdf54-2xkqv", "", "nginx-7c5ddbdf54-2xkqv"),
    ("web-0", "custom", "custom"),
    ("a" * 63, "", "a" * 63),
    ("a" * 62 + "-bcd", "", "a" * 62),  # cut to 63, the trailing '-' dropped
    ("a" * 61 + ".-b", "", "a" * 61),
    ("x", "b" * 62 + "-c", "b" * 62),  # the agent passes `spec.hostname or name`: cut the same way
])
def test_pod_hostname(pod_name: str, hostname: str, expected: str) -> None:
    assert pod_hostname(pod_name, hostname) == expected


def test_hostname_file() -> None:
    assert hostname_file_text("web-0") == "web-0\n"
