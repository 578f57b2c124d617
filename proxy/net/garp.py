"""Gratuitous ARP: tell the segment that an address now lives at this interface's MAC, so hosts
update their neighbour cache at once instead of when their entry goes stale.

`frames` builds the packets (pure: an ARP request and an ARP reply, both with the address as sender
and target, as `arping -U` and `arping -A` send them); `announce` sends them from the interface.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6
ARP_REQUEST, ARP_REPLY = 1, 2


def frames(mac: bytes, address: str) -> list[bytes]:
    if len(mac) != 6:
        raise ValueError(f"not an Ethernet address: {mac.hex(':')}")
    ip = ipaddress.IPv4Address(address).packed
    header = BROADCAST + mac + struct.pack("!H", ETH_P_ARP)
    packets = []
    for operation, target_mac in ((ARP_REQUEST, b"\x00" * 6), (ARP_REPLY, mac)):
        arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, operation, mac, ip, target_mac, ip)
        packets.append(header + arp)
    return packets


def announce(device: str, address: str) -> None:
    """Send the gratuitous ARP frames for `address` on `device` (non-blocking, one syscall each)."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((device, ETH_P_ARP))
        mac = sock.getsockname()[4]
        for frame in frames(mac, address):
            sock.send(frame)
