"""A pod's /etc/hosts and /etc/hostname, as the kubelet writes them (pure text builders)."""

from __future__ import annotations

from collections.abc import Sequence

HOSTS_HEADER = "# Kubernetes-managed hosts file.\n"
_BOILERPLATE = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)
HOSTNAME_MAX = 63


def pod_hostname(pod_name: str, hostname: str = "") -> str:
    """spec.hostname if set, else the pod name; cut to 63 characters without a trailing '-' or '.'."""
    name = hostname or pod_name
    if len(name) <= HOSTNAME_MAX:
        return name
    return name[:HOSTNAME_MAX].rstrip("-.")


def pod_domain(subdomain: str, namespace: str, cluster_domain: str) -> str:
    """`<subdomain>.<namespace>.svc.<cluster domain>` for a pod with spec.subdomain, else ""."""
    return f"{subdomain}.{namespace}.svc.{cluster_domain}" if subdomain else ""


def hosts_file_text(ip: str, hostname: str, domain: str = "",
                    host_aliases: Sequence[tuple[str, Sequence[str]]] = ()) -> str:
    """The kubelet-managed hosts file: header, localhost lines, the pod's own line, hostAliases."""
    own = f"{ip}\t{hostname}.{domain}\t{hostname}\n" if domain else f"{ip}\t{hostname}\n"
    text = HOSTS_HEADER + _BOILERPLATE + own
    if host_aliases:
        text += "\n# Entries added by HostAliases.\n"
        # one line per alias entry, its hostnames tab-separated, as the kubelet writes them
        text += "".join("\t".join((alias_ip, *names)) + "\n" for alias_ip, names in host_aliases)
    return text


def hostname_file_text(hostname: str) -> str:
    return hostname + "\n"
