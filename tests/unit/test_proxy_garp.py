"""Gratuitous ARP frames."""

from __future__ import annotations

import pytest

from proxy.net.garp import frames

MAC = bytes.fromhex("0242ac110002")


def test_a_request_and_a_reply_announce_the_address_at_the_mac_to_everyone() -> None:
    request, reply = frames(MAC, "10.240.0.200")
    for frame, operation, target_mac in ((request, 1, b"\0" * 6), (reply, 2, MAC)):
        assert frame[:6] == b"\xff" * 6 and frame[6:12] == MAC and frame[12:14] == b"\x08\x06"
        arp = frame[14:]
        assert arp[:6] == bytes.fromhex("000108000604") and int.from_bytes(arp[6:8], "big") == operation
        assert arp[8:14] == MAC and arp[14:18] == bytes([10, 240, 0, 200])  # sender: the address at this MAC
        assert arp[18:24] == target_mac and arp[24:28] == bytes([10, 240, 0, 200])  # target: the same address
        assert len(frame) == 42


def test_a_bad_mac_is_refused() -> None:
    with pytest.raises(ValueError, match="not an Ethernet address"):
        frames(b"\x01\x02", "10.240.0.200")
