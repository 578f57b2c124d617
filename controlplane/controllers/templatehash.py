"""The `pod-template-hash` of a Deployment's pod template, as Kubernetes computes it (ComputeHash):
FNV-32a over the template, then over the collision count (when the Deployment has one) as 8 bytes
holding it little-endian, the 32-bit sum written in decimal, and each digit mapped to a letter of
the alphabet Kubernetes uses in generated names (rand.SafeEncodeString), so no hash spells a word.

The one difference: Kubernetes feeds FNV the Go struct as the spew library prints it; here the
template's canonical JSON (Kubernetes field names, sorted keys) is fed instead. The hash is as
stable (same template, same hash) but not the same string a Kubernetes cluster would print.
Pure.
"""

from __future__ import annotations

import json

from controlplane.api import codec
from controlplane.api.v1 import core_pb2

TEMPLATE_HASH_LABEL = "pod-template-hash"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' alphanums: no vowels, no 0, 1, 3

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, state: int = _FNV_OFFSET) -> int:
    for byte in data:
        state = ((state ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return state


def safe_encode(text: str) -> str:
    return "".join(SAFE_ALPHABET[ord(char) % len(SAFE_ALPHABET)] for char in text)


def canonical_bytes(template: core_pb2.PodTemplateSpec) -> bytes:
    return json.dumps(codec.encode(template), sort_keys=True, separators=(",", ":")).encode()


def template_hash(template: core_pb2.PodTemplateSpec, collision_count: int | None) -> str:
    state = fnv32a(canonical_bytes(template))
    if collision_count is not None:
        state = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4), state)
    return safe_encode(str(state))


def without_hash(template: core_pb2.PodTemplateSpec) -> core_pb2.PodTemplateSpec:
    copy = core_pb2.PodTemplateSpec()
    copy.CopyFrom(template)
    copy.metadata.labels.pop(TEMPLATE_HASH_LABEL, None)
    return copy


def equal_ignoring_hash(first: core_pb2.PodTemplateSpec, second: core_pb2.PodTemplateSpec) -> bool:
    """The same template once the pod-template-hash label is left out of both (EqualIgnoreHash)."""
    return without_hash(first) == without_hash(second)
