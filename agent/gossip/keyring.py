"""The cluster's keys, and sealing packets with them (AES-GCM).

Every packet and every TCP frame is sealed with the primary key: one version byte, a random
96-bit nonce, the ciphertext and GCM's 16-byte tag (29 bytes of overhead). Opening tries every
installed key, so keys can be rotated without a flag day, as with Serf:

    install the new key on every member   (all still send with the old one, all accept both)
    use the new key on every member       (all now send with the new one, still accept the old)
    remove the old key on every member

A packet that no installed key opens (a wrong key, a forged or damaged tag) is refused with
SealError and counted by the transport; so is a plaintext packet when keys are installed. With no
key at all, packets travel in the clear (version byte 0), for a cluster that chose no encryption.

A keyring file is a JSON list of base64 keys, the primary first (Serf's format).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
from collections.abc import Iterable
from pathlib import Path

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = structlog.get_logger("gossip.keyring")

KEY_SIZES = (16, 24, 32)  # AES-128, -192, -256
PLAINTEXT = 0
AES_GCM = 1
NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE


class KeyringError(ValueError):
    """A key or keyring file that cannot be used (one line, says which)."""


class SealError(ValueError):
    """A packet refused on opening; `reason` is the counter it goes to."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_key(key: bytes) -> bytes:
    if len(key) not in KEY_SIZES:
        raise KeyringError(f"a gossip key must be 16, 24 or 32 bytes (AES-128/192/256), not {len(key)}")
    return bytes(key)


def decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"gossip key {text.strip()[:12]!r}...: not base64") from None
    return check_key(key)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


def generate_key() -> bytes:
    return os.urandom(32)


class Keyring:
    def __init__(self, keys: Iterable[bytes] = ()) -> None:
        """The first key is the primary; the others are accepted too."""
        self._keys: list[bytes] = []
        self._ciphers: dict[bytes, AESGCM] = {}
        for key in keys:
            self.install(key)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    @property
    def keys(self) -> tuple[bytes, ...]:
        return tuple(self._keys)

    @property
    def primary(self) -> bytes | None:
        return self._keys[0] if self._keys else None

    def install(self, key: bytes) -> None:
        """Accept packets sealed with `key` too (the primary if it is the first key)."""
        key = check_key(key)
        if key not in self._ciphers:
            self._keys.append(key)
            self._ciphers[key] = AESGCM(key)

    def use(self, key: bytes) -> None:
        """Seal with `key` from now on; it must be installed first."""
        if key not in self._ciphers:
            raise KeyringError("cannot use a key that is not installed; install it first")
        self._keys.remove(key)
        self._keys.insert(0, key)

    def remove(self, key: bytes) -> None:
        if key not in self._ciphers:
            raise KeyringError("cannot remove a key that is not installed")
        if key == self._keys[0]:
            raise KeyringError("cannot remove the primary key; use another key first")
        self._keys.remove(key)
        del self._ciphers[key]

    def replace(self, keys: Iterable[bytes]) -> None:
        """Take the keys of a reloaded keyring file (the primary first), all checked before any is used."""
        fresh = Keyring(keys)
        self._keys, self._ciphers = fresh._keys, fresh._ciphers

    def seal(self, plaintext: bytes) -> bytes:
        if not self._keys:
            return bytes([PLAINTEXT]) + plaintext
        nonce = os.urandom(NONCE_SIZE)
        header = bytes([AES_GCM])
        return header + nonce + self._ciphers[self._keys[0]].encrypt(nonce, plaintext, header)

    def open(self, data: bytes) -> bytes:
        """The plaintext of a sealed packet, or SealError."""
        if not data:
            raise SealError("malformed", "empty packet")
        version = data[0]
        if version == PLAINTEXT:
            if self._keys:
                raise SealError("plaintext", "a plaintext packet, and this member requires encryption")
            return data[1:]
        if version != AES_GCM:
            raise SealError("malformed", f"unknown packet version {version}")
        if not self._keys:
            raise SealError("encrypted", "an encrypted packet, and this member has no key")
        if len(data) < OVERHEAD:
            raise SealError("malformed", f"a packet of {len(data)} bytes is too short to be sealed")
        nonce, sealed = data[1:1 + NONCE_SIZE], data[1 + NONCE_SIZE:]
        for key in self._keys:
            try:
                return self._ciphers[key].decrypt(nonce, sealed, data[:1])
            except InvalidTag:
                continue
        raise SealError("auth", "no installed key opens the packet (wrong key, or a forged or damaged tag)")


def parse_keyring(text: str, where: str) -> list[bytes]:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as error:
        raise KeyringError(f"{where}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, str) for e in entries):
        raise KeyringError(f"{where}: expected a JSON list of base64 keys, the primary first")
    try:
        return [decode_key(entry) for entry in entries]
    except KeyringError as error:
        raise KeyringError(f"{where}: {error}") from None


def read_keyring_file(path: Path) -> list[bytes]:
    try:
        text = path.read_text()
    except OSError as error:
        raise KeyringError(f"{path}: {error.strerror}") from None
    return parse_keyring(text, str(path))


def write_keyring_file(path: Path, keys: Iterable[bytes]) -> None:
    """Write (mode 0600, atomically) a keyring file with `keys`, the primary first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([encode_key(key) for key in keys], handle)
        handle.write("\n")
    os.replace(scratch, path)


async def follow_keyring_file(path: Path, keyring: Keyring, interval: float = 2.0) -> None:
    """Re-read the keyring file whenever it changes, and take its keys (install, use, remove by
    editing one file on every member). A file that cannot be used is reported and the keys in use
    are kept."""
    def stamp() -> tuple[int, int] | None:
        try:
            info = path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    seen = await asyncio.to_thread(stamp)
    while True:
        await asyncio.sleep(interval)
        current = await asyncio.to_thread(stamp)
        if current == seen:
            continue
        seen = current
        try:
            keys = await asyncio.to_thread(read_keyring_file, path)
            keyring.replace(keys)
        except KeyringError as error:
            log.warning("gossip.keyring_not_reloaded", file=str(path), error=str(error))
            continue
        log.info("gossip.keyring_reloaded", file=str(path), keys=len(keys))
