"""The gossip wire format and the keyring: every message round-trips, malformed bytes are refused,
and packets sealed with a wrong key, a forged tag or no key at all are refused with their reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.gossip import messages as wire
from agent.gossip.keyring import (
    OVERHEAD,
    Keyring,
    KeyringError,
    SealError,
    decode_key,
    encode_key,
    parse_keyring,
    read_keyring_file,
    write_keyring_file,
)

TAGS = (("role", "worker"), ("pod-cidr", "10.244.1.0/24"), ("agent", "10.240.0.11:10250"), ("note", "é" * 300))
MESSAGES: list[wire.Message] = [
    wire.Ping(7, "worker1"),
    wire.Ping(0xFFFFFFFF, ""),
    wire.IndirectPing(42, "worker2", "10.240.0.12", 7946, True),
    wire.IndirectPing(43, "w", "fd00::12", 17946, False),
    wire.Ack(1),
    wire.Nack(2),
    wire.Suspect(5, "worker1", "master"),
    wire.Dead(6, "worker1", "master"),
    wire.Dead(6, "worker1", "worker1"),
    wire.Alive(9, "worker1", "10.240.0.11", 7946, TAGS),
    wire.Alive(1, "m", "::1", 1, ()),
    wire.PushPull(True, (wire.PushPullEntry("master", "10.240.0.10", 7946, 3, wire.State.ALIVE, TAGS),
                         wire.PushPullEntry("worker1", "10.240.0.11", 7946, 8, wire.State.DEAD),
                         wire.PushPullEntry("worker2", "10.240.0.12", 7946, 2, wire.State.LEFT))),
    wire.PushPull(False, ()),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips(message: wire.Message) -> None:
    assert wire.decode(wire.encode(message)) == message
    assert wire.decode_packet(wire.encode(message)) == [message]


def test_probe_packets_are_small() -> None:
    assert len(wire.encode(wire.Ping(1, "worker1"))) == 13
    assert len(wire.encode(wire.Ack(1))) == 5


def test_a_compound_packet_carries_several_messages_in_order() -> None:
    parts = [wire.encode(m) for m in MESSAGES[:6]]
    packet = wire.compound(parts)
    assert wire.decode_packet(packet) == MESSAGES[:6]
    assert len(packet) == wire.encoded_size(parts)
    assert wire.compound(parts[:1]) == parts[0]  # one message travels as itself


@pytest.mark.parametrize(("data", "error"), [
    (b"", "empty packet"),
    (bytes([99]), "unknown message type 99"),
    (bytes([wire.Kind.ACK, 0, 0]), "truncated"),
    (wire.encode(wire.Ack(1)) + b"x", "stray bytes"),
    (bytes([wire.Kind.PING, 0, 0, 0, 1, 5]) + b"ab", "truncated"),
    (bytes([wire.Kind.PING, 0, 0, 0, 1, 2]) + b"\xff\xfe", "not UTF-8"),
    (bytes([wire.Kind.ALIVE, 0, 0, 0, 1, 0, 1, 3, 1, 2, 3, 0, 0]), "neither IPv4 nor IPv6"),
    (bytes([wire.Kind.PUSH_PULL, 0, 0, 1, 9, 0, 0, 0, 1, 0, 1, 4, 1, 2, 3, 4, 1, 97, 0]), "unknown member state 9"),
    (bytes([wire.Kind.COMPOUND, 1, 0, 6]) + bytes([wire.Kind.COMPOUND, 1, 0, 1, 3, 0]), "unknown message type 8"),
    (bytes([wire.Kind.COMPOUND, 2, 0, 5]) + wire.encode(wire.Ack(1)), "truncated"),
])
def test_malformed_bytes_are_refused(data: bytes, error: str) -> None:
    with pytest.raises(wire.MessageError, match=error):
        wire.decode_packet(data)


@pytest.mark.parametrize("message", [
    wire.Ping(1 << 32, "x"),
    wire.Ping(1, "x" * 256),
    wire.Alive(1, "x", "not-an-ip", 1),
])
def test_unencodable_messages_are_refused(message: wire.Message) -> None:
    with pytest.raises(wire.MessageError):
        wire.encode(message)


# ------------------------------------------------------------------ keyring

K1, K2, K3 = b"1" * 32, b"2" * 16, b"3" * 24


def test_sealed_packets_open_with_the_same_key_and_cost_29_bytes() -> None:
    ring = Keyring([K1])
    sealed = ring.seal(b"hello")
    assert len(sealed) == 5 + OVERHEAD == 5 + 29
    assert sealed[0] == 1 and b"hello" not in sealed
    assert ring.open(sealed) == b"hello"
    assert ring.seal(b"hello") != sealed  # a fresh nonce every time


def test_key_rotation_install_use_remove_never_breaks_the_cluster() -> None:
    old_member, new_member = Keyring([K1]), Keyring([K1])
    # install K2 everywhere: both still seal with K1, both open K2
    old_member.install(K2)
    new_member.install(K2)
    # one member starts using K2 before the other: each still understands the other
    new_member.use(K2)
    assert new_member.primary == K2
    assert old_member.open(new_member.seal(b"a")) == b"a"
    assert new_member.open(old_member.seal(b"b")) == b"b"
    old_member.use(K2)
    # remove K1 everywhere
    old_member.remove(K1)
    new_member.remove(K1)
    assert old_member.keys == new_member.keys == (K2,)
    assert old_member.open(new_member.seal(b"c")) == b"c"
    # a member still on K1 only is now shut out
    with pytest.raises(SealError) as refused:
        old_member.open(Keyring([K1]).seal(b"d"))
    assert refused.value.reason == "auth"


@pytest.mark.parametrize(("operation", "error"), [
    (lambda ring: ring.use(K3), "not installed; install it first"),
    (lambda ring: ring.remove(K3), "not installed"),
    (lambda ring: ring.remove(K1), "cannot remove the primary key"),
    (lambda ring: ring.install(b"short"), "16, 24 or 32 bytes"),
])
def test_keyring_refuses_operations_that_would_break_it(operation, error: str) -> None:  # type: ignore[no-untyped-def]
    ring = Keyring([K1, K2])
    with pytest.raises(KeyringError, match=error):
        operation(ring)
    assert ring.keys == (K1, K2)


def test_a_packet_with_a_wrong_key_is_refused_as_auth() -> None:
    with pytest.raises(SealError) as refused:
        Keyring([K2]).open(Keyring([K1]).seal(b"secret"))
    assert refused.value.reason == "auth"


@pytest.mark.parametrize("where", [1, 12, 13, -1, -16], ids=["nonce", "nonce-end", "ciphertext", "tag-end", "tag"])
def test_a_packet_with_a_forged_or_damaged_byte_is_refused_as_auth(where: int) -> None:
    ring = Keyring([K1])
    sealed = bytearray(ring.seal(b"payload"))
    sealed[where] ^= 0x01
    with pytest.raises(SealError) as refused:
        ring.open(bytes(sealed))
    assert refused.value.reason == "auth"


@pytest.mark.parametrize(("keys", "data", "reason"), [
    ([K1], bytes([0]) + b"plain", "plaintext"),  # a member with keys refuses cleartext
    ([], Keyring([K1]).seal(b"x"), "encrypted"),  # a member without keys cannot read sealed packets
    ([K1], bytes([1]) + b"short", "malformed"),
    ([K1], bytes([7]) + b"x" * 40, "malformed"),
    ([K1], b"", "malformed"),
])
def test_packets_that_cannot_be_opened_say_why(keys: list[bytes], data: bytes, reason: str) -> None:
    with pytest.raises(SealError) as refused:
        Keyring(keys).open(data)
    assert refused.value.reason == reason


def test_without_keys_packets_travel_in_the_clear() -> None:
    ring = Keyring()
    assert not ring.enabled
    assert ring.seal(b"x") == b"\x00x"
    assert ring.open(b"\x00x") == b"x"


def test_keyring_file_round_trips_with_the_primary_first(tmp_path: Path) -> None:
    path = tmp_path / "gossip" / "keyring.json"
    write_keyring_file(path, [K2, K1])
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_keyring_file(path) == [K2, K1]
    assert json.loads(path.read_text()) == [encode_key(K2), encode_key(K1)]


@pytest.mark.parametrize(("text", "error"), [
    ("", "not JSON"),
    ("{}", "expected a JSON list"),
    ("[]", "expected a JSON list"),
    ('["%%%"]', "not base64"),
    (json.dumps([encode_key(b"x" * 10)]), "16, 24 or 32 bytes"),
])
def test_bad_keyring_files_are_refused_in_one_line(text: str, error: str) -> None:
    with pytest.raises(KeyringError, match=error) as refused:
        parse_keyring(text, "/etc/kubelab/gossip.keyring")
    assert "/etc/kubelab/gossip.keyring" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_decode_key_accepts_serf_style_base64() -> None:
    assert decode_key(encode_key(K1)) == K1
    with pytest.raises(KeyringError):
        decode_key("not base64!")
