"""Names the pod network gives to kernel objects: stable per pod uid, short enough, distinct.

The host end of a pod's veth lives in the node's network namespace, where interface names are at
most 15 characters: "kl" and 13 hex digits of the uid's SHA-256 (52 bits: distinct among any
realistic number of pods). Pod network namespaces have global names, so they carry the node's
prefix and the start of the uid, which a person can match with `klctl get pod -o yaml`.
"""

from __future__ import annotations

import hashlib
import re

VETH_PREFIX = "kl"
POD_IFNAME = "eth0"
_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
IPAM_DIR = "ipam"  # the state dir's address allocations, beside one directory per pod
RESERVED = frozenset({IPAM_DIR})  # directory names of the state dir that are not pods


def check_pod_uid(pod_uid: str) -> None:
    """Refuse a uid that cannot safely name a directory, an interface and a namespace."""
    if not _UID.match(pod_uid) or pod_uid in RESERVED:
        raise ValueError(f"pod uid {pod_uid!r}: want letters, digits, '-', '_' or '.' (a Kubernetes UID)")


def veth_name(pod_uid: str) -> str:
    """The node-side end of the pod's veth pair: `kl` + 13 hex digits, 15 characters."""
    return VETH_PREFIX + hashlib.sha256(pod_uid.encode()).hexdigest()[:13]


def uid12(pod_uid: str) -> str:
    """The first 12 letters and digits of a uid (the dashes of a UUID dropped)."""
    return re.sub(r"[^a-z0-9]", "", pod_uid.lower())[:12]


def netns_name(prefix: str, pod_uid: str) -> str:
    """`<prefix>-<uid12>`, e.g. kl-worker1-3f2a9c1e7b4d."""
    return f"{prefix}-{uid12(pod_uid)}"


def pod_mac(ip: str) -> str:
    """The pod's eth0 MAC, from its IP (0a:58 and the four octets, as CNI plugins do): a pod whose
    veth is made again, or a new pod on a freed address, keeps what its neighbours have cached."""
    return "0a:58:" + ":".join(f"{int(octet):02x}" for octet in ip.split("."))


def bridge_mac(gateway: str) -> str:
    """A fixed, locally administered MAC for the bridge, from its gateway address.

    A bridge without a set address takes the lowest address of its ports, so it would change as
    pods come and go and leave the pods' ARP entries for the gateway stale.
    """
    octets = [int(part) for part in gateway.split(".")]
    return "02:6b:" + ":".join(f"{octet:02x}" for octet in octets)
