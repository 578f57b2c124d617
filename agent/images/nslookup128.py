"""`nslookup` as busybox 1.28 has it, for the catalog's `busybox:1.28` (and older tags).

Kubernetes' DNS pages tell students to run `busybox:1.28`, because later busybox releases wrote
their own resolver that skips the search path for any name with a dot: `nslookup web.default`
fails there. 1.28 asked the C library, so the pod's resolv.conf (search path, ndots) applies, and it
printed what the tutorials show:

    Server:    10.96.0.10
    Address 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local

    Name:      web.default
    Address 1: 10.96.8.21 web.default.svc.cluster.local

This script does the same with the standard library only (it runs as `python -I -S`): /etc/hosts,
then DNS to the first nameserver of /etc/resolv.conf (or the SERVER argument), names tried in the
C library's order for the search path and ndots, each address named by a reverse lookup. An
unresolvable name prints `nslookup: can't resolve 'NAME'` and exits 1. Usage: nslookup HOST [SERVER]
"""

from __future__ import annotations

import ipaddress
import random
import socket
import struct
import sys

TYPE_A, TYPE_CNAME, TYPE_PTR = 1, 5, 12
RCODE_NXDOMAIN = 3
TIMEOUT, ATTEMPTS = 5.0, 2  # the C library's defaults
MAX_CNAME_HOPS = 8


class DnsError(Exception):
    pass


def parse_resolv_conf(text: str) -> tuple[list[str], list[str], int]:
    """(nameservers, search domains, ndots) as the C library reads them; the last search/domain line wins."""
    servers: list[str] = []
    search: list[str] = []
    ndots = 1
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):
            search = words[1:]
        elif words[0] == "options":
            for option in words[1:]:
                if option.startswith("ndots:") and option[6:].isdigit():
                    ndots = min(int(option[6:]), 15)
    return servers, search, ndots


def candidates(name: str, search: list[str], ndots: int) -> list[str]:
    """The names to ask, in order: a name with at least `ndots` dots as it is first, else the search
    domains first; a name ending in a dot only as it is."""
    if name.endswith("."):
        return [name.rstrip(".")]
    searched = [f"{name}.{domain.rstrip('.')}" for domain in search if domain.strip(".")]
    return [name, *searched] if name.count(".") >= ndots else [*searched, name]


def hosts_addresses(text: str, name: str) -> list[str]:
    """IPv4 addresses /etc/hosts gives `name` (case-insensitive, as the C library matches)."""
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) > 1 and name.lower() in (word.lower() for word in words[1:]):
            try:
                found.append(str(ipaddress.IPv4Address(words[0])))
            except ValueError:
                continue
    return found


def hosts_name(text: str, address: str) -> str | None:
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) > 1 and words[0] == address:
            return words[1]
    return None


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna") if label else b""
        if not raw or len(raw) > 63:
            raise DnsError(f"bad name {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def build_query(query_id: int, name: str, qtype: int) -> bytes:
    return struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack("!HH", qtype, 1)


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    """A possibly compressed name at `offset`; (name, offset after it in the record)."""
    labels: list[str] = []
    end = -1
    for _ in range(128):  # bounded: a pointer loop is a malformed answer
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length == 0:
            return ".".join(labels), (end if end >= 0 else offset + 1)
        labels.append(data[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise DnsError("name pointer loop")


def parse_response(data: bytes, query_id: int) -> tuple[int, list[tuple[str, int, str]]]:
    """(rcode, answers as (owner, type, value)) of a reply to `query_id`; A values dotted, CNAME/PTR names."""
    if len(data) < 12:
        raise DnsError("short reply")
    got_id, flags, questions, answers, _, _ = struct.unpack("!HHHHHH", data[:12])
    if got_id != query_id or not flags & 0x8000:
        raise DnsError("not our reply")
    offset = 12
    for _ in range(questions):
        _, offset = _read_name(data, offset)
        offset += 4
    records = []
    for _ in range(answers):
        owner, offset = _read_name(data, offset)
        rtype, _, _, length = struct.unpack("!HHIH", data[offset:offset + 10])
        offset += 10
        if rtype == TYPE_A and length == 4:
            records.append((owner, rtype, socket.inet_ntoa(data[offset:offset + 4])))
        elif rtype in (TYPE_CNAME, TYPE_PTR):
            records.append((owner, rtype, _read_name(data, offset)[0]))
        offset += length
    return flags & 0x000F, records


def follow(records: list[tuple[str, int, str]], name: str, rtype: int) -> list[str]:
    """The `rtype` values for `name`, through the CNAMEs the answer carries."""
    wanted = name.lower().rstrip(".")
    for _ in range(MAX_CNAME_HOPS):
        values = [value for owner, kind, value in records if owner.lower() == wanted and kind == rtype]
        if values:
            return values
        alias = [value for owner, kind, value in records if owner.lower() == wanted and kind == TYPE_CNAME]
        if not alias:
            return []
        wanted = alias[0].lower().rstrip(".")
    return []


def ask(server: str, name: str, qtype: int, port: int = 53) -> tuple[int, list[tuple[str, int, str]]]:
    """One question over UDP, retried as the C library does; DnsError when no reply comes."""
    for _ in range(ATTEMPTS):
        query_id = random.randrange(1 << 16)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect((server, port))
            sock.send(build_query(query_id, name, qtype))
            try:
                while True:
                    try:
                        return parse_response(sock.recv(4096), query_id)
                    except DnsError:
                        continue  # a stray datagram: keep waiting for ours
            except (TimeoutError, OSError):
                continue
    raise DnsError(f"no reply from {server}")


def reverse_name(address: str) -> str:
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"


def read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return ""


def addresses_of(name: str, server: str, search: list[str], ndots: int, hosts: str, port: int = 53) -> list[str]:
    try:
        return [str(ipaddress.IPv4Address(name))]
    except ValueError:
        pass
    found = hosts_addresses(hosts, name)
    if found:
        return found
    for candidate in candidates(name, search, ndots):
        try:
            _, records = ask(server, candidate, TYPE_A, port)
        except DnsError:
            return []
        values = follow(records, candidate, TYPE_A)
        if values:
            return values
    return []


def name_of(address: str, server: str, hosts: str, port: int = 53) -> str | None:
    known = hosts_name(hosts, address)
    if known:
        return known
    try:
        _, records = ask(server, reverse_name(address), TYPE_PTR, port)
    except DnsError:
        return None
    names = follow(records, reverse_name(address), TYPE_PTR)
    return names[0].rstrip(".") if names else None


def block(header: str, name: str, addresses: list[tuple[str, str | None]]) -> str:
    """busybox 1.28's lines for one name: `%-10s %s`, then `Address N: IP[ NAME]`."""
    lines = [f"{header:<10} {name}"]
    lines += [f"Address {n}: {ip}{' ' + host if host else ''}" for n, (ip, host) in enumerate(addresses, 1)]
    return "\n".join(lines) + "\n"


USAGE = ("BusyBox v1.28.4 multi-call binary.\n\nUsage: nslookup [HOST] [SERVER]\n\n"
         "Query the nameserver for the IP address of the given HOST\noptionally using a specified DNS server\n")


def lookup(argv: list[str], resolv_conf: str, hosts: str, port: int = 53) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `nslookup ARGV` with these resolv.conf and hosts files."""
    if len(argv) not in (1, 2) or argv[0].startswith("-"):
        return 1, "", USAGE
    servers, search, ndots = parse_resolv_conf(resolv_conf)
    server = argv[1] if len(argv) == 2 else (servers[0] if servers else "127.0.0.1")
    server_addresses = addresses_of(server, server, [], 1, hosts, port)
    if not server_addresses:
        return 1, "", f"nslookup: can't resolve '{server}'\n"
    server = server_addresses[0]
    out = block("Server:", server, [(server, name_of(server, server, hosts, port))]) + "\n"
    found = addresses_of(argv[0], server, search, ndots, hosts, port)
    if not found:
        return 1, out, f"nslookup: can't resolve '{argv[0]}'\n"
    return 0, out + block("Name:", argv[0], [(ip, name_of(ip, server, hosts, port)) for ip in found]), ""


def main(argv: list[str]) -> int:
    status, out, err = lookup(argv, read("/etc/resolv.conf"), read("/etc/hosts"))
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
