"""Whether a node still lives, and what its conditions become when it does not. Pure.

The decision takes ages, not timestamps: the controller measures each age on its own clock from
the moment it saw the signal change (as Kubernetes does, so clock skew between a node and the
control plane cannot fake a death), and passes them here with the grace period and, when a
second witness (the agents' gossip cluster) has one, its verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from controlplane.api.v1 import meta_pb2

READY = "Ready"
# The conditions a silent node's agent can no longer vouch for (NetworkUnavailable is the
# control plane's to manage, so Kubernetes leaves it alone).
AGENT_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
STOPPED_REASON = "NodeStatusUnknown"
STOPPED_MESSAGE = "Kubelet stopped posting node status."
NEVER_REASON = "NodeStatusNeverUpdated"
NEVER_MESSAGE = "Kubelet never posted node status."


class Verdict(Enum):
    """What a second witness says of a node."""

    ALIVE = "alive"  # its peers hear it (says nothing about whether the control plane does)
    DEAD = "dead"  # confirmed dead by its peers


@dataclass(frozen=True, slots=True)
class WitnessVerdict:
    verdict: Verdict
    age: float  # seconds since the witness reached it


class Liveness(Enum):
    RESPONSIVE = "responsive"  # heard from within the grace period
    SILENT = "silent"  # nothing heard for longer than the grace period
    CONFIRMED_DEAD = "confirmed-dead"  # the witness saw it die, and nothing was heard since


def judge(*, heartbeat_age: float, lease_age: float | None, grace: float,
          witness: WitnessVerdict | None = None) -> Liveness:
    """The Ready decision.

    - `heartbeat_age`: seconds since the node's Ready heartbeat (lastHeartbeatTime) last changed,
      or since the node was created if it never posted one.
    - `lease_age`: seconds since its Lease's renewTime last moved (None: no Lease seen).
    - `grace`: the monitor grace period (the startup grace period for a node that never posted).
    - `witness`: a second opinion, or None.

    Either signal fresh keeps the node responsive (the agent renews the Lease often and posts its
    status rarely). A DEAD verdict ends it at once, unless the node was heard from after the verdict
    (an agent restarted before its peers noticed). An ALIVE verdict decides nothing: a node its
    peers hear but the control plane does not is judged by the lease rule alone.
    """
    last_heard = heartbeat_age if lease_age is None else min(heartbeat_age, lease_age)
    if witness is not None and witness.verdict is Verdict.DEAD and last_heard > witness.age:
        return Liveness.CONFIRMED_DEAD
    if last_heard > grace:
        return Liveness.SILENT
    return Liveness.RESPONSIVE


def condition(conditions: Sequence[meta_pb2.Condition], kind: str) -> meta_pb2.Condition | None:
    return next((c for c in conditions if c.type == kind), None)


def ready_status(conditions: Sequence[meta_pb2.Condition]) -> str:
    """The Ready condition's status ("True", "False", "Unknown"), "" when there is none."""
    found = condition(conditions, READY)
    return found.status if found is not None else ""


def mark_unknown(conditions: Sequence[meta_pb2.Condition], now: str, created: str) -> list[meta_pb2.Condition]:
    """The conditions of a node whose agent went silent: every agent condition Unknown (reason
    NodeStatusUnknown, its transition time now when it changes), a missing one added as never
    posted. Heartbeat times stay as the agent wrote them: they are what the agent last said."""
    result = []
    for existing in conditions:
        copy = meta_pb2.Condition()
        copy.CopyFrom(existing)
        if copy.type in AGENT_CONDITIONS and copy.status != "Unknown":
            copy.status, copy.reason, copy.message = "Unknown", STOPPED_REASON, STOPPED_MESSAGE
            copy.last_transition_time = now
        result.append(copy)
    present = {c.type for c in conditions}
    for kind in AGENT_CONDITIONS:
        if kind not in present:
            result.append(meta_pb2.Condition(type=kind, status="Unknown", reason=NEVER_REASON, message=NEVER_MESSAGE,
                                             last_heartbeat_time=created, last_transition_time=now))
    return result
