"""The events probes cause, in the kubelet's words.

Every check that fails records a `Warning` `Unhealthy` event, not only the one that flips the
verdict (`kubectl describe pod` shows them aggregated: `Warning  Unhealthy  3x over 30s ...`):

    Startup probe failed: Get "http://10.244.1.5:3000/healthz": dial tcp 10.244.1.5:3000: connect: connection refused
    Liveness probe failed: HTTP probe failed with statuscode: 500
    Readiness probe failed: cat: can't open '/tmp/ready': No such file or directory

A check that could not even be made (a named port the container does not declare) is "errored",
and its result does not count. When a liveness or startup verdict falls to Failure, the container
is killed with a `Normal` `Killing` event:

    Container api failed liveness probe, will be restarted
"""

from __future__ import annotations

from agent.lifecycle.events import NORMAL, REASON_KILLING, WARNING, EventText
from agent.probes.state import ProbeKind

REASON_UNHEALTHY = "Unhealthy"
REASON_PROBE_WARNING = "ProbeWarning"


def probe_failed(kind: ProbeKind, message: str) -> EventText:
    """`Liveness probe failed: <the check's message>`."""
    return EventText(WARNING, REASON_UNHEALTHY, f"{kind.value} probe failed: {message}")


def probe_errored(kind: ProbeKind, error: str) -> EventText:
    """`Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing "http": invalid syntax`."""
    return EventText(WARNING, REASON_UNHEALTHY, f"{kind.value} probe errored and resulted in unknown state: {error}")


def probe_warning(kind: ProbeKind, message: str) -> EventText:
    """A check that passed with a warning (a redirect to another host): `Readiness probe warning: ...`."""
    return EventText(WARNING, REASON_PROBE_WARNING, f"{kind.value} probe warning: {message}")


def killing_for_probe(container: str, kind: ProbeKind, will_restart: bool = True) -> EventText:
    """`Container api failed liveness probe, will be restarted` (without the tail under restartPolicy Never)."""
    if kind is ProbeKind.READINESS:
        raise ValueError("a readiness failure never kills a container")
    message = f"Container {container} failed {kind.value.lower()} probe"
    if will_restart:
        message += ", will be restarted"
    return EventText(NORMAL, REASON_KILLING, message)
