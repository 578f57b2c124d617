"""The sockets of the userspace proxy: listeners that may bind an address before it is on an
interface, and outgoing sockets that may carry the client's address (client address kept for
`externalTrafficPolicy: Local`)."""

from __future__ import annotations

import socket

# Linux values, in case this Python's socket module lacks the names.
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
IP_TRANSPARENT = getattr(socket, "IP_TRANSPARENT", 19)
LISTEN_BACKLOG = 4096


def listening_socket(ip: str, port: int, protocol: str) -> socket.socket:
    """A non-blocking TCP listener or UDP socket bound to ip:port. IP_FREEBIND lets the bind succeed
    while the address is still being added to the interface."""
    kind = socket.SOCK_STREAM if protocol == "TCP" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
        sock.bind((ip, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def outgoing_socket(protocol: str, source: str | None) -> socket.socket:
    """A non-blocking socket towards an endpoint; from `source` (a client's address, not one of this
    node's) when given, which needs IP_TRANSPARENT and the reply routing of transparent.py."""
    kind = socket.SOCK_STREAM if protocol == "TCP" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setblocking(False)
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source is not None:
            sock.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
            sock.bind((source, 0))
    except BaseException:
        sock.close()
        raise
    return sock
