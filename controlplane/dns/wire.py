"""DNS messages in and out (pure): a request's bytes become a reply from the cluster's records, or
a decision to forward it upstream. dnslib does the wire format; this module does the protocol's
rules: one question per query, QUERY opcode only, class IN, EDNS(0) answered with EDNS, replies that
do not fit a UDP datagram sent truncated (TC) so the client asks again over TCP.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnslib import CLASS, EDNS0, OPCODE, QTYPE, RCODE, DNSError, DNSHeader, DNSRecord

from controlplane.dns.answer import Answer, Settings, answer
from controlplane.dns.records import ClusterRecords

CLASSIC_UDP_SIZE = 512
OUR_UDP_SIZE = 1232  # the EDNS buffer size DNS Flag Day 2020 settled on
TCP_SIZE = 65535
OPT = 41


@dataclass
class Decision:
    """`reply` to send at once; else, with `forward`, the request goes upstream as it is. `chase` is a
    name outside the cluster whose records of type `qtype` an upstream resolver may add to `reply`."""

    request: DNSRecord | None
    reply: DNSRecord | None = None
    forward: bool = False
    chase: str = ""
    qtype: int = 0


def decide(data: bytes, records: ClusterRecords, settings: Settings) -> Decision:
    try:
        request = DNSRecord.parse(data)
    except (DNSError, ValueError, IndexError, UnicodeDecodeError):
        return Decision(None, _format_error(data))
    header = request.header
    if header.qr:
        return Decision(request)  # a response sent to us: nothing to answer
    if header.opcode != OPCODE.QUERY:
        return Decision(request, _error(request, RCODE.NOTIMP))
    if len(request.questions) != 1:
        return Decision(request, _error(request, RCODE.FORMERR))
    question = request.q
    if question.qclass != CLASS.IN:
        return Decision(request, _error(request, RCODE.REFUSED))
    try:
        qname = str(question.qname)
    except UnicodeDecodeError:
        return Decision(request, _error(request, RCODE.FORMERR))
    found = answer(qname, question.qtype, records, settings)
    if found.forward:
        return Decision(request, forward=True)
    return Decision(request, build_reply(request, found), chase=found.chase, qtype=question.qtype)


def build_reply(request: DNSRecord, found: Answer) -> DNSRecord:
    reply = request.reply(ra=1, aa=1 if found.authoritative else 0)
    reply.header.rcode = found.rcode
    for record in found.answers:
        reply.add_answer(record)
    for record in found.authority:
        reply.add_auth(record)
    for record in found.additional:
        reply.add_ar(record)
    _echo_edns(request, reply)
    return reply


def servfail(request: DNSRecord) -> DNSRecord:
    """What a client gets when the upstream resolvers did not answer (or there are none)."""
    return _error(request, RCODE.SERVFAIL)


def add_chased(reply: DNSRecord, upstream: DNSRecord) -> None:
    """Append an upstream resolver's answers about a CNAME target to the CNAME we answered."""
    for record in upstream.rr:
        reply.add_answer(record)
    if upstream.header.rcode == RCODE.NXDOMAIN:
        reply.header.rcode = RCODE.NXDOMAIN


def udp_limit(request: DNSRecord | None) -> int:
    """How large a UDP reply may be: 512 bytes, or what the client's EDNS record offers (our cap)."""
    if request is None:
        return CLASSIC_UDP_SIZE
    for record in request.ar:
        if record.rtype == OPT:
            return max(CLASSIC_UDP_SIZE, min(int(record.rclass), OUR_UDP_SIZE))
    return CLASSIC_UDP_SIZE


def encode(reply: DNSRecord, limit: int = TCP_SIZE) -> bytes:
    """The reply's bytes; over `limit`, the header and question alone with TC set."""
    data: bytes = reply.pack()
    if len(data) <= limit:
        return data
    cut = DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1), q=reply.q)
    cut.header.rcode = reply.header.rcode
    for record in reply.ar:
        if record.rtype == OPT:
            cut.add_ar(record)
    packed: bytes = cut.pack()
    return packed


def _echo_edns(request: DNSRecord, reply: DNSRecord) -> None:
    if any(record.rtype == OPT for record in request.ar):
        reply.add_ar(EDNS0(udp_len=OUR_UDP_SIZE))


def _error(request: DNSRecord, rcode: int) -> DNSRecord:
    reply = request.reply(ra=1, aa=0)
    reply.header.rcode = rcode
    if rcode == RCODE.FORMERR:
        reply.questions = []
        reply.header.q = 0
    _echo_edns(request, reply)
    return reply


def _format_error(data: bytes) -> DNSRecord | None:
    """FORMERR for a packet whose header we can read; nothing for one too short to have an id."""
    if len(data) < 12:
        return None
    request_id = int.from_bytes(data[:2], "big")
    if data[2] & 0x80:  # a response: never answer it
        return None
    return DNSRecord(DNSHeader(id=request_id, qr=1, ra=1, rcode=RCODE.FORMERR))


__all__ = ["QTYPE", "Decision", "add_chased", "build_reply", "decide", "encode", "servfail", "udp_limit"]
