"""What a container's exit means: is it started again, and is its pod finished?

The pod's `restartPolicy` decides (Kubernetes' ShouldContainerBeRestarted):

| policy    | exit 0          | exit != 0       |
|-----------|-----------------|-----------------|
| Always    | restart         | restart         |
| OnFailure | stays Completed | restart         |
| Never     | stays Completed | stays Error     |

Init containers run to success one after the other: one that exits 0 is done for good (whatever the
policy); one that fails is run again (with back-off) unless the policy is Never, in which case the
whole pod fails. A sidecar (an init container with its own `restartPolicy: Always`) is restarted
whenever it ends, as long as the pod lives.

A pod is finished when none of its containers runs or will run again: it is Succeeded when every
container's last exit was 0, Failed otherwise. A restart is always subject to the container's
CrashLoopBackOff (see `backoff`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

ALWAYS = "Always"
ON_FAILURE = "OnFailure"
NEVER = "Never"
RESTART_POLICIES = (ALWAYS, ON_FAILURE, NEVER)

SUCCEEDED = "Succeeded"
FAILED = "Failed"


def should_restart(restart_policy: str, exit_code: int) -> bool:
    """Whether a regular container that ended with `exit_code` is started again.

    An empty policy is Kubernetes' default, Always. An unknown one is refused (ValueError), since
    the API server validates it and anything else is a programming error.
    """
    policy = restart_policy or ALWAYS
    if policy == ALWAYS:
        return True
    if policy == ON_FAILURE:
        return exit_code != 0
    if policy == NEVER:
        return False
    raise ValueError(f"unknown restartPolicy {restart_policy!r}: want one of {', '.join(RESTART_POLICIES)}")


class InitOutcome(StrEnum):
    """What follows an init container's exit."""

    NEXT = "Next"  # it succeeded: run the next init container (or, after the last, the containers)
    RESTART = "Restart"  # run it again, after its back-off
    POD_FAILED = "PodFailed"  # it failed under restartPolicy Never: the pod is Failed, nothing else runs


def init_container_outcome(restart_policy: str, exit_code: int, *, sidecar: bool = False) -> InitOutcome:
    """The fate of an init container that ended with `exit_code`.

    `sidecar` is an init container whose own `restartPolicy` is Always: it is restarted whenever it
    ends, and never holds the pod back or fails it.
    """
    if sidecar:
        return InitOutcome.RESTART
    if exit_code == 0:
        return InitOutcome.NEXT
    should_restart(restart_policy, exit_code)  # validates the policy
    if (restart_policy or ALWAYS) == NEVER:
        return InitOutcome.POD_FAILED
    return InitOutcome.RESTART  # Always and OnFailure both run a failed init container again


@dataclass(frozen=True, slots=True)
class PodFate:
    """Where a pod stands after a container's exit.

    `restart`: the containers to start again (each after its back-off), in the order given.
    `phase`: SUCCEEDED or FAILED when nothing runs or will run again, else None (the pod goes on).
    """

    restart: tuple[str, ...]
    phase: str | None


def pod_fate(restart_policy: str, last_exits: Mapping[str, int | None]) -> PodFate:
    """The pod's fate from the last exit code of each of its regular containers.

    `last_exits` maps every regular container's name to None while it runs (or has yet to start),
    else to the exit code of its latest run. Call it whenever a container ends.
    """
    restart = tuple(name for name, code in last_exits.items()
                    if code is not None and should_restart(restart_policy, code))
    if restart or any(code is None for code in last_exits.values()):
        return PodFate(restart, None)
    if not last_exits:
        return PodFate((), None)
    phase = SUCCEEDED if all(code == 0 for code in last_exits.values()) else FAILED
    return PodFate((), phase)
