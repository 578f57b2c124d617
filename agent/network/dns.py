"""A pod's /etc/resolv.conf from its dnsPolicy and dnsConfig, as the kubelet forms it (pure).

- ClusterFirst: the cluster DNS service is the only nameserver; search `<ns>.svc.<domain>
  svc.<domain> <domain>` then the node's own search domains; `options ndots:5`. A hostNetwork
  pod with ClusterFirst falls back to Default; ClusterFirstWithHostNet keeps the cluster's.
- Default: the node's resolver file (nameservers, search, options).
- None: nothing but the pod's dnsConfig.
Then dnsConfig is merged: nameservers and searches appended without duplicates, options by name
(the pod's value wins). Last, the resolver's limits: 3 nameservers, 32 search domains of at most
253 characters and 2048 in all; what is cut is reported as Kubernetes' DNSConfigForming warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

CLUSTER_FIRST = "ClusterFirst"
CLUSTER_FIRST_WITH_HOST_NET = "ClusterFirstWithHostNet"
DEFAULT = "Default"
NONE = "None"
POLICIES = (CLUSTER_FIRST, CLUSTER_FIRST_WITH_HOST_NET, DEFAULT, NONE)

DEFAULT_OPTIONS = ("ndots:5",)
MAX_NAMESERVERS = 3
MAX_SEARCH_PATHS = 32
MAX_SEARCH_PATH_CHARS = 253
MAX_SEARCH_LIST_CHARS = 2048


@dataclass(frozen=True)
class DnsSettings:
    """What the pod asks for: spec.dnsPolicy and spec.dnsConfig (plus the two facts they depend on)."""

    policy: str = CLUSTER_FIRST
    # The pod's namespace (its first search domain); create_sandbox fills it in when empty.
    namespace: str = ""
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    # dnsConfig.options as (name, value); value None for a bare option such as `single-request`.
    options: tuple[tuple[str, str | None], ...] = ()
    # spec.hostNetwork: ClusterFirst then means Default.
    host_network: bool = False


@dataclass(frozen=True)
class ResolvConf:
    """The three kinds of line of a resolver file that matter here."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()  # "name" or "name:value"


@dataclass(frozen=True)
class PodResolvConf:
    conf: ResolvConf
    # Kubernetes' DNSConfigForming / MissingClusterDNS warnings, for the pod's events.
    warnings: tuple[str, ...] = field(default=())


def parse_resolv_conf(text: str) -> ResolvConf:
    """Read a resolver file as the kubelet does: every nameserver, the last search line (a trailing
    dot dropped, "." skipped), options merged by name."""
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        if line.startswith(("#", ";")):
            continue
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            nameservers.append(fields[1])
        elif fields[0] == "search":
            searches = [name.removesuffix(".") for name in fields[1:] if name != "."]
        elif fields[0] == "options":
            options = _merge_options(options, [_split_option(option) for option in fields[1:]])
    return ResolvConf(tuple(nameservers), tuple(searches), tuple(options))


def pod_resolv_conf(dns: DnsSettings, *, cluster_dns: str, cluster_domain: str,
                    host: ResolvConf | None) -> PodResolvConf:
    """The pod's resolver settings. `host` is the node's parsed resolver file (None: no file)."""
    warnings: list[str] = []
    policy = dns.policy
    if policy not in POLICIES:
        warnings.append(f"invalid DNSPolicy={policy}: using {CLUSTER_FIRST}")
        policy = CLUSTER_FIRST
    if policy == CLUSTER_FIRST and dns.host_network:
        policy = DEFAULT
    if policy in (CLUSTER_FIRST, CLUSTER_FIRST_WITH_HOST_NET) and not cluster_dns:
        warnings.append(f'kubelet does not have ClusterDNS IP configured and cannot create Pod using "{policy}" '
                        f'policy. Falling back to "{DEFAULT}" policy.')
        policy = DEFAULT
    node = host if host is not None else ResolvConf()

    if policy == NONE:
        base = ResolvConf()
    elif policy == DEFAULT:
        # kubelet --resolv-conf="": no file, so lookups go to the local machine.
        base = node if host is not None else ResolvConf(("127.0.0.1",), (".",), ())
    else:
        cluster_search: tuple[str, ...] = ()
        if cluster_domain:
            cluster_search = (f"{dns.namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain)
        base = ResolvConf((cluster_dns,), _unique((*cluster_search, *node.searches)), DEFAULT_OPTIONS)

    nameservers = _unique((*base.nameservers, *dns.nameservers))
    searches = _unique((*base.searches, *dns.searches))
    options = _merge_options(list(base.options), dns.options)

    if len(nameservers) > MAX_NAMESERVERS:
        nameservers = nameservers[:MAX_NAMESERVERS]
        warnings.append("Nameserver limits were exceeded, some nameservers have been omitted, "
                        f"the applied nameserver line is: {' '.join(nameservers)}")
    searches, cut = _fit_search(searches)
    if cut:
        warnings.append("Search Line limits were exceeded, some search paths have been omitted, "
                        f"the applied search line is: {' '.join(searches)}")
    return PodResolvConf(ResolvConf(nameservers, searches, tuple(options)), tuple(warnings))


def render_resolv_conf(conf: ResolvConf) -> str:
    """The file as containerd writes it: search, then nameservers, then options."""
    lines: list[str] = []
    if conf.searches:
        lines.append("search " + " ".join(conf.searches))
    lines.extend(f"nameserver {server}" for server in conf.nameservers)
    if conf.options:
        lines.append("options " + " ".join(conf.options))
    return "".join(line + "\n" for line in lines)


def resolv_conf_text(dns: DnsSettings, *, cluster_dns: str, cluster_domain: str, host: ResolvConf | None) -> str:
    """The pod's /etc/resolv.conf."""
    return render_resolv_conf(pod_resolv_conf(dns, cluster_dns=cluster_dns, cluster_domain=cluster_domain,
                                              host=host).conf)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _split_option(option: str) -> tuple[str, str | None]:
    name, colon, value = option.partition(":")
    return name, value if colon else None


def _merge_options(existing: Sequence[str], updates: Iterable[tuple[str, str | None]]) -> list[str]:
    """Options by name, in first-seen order; a later value replaces an earlier one."""
    merged: dict[str, str | None] = dict(_split_option(option) for option in existing)
    for name, value in updates:
        merged[name] = value
    return [name if not value else f"{name}:{value}" for name, value in merged.items()]


def _fit_search(searches: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    cut = False
    if len(searches) > MAX_SEARCH_PATHS:
        searches, cut = searches[:MAX_SEARCH_PATHS], True
    kept = tuple(name for name in searches if len(name) <= MAX_SEARCH_PATH_CHARS)
    cut = cut or len(kept) != len(searches)
    while kept and len(" ".join(kept)) > MAX_SEARCH_LIST_CHARS:
        kept, cut = kept[:-1], True
    return kept, cut
