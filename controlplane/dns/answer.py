"""The answer to one DNS question about the cluster (pure): the name's records from ClusterRecords,
the way CoreDNS's `kubernetes` plugin answers in a kubeadm cluster (`pods insecure`, ttl 30).

Under the cluster domain (cluster.local):
- `svc.ns.svc.cluster.local`: A for a ClusterIP Service's cluster IP; for a headless Service, one A
  per ready endpoint (not-ready ones are listed as ready when publishNotReadyAddresses is set);
  a CNAME to its target for an ExternalName Service.
- `_port._proto.svc.ns.svc.cluster.local`: SRV for a named port (bare `svc.ns.svc...` SRV: every
  port), targets `svc.ns.svc...` or, for a headless Service, `endpoint.svc.ns.svc...`, with their A
  records as additional answers.
- `endpoint.svc.ns.svc.cluster.local`: the endpoint whose hostname (StatefulSet pods) or dashed
  address (10-244-1-5) is `endpoint`.
- `1-2-3-4.ns.pod.cluster.local`: A 1.2.3.4, for an existing namespace.
- anything else there: NXDOMAIN; a name that exists without records of the asked type: NODATA.
  Both carry the zone's SOA, whose minimum TTL bounds how long resolvers remember the absence.
Reverse lookups (PTR) of cluster IPs and ready endpoints are answered too. Every other name is
not ours: the answer says to forward it upstream.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from dnslib import AAAA, CNAME, NS, PTR, QTYPE, RCODE, RR, SOA, SRV, TXT, A

from controlplane.dns.records import ClusterRecords, EndpointInfo, ServiceInfo

DNS_SCHEMA_VERSION = "1.1.0"  # what `dns-version.<domain>` TXT answers, as kube-dns and CoreDNS do
DNS_SERVICE = ("kube-system", "kube-dns")
_WILDCARDS = ("*", "any")
_MAX_CHASE = 8


@dataclass(frozen=True)
class Settings:
    domain: str = "cluster.local"
    ttl: int = 30


@dataclass
class Answer:
    rcode: int = RCODE.NOERROR
    answers: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    authoritative: bool = True
    # Not a cluster name: ask the upstream resolvers.
    forward: bool = False
    # A CNAME target outside the cluster domain whose records an upstream resolver may add.
    chase: str = ""


@dataclass(frozen=True)
class _Target:
    host: str  # an IP address, or the external name of an ExternalName Service
    port: int  # -1: no port
    name: str  # the SRV target: svc.ns.svc.<domain> or endpoint.svc.ns.svc.<domain>


def _labels(name: str) -> list[str]:
    return [label for label in name.rstrip(".").lower().split(".") if label]


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def answer(qname: str, qtype: int, records: ClusterRecords, settings: Settings) -> Answer:
    return _Builder(records, settings).answer(qname, qtype, 0)


class _Builder:
    def __init__(self, records: ClusterRecords, settings: Settings) -> None:
        self.records = records
        self.settings = settings
        self.domain = _labels(settings.domain)

    # ------------------------------------------------------------------ outcomes

    def soa(self) -> RR:
        zone = ".".join(self.domain)
        ttl = self.settings.ttl
        return RR(zone + ".", QTYPE.SOA, ttl=min(ttl, 300), rdata=SOA(
            f"ns.dns.{zone}.", f"hostmaster.{zone}.", (self.records.serial, 7200, 1800, 86400, ttl)))

    def nxdomain(self) -> Answer:
        return Answer(RCODE.NXDOMAIN, authority=[self.soa()])

    def nodata(self) -> Answer:
        return Answer(RCODE.NOERROR, authority=[self.soa()])

    def rr(self, name: str, rtype: int, rdata: object) -> RR:
        return RR(_fqdn(name), rtype, ttl=self.settings.ttl, rdata=rdata)

    # ------------------------------------------------------------------ dispatch

    def answer(self, qname: str, qtype: int, depth: int) -> Answer:
        labels = _labels(qname)
        if labels[-len(self.domain):] == self.domain and len(labels) >= len(self.domain):
            relative = labels[:len(labels) - len(self.domain)]
            return self.in_zone(qname, qtype, relative, depth)
        if labels[-2:] == ["in-addr", "arpa"] and qtype == QTYPE.PTR:
            return self.reverse(qname, labels[:-2])
        return Answer(forward=True, authoritative=False)

    def in_zone(self, qname: str, qtype: int, relative: list[str], depth: int) -> Answer:
        if not relative:
            return self.apex(qname, qtype)
        if relative == ["dns-version"]:
            if qtype == QTYPE.TXT:
                return Answer(answers=[self.rr(qname, QTYPE.TXT, TXT(DNS_SCHEMA_VERSION))])
            return self.nodata()
        if relative == ["ns", "dns"]:
            return self.addresses(qname, qtype, [_Target(ip, -1, qname) for ip in self.dns_ips()])
        kind, rest = relative[-1], relative[:-1]
        if kind == "svc":
            return self.service_name(qname, qtype, rest, depth)
        if kind == "pod":
            return self.pod_name(qname, qtype, rest)
        return self.nxdomain()

    def dns_ips(self) -> tuple[str, ...]:
        service = self.records.service(*DNS_SERVICE)
        return service.cluster_ips if service is not None else ()

    def apex(self, qname: str, qtype: int) -> Answer:
        if qtype == QTYPE.SOA:
            return Answer(answers=[self.soa()])
        if qtype == QTYPE.NS:
            zone = ".".join(self.domain)
            found = Answer(answers=[self.rr(qname, QTYPE.NS, NS(f"ns.dns.{zone}."))])
            found.additional = [self.rr(f"ns.dns.{zone}", QTYPE.A, A(ip)) for ip in self.dns_ips()]
            return found
        return self.nodata()

    # ------------------------------------------------------------------ svc

    def service_name(self, qname: str, qtype: int, rest: list[str], depth: int) -> Answer:
        if not rest:
            return self.nodata()
        namespace = rest[-1]
        if namespace not in self.records.namespaces:
            return self.nxdomain()
        if len(rest) == 1:
            return self.nodata()
        name = rest[-2]
        port, protocol, endpoint = "*", "*", ""
        if len(rest) == 3:
            endpoint = rest[0]
        elif len(rest) == 4:
            port, protocol = rest[0].removeprefix("_"), rest[1].removeprefix("_")
        elif len(rest) > 4:
            return self.nxdomain()
        service = self.records.service(namespace, name)
        if service is None:
            return self.nxdomain()
        if service.external_name:
            if endpoint:
                return self.nxdomain()
            return self.alias(qname, qtype, service, depth)
        targets = self.targets(service, port, protocol, endpoint)
        if not targets:
            return self.nxdomain()
        if qtype == QTYPE.SRV:
            return self.services(qname, targets)
        return self.addresses(qname, qtype, targets)

    def targets(self, service: ServiceInfo, port: str, protocol: str, endpoint: str) -> list[_Target]:
        zone = ".".join(self.domain)
        base = f"{service.name}.{service.namespace}.svc.{zone}"
        found: list[_Target] = []
        if service.headless or endpoint:
            for info in self.records.endpoints(service.namespace, service.name):
                if not info.ready or (endpoint and not _match(endpoint, info.name)):
                    continue
                for name, number, proto in info.ports or (("", -1, ""),):
                    if _match(port, name) and _match(protocol, proto):
                        found.append(_Target(info.ip, number, f"{info.name}.{base}"))
            return found
        for name, number, proto in service.ports:
            if _match(port, name) and _match(protocol, proto):
                found.extend(_Target(ip, number, base) for ip in service.cluster_ips)
        return found

    def addresses(self, qname: str, qtype: int, targets: list[_Target]) -> Answer:
        if qtype not in (QTYPE.A, QTYPE.AAAA, QTYPE.ANY):
            return self.nodata()
        records: list[RR] = []
        seen: set[str] = set()
        for target in targets:
            made = self.address(qname, target.host, QTYPE.A if qtype == QTYPE.ANY else qtype)
            if made is not None and target.host not in seen:
                seen.add(target.host)
                records.append(made)
        return Answer(answers=records) if records else self.nodata()

    def address(self, name: str, ip: str, qtype: int) -> RR | None:
        try:
            version = ipaddress.ip_address(ip).version
        except ValueError:
            return None
        if qtype == QTYPE.A and version == 4:
            return self.rr(name, QTYPE.A, A(ip))
        if qtype == QTYPE.AAAA and version == 6:
            return self.rr(name, QTYPE.AAAA, AAAA(ip))
        return None

    def services(self, qname: str, targets: list[_Target]) -> Answer:
        usable = [target for target in targets if target.port >= 0]
        if not usable:
            return self.nodata()
        weight = int(100 / len(usable))
        found = Answer()
        glue: set[tuple[str, str]] = set()
        for target in usable:
            found.answers.append(self.rr(qname, QTYPE.SRV, SRV(0, weight, target.port, _fqdn(target.name))))
            for rtype in (QTYPE.A, QTYPE.AAAA):
                made = self.address(target.name, target.host, rtype)
                if made is not None and (target.name, target.host) not in glue:
                    glue.add((target.name, target.host))
                    found.additional.append(made)
        return found

    def alias(self, qname: str, qtype: int, service: ServiceInfo, depth: int) -> Answer:
        target = _fqdn(service.external_name)
        found = Answer(answers=[self.rr(qname, QTYPE.CNAME, CNAME(target))])
        if qtype == QTYPE.CNAME:
            return found
        inner_labels = _labels(target)
        if inner_labels[-len(self.domain):] != self.domain:
            found.chase = target
            return found
        if depth >= _MAX_CHASE:
            found.rcode = RCODE.SERVFAIL
            return found
        inner = self.answer(target, qtype, depth + 1)
        found.answers.extend(inner.answers)
        found.additional.extend(inner.additional)
        found.authority = inner.authority
        found.rcode = inner.rcode
        found.chase = inner.chase
        return found

    # ------------------------------------------------------------------ pod

    def pod_name(self, qname: str, qtype: int, rest: list[str]) -> Answer:
        if not rest:
            return self.nodata()
        if rest[-1] not in self.records.namespaces:
            return self.nxdomain()
        if len(rest) == 1:
            return self.nodata()
        if len(rest) > 2:
            return self.nxdomain()
        label = rest[0]
        text = label.replace("-", ".") if label.count("-") == 3 and "--" not in label else label.replace("-", ":")
        try:
            ip = str(ipaddress.ip_address(text))
        except ValueError:
            return self.nxdomain()
        return self.addresses(qname, qtype, [_Target(ip, -1, qname)])

    # ------------------------------------------------------------------ reverse

    def reverse(self, qname: str, octets: list[str]) -> Answer:
        if len(octets) != 4:
            return Answer(forward=True, authoritative=False)
        ip = ".".join(reversed(octets))
        zone = ".".join(self.domain)
        service = self.records.service_for_cluster_ip(ip)
        if service is not None:
            name = f"{service.name}.{service.namespace}.svc.{zone}."
            return Answer(answers=[self.rr(qname, QTYPE.PTR, PTR(name))])
        names = [f"{info.name}.{svc}.{namespace}.svc.{zone}."
                 for namespace, svc, info in self.records.endpoints_with_ip(ip)]
        if names:
            return Answer(answers=[self.rr(qname, QTYPE.PTR, PTR(name)) for name in dict.fromkeys(names)])
        return Answer(forward=True, authoritative=False)


def _match(wanted: str, have: str) -> bool:
    return wanted in _WILDCARDS or have in _WILDCARDS or wanted.lower() == have.lower()


__all__ = ["Answer", "EndpointInfo", "Settings", "answer"]
