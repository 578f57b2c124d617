"""One query, start to end: the cluster's answer (wire.py), or the upstream's, or SERVFAIL."""

from __future__ import annotations

import time

import structlog
from dnslib import QTYPE, DNSError, DNSRecord

from controlplane.dns import wire
from controlplane.dns.answer import Settings
from controlplane.dns.records import ClusterRecords
from controlplane.dns.upstream import Forwarder

log = structlog.get_logger("dns")


class Resolver:
    def __init__(self, records: ClusterRecords, settings: Settings, forwarder: Forwarder) -> None:
        self.records = records
        self.settings = settings
        self.forwarder = forwarder

    async def resolve(self, data: bytes, tcp: bool) -> bytes | None:
        """The reply's bytes (sized for the transport), or None for a packet that gets no reply."""
        started = time.monotonic()
        decision = wire.decide(data, self.records, self.settings)
        limit = wire.TCP_SIZE if tcp else wire.udp_limit(decision.request)
        if decision.forward and decision.request is not None:
            relayed = await self.forwarder.query(data, tcp)
            if relayed is None:
                log.debug("dns.servfail", name=str(decision.request.q.qname),
                          ms=round((time.monotonic() - started) * 1000, 1))
                return wire.encode(wire.servfail(decision.request), limit)
            return relayed
        if decision.reply is None:
            return None
        if decision.chase and self.forwarder.upstreams:
            await self._chase(decision)
        return wire.encode(decision.reply, limit)

    async def _chase(self, decision: wire.Decision) -> None:
        assert decision.reply is not None
        question = DNSRecord.question(decision.chase, QTYPE.get(decision.qtype))
        relayed = await self.forwarder.query(question.pack())
        if relayed is None:
            return
        try:
            wire.add_chased(decision.reply, DNSRecord.parse(relayed))
        except DNSError:
            return
