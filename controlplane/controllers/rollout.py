"""The arithmetic of Deployments, as Kubernetes' deployment controller does it (rolling.go, recreate.go,
sync.go, progress.go and deployment util). Pure: ReplicaSets and Deployments in, decisions out;
the controller (deployment.py) reads its caches, calls these, and writes what they decide.

Words used below: a Deployment's *new* ReplicaSet is the one whose template equals the Deployment's
(the pod-template-hash label aside); every other one it owns is *old*. *Active* means spec.replicas
> 0. *Available* pods are ready pods that stayed ready for minReadySeconds.

A rolling update keeps, at every step,
- total pods (spec.replicas summed over every ReplicaSet) <= replicas + maxSurge, and
- available pods >= replicas - maxUnavailable,
scaling the new ReplicaSet up as far as the first allows, then the old ones down as far as the
second allows; it is called again whenever a ReplicaSet's status changes, until done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from controlplane.api import intstr
from controlplane.api.timestamps import parse_time
from controlplane.api.v1 import apps_pb2, meta_pb2
from controlplane.controllers import conditions
from controlplane.controllers.templatehash import equal_ignoring_hash

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
# Annotations of a Deployment that are not copied to its ReplicaSets.
NOT_COPIED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO})
MAX_REVISION_HISTORY_CHARS = 2000

# Condition types and reasons (Kubernetes' words).
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
FAILED_RS_CREATE = "ReplicaSetCreateError"

RECREATE = "Recreate"
ROLLING_UPDATE = "RollingUpdate"
_NO_DEADLINE = 2**31 - 1  # Kubernetes' math.MaxInt32: progressDeadlineSeconds that means "none"


# ---------------------------------------------------------------------------------------- reading


def replicas(spec: apps_pb2.DeploymentSpec | apps_pb2.ReplicaSetSpec) -> int:
    return spec.replicas if spec.HasField("replicas") else 1


def _int_or_string(value: meta_pb2.IntOrString, present: bool) -> int | str:
    if not present:
        return 0
    which = value.WhichOneof("value")
    if which == "int_val":
        return value.int_val
    if which == "str_val":
        return value.str_val
    return 0


def resolve_fenceposts(max_surge: int | str, max_unavailable: int | str, desired: int) -> tuple[int, int]:
    """(surge, unavailable) in pods: a percentage of `desired`, surge rounded up and unavailable
    down; when both come to 0 (rounding), 1 pod may be unavailable so the rollout can move."""
    surge = intstr.scaled_value(max_surge, desired, round_up=True)
    unavailable = intstr.scaled_value(max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def is_rolling(deployment: apps_pb2.Deployment) -> bool:
    return deployment.spec.strategy.type == ROLLING_UPDATE


def _fenceposts(deployment: apps_pb2.Deployment) -> tuple[int, int]:
    rolling = deployment.spec.strategy.rolling_update
    return resolve_fenceposts(_int_or_string(rolling.max_surge, rolling.HasField("max_surge")),
                              _int_or_string(rolling.max_unavailable, rolling.HasField("max_unavailable")),
                              replicas(deployment.spec))


def max_surge(deployment: apps_pb2.Deployment) -> int:
    return _fenceposts(deployment)[0] if is_rolling(deployment) else 0


def max_unavailable(deployment: apps_pb2.Deployment) -> int:
    desired = replicas(deployment.spec)
    if not is_rolling(deployment) or desired == 0:
        return 0
    return min(_fenceposts(deployment)[1], desired)


def revision(rs: apps_pb2.ReplicaSet) -> int | None:
    text = rs.metadata.annotations.get(REVISION, "")
    return int(text) if text.isdigit() else None


def max_revision(sets: Iterable[apps_pb2.ReplicaSet]) -> int:
    return max((r for rs in sets if (r := revision(rs)) is not None), default=0)


def _int_annotation(rs: apps_pb2.ReplicaSet, key: str) -> int | None:
    text = rs.metadata.annotations.get(key, "")
    return int(text) if text.isdigit() else None


def total_replicas(sets: Iterable[apps_pb2.ReplicaSet | None]) -> int:
    return sum(replicas(rs.spec) for rs in sets if rs is not None)


def actual_replicas(sets: Iterable[apps_pb2.ReplicaSet | None]) -> int:
    return sum(rs.status.replicas for rs in sets if rs is not None)


def ready_replicas(sets: Iterable[apps_pb2.ReplicaSet | None]) -> int:
    return sum(rs.status.ready_replicas for rs in sets if rs is not None)


def available_replicas(sets: Iterable[apps_pb2.ReplicaSet | None]) -> int:
    return sum(rs.status.available_replicas for rs in sets if rs is not None)


def by_creation(sets: Iterable[apps_pb2.ReplicaSet]) -> list[apps_pb2.ReplicaSet]:
    """Oldest first, names breaking ties (ReplicaSetsByCreationTimestamp)."""
    return sorted(sets, key=lambda rs: (parse_time(rs.metadata.creation_timestamp) or datetime.min.replace(tzinfo=UTC),
                                        rs.metadata.name))


def active(sets: Iterable[apps_pb2.ReplicaSet | None]) -> list[apps_pb2.ReplicaSet]:
    return [rs for rs in sets if rs is not None and replicas(rs.spec) > 0]


# ---------------------------------------------------------------------------------------- new and old


def find_new(deployment: apps_pb2.Deployment, sets: Sequence[apps_pb2.ReplicaSet]) -> apps_pb2.ReplicaSet | None:
    """The oldest ReplicaSet whose template is the Deployment's (a later twin is treated as old)."""
    for rs in by_creation(sets):
        if equal_ignoring_hash(rs.spec.template, deployment.spec.template):
            return rs
    return None


def find_old(deployment: apps_pb2.Deployment, sets: Sequence[apps_pb2.ReplicaSet],
             ) -> tuple[list[apps_pb2.ReplicaSet], list[apps_pb2.ReplicaSet]]:
    """(old ones with pods wanted, every old one)."""
    new = find_new(deployment, sets)
    every = [rs for rs in sets if new is None or rs.metadata.uid != new.metadata.uid]
    return [rs for rs in every if replicas(rs.spec) != 0], every


# ---------------------------------------------------------------------------------------- annotations


def replicas_annotations(deployment: apps_pb2.Deployment) -> dict[str, str]:
    """desired-replicas and max-replicas, as the Deployment's ReplicaSets carry them."""
    desired = replicas(deployment.spec)
    return {DESIRED_REPLICAS: str(desired), MAX_REPLICAS: str(desired + max_surge(deployment))}


def replicas_annotations_need_update(rs: apps_pb2.ReplicaSet, deployment: apps_pb2.Deployment) -> bool:
    wanted = replicas_annotations(deployment)
    return any(rs.metadata.annotations.get(key) != value for key, value in wanted.items())


def new_rs_annotations(deployment: apps_pb2.Deployment, current: Mapping[str, str], new_revision: int,
                       exists: bool) -> dict[str, str]:
    """The new ReplicaSet's annotations (SetNewReplicaSetAnnotations): the Deployment's own (its
    change-cause among them), a revision above every old one's, and, when a ReplicaSet is taken back
    into service by a rollback, the revisions it had before in revision-history."""
    result = dict(current)
    for key, value in deployment.metadata.annotations.items():
        if key not in NOT_COPIED:
            result[key] = value
    old_text = current.get(REVISION)
    if old_text is not None and not old_text.isdigit():
        return result  # a revision that is not a number is left as it is
    old_revision = int(old_text) if old_text else 0
    if old_revision < new_revision:
        result[REVISION] = str(new_revision)
        if old_text is not None:
            history = current.get(REVISION_HISTORY, "")
            result[REVISION_HISTORY] = _append_history(history, old_text)
    if not exists:
        result.update(replicas_annotations(deployment))
    return result


def _append_history(history: str, revision_text: str) -> str:
    if not history:
        return revision_text
    parts = history.split(",")
    length = len(history) + len(revision_text) + 1
    start = 0
    while length > MAX_REVISION_HISTORY_CHARS and start < len(parts):
        length -= len(parts[start]) + 1
        start += 1
    if length > MAX_REVISION_HISTORY_CHARS:
        return history
    return ",".join([*parts[start:], revision_text])


# ---------------------------------------------------------------------------------------- scaling


@dataclass(frozen=True, slots=True)
class Scale:
    """Set a ReplicaSet's spec.replicas to `to` (and its desired/max-replicas annotations). With
    `only_if_resized`, nothing is written when the size is already `to` (scaleReplicaSetAndRecordEvent);
    without, stale annotations alone are a reason to write (scaleReplicaSet)."""

    name: str
    to: int
    only_if_resized: bool = True


def new_rs_new_replicas(deployment: apps_pb2.Deployment, every: Sequence[apps_pb2.ReplicaSet | None],
                        new_replicas: int) -> int:
    """How big the new ReplicaSet may be now (NewRSNewReplicas): for a rolling update, as big as the
    surge allows and no bigger than wanted; for Recreate, what is wanted."""
    desired = replicas(deployment.spec)
    if not is_rolling(deployment):
        return desired
    surge = max_surge(deployment)
    current = total_replicas(every)
    ceiling = desired + surge
    if current >= ceiling:
        return new_replicas
    return new_replicas + min(ceiling - current, desired - new_replicas)


def reconcile_new(deployment: apps_pb2.Deployment, every: Sequence[apps_pb2.ReplicaSet],
                  new: apps_pb2.ReplicaSet) -> Scale | None:
    """The new ReplicaSet's step of a rolling update (reconcileNewReplicaSet); None: nothing to do."""
    desired = replicas(deployment.spec)
    current = replicas(new.spec)
    if current == desired:
        return None
    if current > desired:
        return Scale(new.metadata.name, desired)
    target = new_rs_new_replicas(deployment, every, current)
    return Scale(new.metadata.name, target) if target != current else None


def _with_replicas(rs: apps_pb2.ReplicaSet, count: int) -> apps_pb2.ReplicaSet:
    copy = apps_pb2.ReplicaSet()
    copy.CopyFrom(rs)
    copy.spec.replicas = count
    return copy


def reconcile_old(deployment: apps_pb2.Deployment, olds: Sequence[apps_pb2.ReplicaSet],
                  new: apps_pb2.ReplicaSet) -> list[Scale]:
    """The old ReplicaSets' steps of a rolling update (reconcileOldReplicaSets), in order: first the
    pods that are not available anyway (that removes no availability), then as many available old
    pods as keep `replicas - maxUnavailable` available. `olds` are the active old ones."""
    old_count = total_replicas(olds)
    if old_count == 0:
        return []
    every_count = total_replicas([*olds, new])
    desired = replicas(deployment.spec)
    min_available = desired - max_unavailable(deployment)
    new_unavailable = replicas(new.spec) - new.status.available_replicas
    max_scaled_down = every_count - min_available - new_unavailable
    if max_scaled_down <= 0:
        return []
    steps: list[Scale] = []
    # Unhealthy replicas first (cleanupUnhealthyReplicas): they would block the rollout otherwise.
    updated: list[apps_pb2.ReplicaSet] = []
    cleaned = 0
    for rs in by_creation(olds):
        size = replicas(rs.spec)
        unhealthy = size - rs.status.available_replicas
        if cleaned >= max_scaled_down or size == 0 or unhealthy <= 0:
            updated.append(rs)
            continue
        count = min(max_scaled_down - cleaned, unhealthy)
        steps.append(Scale(rs.metadata.name, size - count))
        updated.append(_with_replicas(rs, size - count))
        cleaned += count
    # Then available ones, as far as the availability budget allows.
    available = available_replicas([*updated, new])
    if available <= min_available:
        return steps
    budget = available - min_available
    scaled = 0
    for rs in by_creation(updated):
        if scaled >= budget:
            break
        size = replicas(rs.spec)
        if size == 0:
            continue
        count = min(size, budget - scaled)
        steps.append(Scale(rs.metadata.name, size - count))
        scaled += count
    return steps


def recreate_scale_down(olds: Sequence[apps_pb2.ReplicaSet]) -> list[Scale]:
    """Recreate's first step: every active old ReplicaSet to 0."""
    return [Scale(rs.metadata.name, 0) for rs in olds if replicas(rs.spec) != 0]


def old_pods_running(new: apps_pb2.ReplicaSet | None, olds: Sequence[apps_pb2.ReplicaSet],
                     pod_phases_by_rs: Mapping[str, Sequence[str]]) -> bool:
    """Whether an old ReplicaSet still has pods that are not finished (Recreate waits for none)."""
    if actual_replicas(olds) > 0:
        return True
    for uid, phases in pod_phases_by_rs.items():
        if new is not None and uid == new.metadata.uid:
            continue
        if any(phase not in ("Succeeded", "Failed") for phase in phases):
            return True
    return False


def is_saturated(deployment: apps_pb2.Deployment, rs: apps_pb2.ReplicaSet | None) -> bool:
    if rs is None:
        return False
    desired = replicas(deployment.spec)
    return (replicas(rs.spec) == desired and _int_annotation(rs, DESIRED_REPLICAS) == desired
            and rs.status.available_replicas == desired)


def find_active_or_latest(new: apps_pb2.ReplicaSet | None,
                          olds: Sequence[apps_pb2.ReplicaSet]) -> apps_pb2.ReplicaSet | None:
    """The only active ReplicaSet, or the newest when none is active; None when several are."""
    if new is None and not olds:
        return None
    newest_first = list(reversed(by_creation(olds)))
    running = active([*newest_first, new])
    if len(running) == 0:
        return new if new is not None else newest_first[0]
    if len(running) == 1:
        return running[0]
    return None


def is_scaling_event(deployment: apps_pb2.Deployment, new: apps_pb2.ReplicaSet | None,
                     olds: Sequence[apps_pb2.ReplicaSet]) -> bool:
    """The Deployment's replicas changed since its active ReplicaSets were sized for it."""
    desired = replicas(deployment.spec)
    for rs in active([*olds, new]):
        annotated = _int_annotation(rs, DESIRED_REPLICAS)
        if annotated is not None and annotated != desired:
            return True
    return False


def _round_half_away(numerator: int, denominator: int) -> int:
    """numerator/denominator rounded half away from zero, without floats (Go's math.Round)."""
    sign = -1 if (numerator < 0) != (denominator < 0) else 1
    n, d = abs(numerator), abs(denominator)
    return sign * ((2 * n + d) // (2 * d))


def _fraction(rs: apps_pb2.ReplicaSet, deployment: apps_pb2.Deployment) -> int:
    """How many pods `rs` gains (or loses) for its share of the Deployment's new size."""
    desired = replicas(deployment.spec)
    if desired == 0:
        return -replicas(rs.spec)
    allowed = desired + max_surge(deployment)
    annotated = _int_annotation(rs, MAX_REPLICAS)
    if annotated is None:
        annotated = deployment.status.replicas
    if annotated == 0:
        return 0
    return _round_half_away(replicas(rs.spec) * allowed, annotated) - replicas(rs.spec)


def _proportion(rs: apps_pb2.ReplicaSet, deployment: apps_pb2.Deployment, to_add: int, added: int) -> int:
    if replicas(rs.spec) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, deployment)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def scale(deployment: apps_pb2.Deployment, new: apps_pb2.ReplicaSet | None,
          olds: Sequence[apps_pb2.ReplicaSet]) -> list[Scale]:
    """A paused Deployment, or one whose replicas changed: size its ReplicaSets (sync.go's scale).
    One active ReplicaSet simply takes the whole size; several in a rolling update share the change
    in proportion to their sizes (bigger ones first, the rounding leftover to the biggest), so a
    scale in the middle of a rollout neither restarts nor speeds it."""
    desired = replicas(deployment.spec)
    only = find_active_or_latest(new, olds)
    if only is not None:
        return [] if replicas(only.spec) == desired else [Scale(only.metadata.name, desired)]
    if is_saturated(deployment, new):
        return [Scale(rs.metadata.name, 0) for rs in active(olds)]
    if not is_rolling(deployment):
        return []
    running = active([*olds, new])
    current = total_replicas(running)
    allowed = desired + max_surge(deployment) if desired > 0 else 0
    to_add = allowed - current
    if to_add > 0:  # bigger first; of equal size, newer first
        running = sorted(by_creation(running), key=lambda rs: replicas(rs.spec), reverse=True)
        running = _stable_reverse_ties(running)
    elif to_add < 0:  # bigger first; of equal size, older first
        running = sorted(by_creation(running), key=lambda rs: replicas(rs.spec), reverse=True)
    sizes: dict[str, int] = {}
    added = 0
    for rs in running:
        if to_add != 0:
            share = _proportion(rs, deployment, to_add, added)
            sizes[rs.metadata.name] = replicas(rs.spec) + share
            added += share
        else:
            sizes[rs.metadata.name] = replicas(rs.spec)
    steps = []
    for position, rs in enumerate(running):
        size = sizes[rs.metadata.name]
        if position == 0 and to_add != 0:
            size = max(size + to_add - added, 0)
        steps.append(Scale(rs.metadata.name, size, only_if_resized=False))
    return steps


def _stable_reverse_ties(ordered: list[apps_pb2.ReplicaSet]) -> list[apps_pb2.ReplicaSet]:
    """Within runs of equal size (oldest first), newest first instead."""
    result: list[apps_pb2.ReplicaSet] = []
    run: list[apps_pb2.ReplicaSet] = []
    for rs in ordered:
        if run and replicas(run[-1].spec) != replicas(rs.spec):
            result.extend(reversed(run))
            run = []
        run.append(rs)
    result.extend(reversed(run))
    return result


# ---------------------------------------------------------------------------------------- status


def has_progress_deadline(deployment: apps_pb2.Deployment) -> bool:
    spec = deployment.spec
    return spec.HasField("progress_deadline_seconds") and spec.progress_deadline_seconds != _NO_DEADLINE


def calculate_status(deployment: apps_pb2.Deployment, every: Sequence[apps_pb2.ReplicaSet | None],
                     new: apps_pb2.ReplicaSet | None, now: str) -> apps_pb2.DeploymentStatus:
    """The Deployment's status from its ReplicaSets' (calculateStatus), Available condition included."""
    available = available_replicas(every)
    status = apps_pb2.DeploymentStatus(
        observed_generation=deployment.metadata.generation,
        replicas=actual_replicas(every),
        updated_replicas=actual_replicas([new]),
        ready_replicas=ready_replicas(every),
        available_replicas=available,
        unavailable_replicas=max(total_replicas(every) - available, 0))
    if deployment.status.HasField("collision_count"):
        status.collision_count = deployment.status.collision_count
    status.conditions.extend(deployment.status.conditions)
    if available >= replicas(deployment.spec) - max_unavailable(deployment):
        conditions.set_condition(status.conditions, conditions.new(
            AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE, "Deployment has minimum availability.", now))
    else:
        conditions.set_condition(status.conditions, conditions.new(
            AVAILABLE, "False", MINIMUM_REPLICAS_UNAVAILABLE, "Deployment does not have minimum availability.",
            now))
    return status


def is_complete(deployment: apps_pb2.Deployment, status: apps_pb2.DeploymentStatus) -> bool:
    """Every replica updated and available, and the latest spec observed (DeploymentComplete)."""
    desired = replicas(deployment.spec)
    return (status.updated_replicas == desired and status.replicas == desired
            and status.available_replicas == desired
            and status.observed_generation >= deployment.metadata.generation)


def is_progressing(deployment: apps_pb2.Deployment, status: apps_pb2.DeploymentStatus) -> bool:
    """Something moved since the last status: more updated, fewer old, more ready or available."""
    old = deployment.status
    return (status.updated_replicas > old.updated_replicas
            or status.replicas - status.updated_replicas < old.replicas - old.updated_replicas
            or status.ready_replicas > old.ready_replicas
            or status.available_replicas > old.available_replicas)


def is_timed_out(deployment: apps_pb2.Deployment, status: apps_pb2.DeploymentStatus, now: datetime) -> bool:
    """No progress for progressDeadlineSeconds since the Progressing condition last moved."""
    if not has_progress_deadline(deployment):
        return False
    condition = conditions.get(status.conditions, PROGRESSING)
    if condition is None or condition.reason == NEW_RS_AVAILABLE:
        return False
    if condition.reason == TIMED_OUT:
        return True
    since = parse_time(condition.last_update_time)
    if since is None:
        return False
    return since + timedelta(seconds=deployment.spec.progress_deadline_seconds) < now


def rollout_status(deployment: apps_pb2.Deployment, every: Sequence[apps_pb2.ReplicaSet | None],
                   new: apps_pb2.ReplicaSet | None, now: datetime, now_text: str) -> apps_pb2.DeploymentStatus:
    """The status after a rollout step (syncRolloutStatus): counts, Available, and Progressing
    telling whether the rollout moved, completed, or went past its deadline; ReplicaFailure copied
    from the ReplicaSets."""
    status = calculate_status(deployment, every, new, now_text)
    if not has_progress_deadline(deployment):
        conditions.remove(status.conditions, PROGRESSING)
    current = conditions.get(deployment.status.conditions, PROGRESSING)
    complete_before = (status.replicas == status.updated_replicas and current is not None
                       and current.reason == NEW_RS_AVAILABLE)
    if has_progress_deadline(deployment) and not complete_before:
        if is_complete(deployment, status):
            message = (f'ReplicaSet "{new.metadata.name}" has successfully progressed.' if new is not None
                       else f'Deployment "{deployment.metadata.name}" has successfully progressed.')
            conditions.set_condition(status.conditions,
                                     conditions.new(PROGRESSING, "True", NEW_RS_AVAILABLE, message, now_text))
        elif is_progressing(deployment, status):
            message = (f'ReplicaSet "{new.metadata.name}" is progressing.' if new is not None
                       else f'Deployment "{deployment.metadata.name}" is progressing.')
            condition = conditions.new(PROGRESSING, "True", RS_UPDATED, message, now_text)
            if current is not None:
                if current.status == "True":
                    condition.last_transition_time = current.last_transition_time
                conditions.remove(status.conditions, PROGRESSING)
            status.conditions.append(condition)  # a fresh lastUpdateTime even when the reason is the same
        elif is_timed_out(deployment, status, now):
            message = (f'ReplicaSet "{new.metadata.name}" has timed out progressing.' if new is not None
                       else f'Deployment "{deployment.metadata.name}" has timed out progressing.')
            conditions.set_condition(status.conditions,
                                     conditions.new(PROGRESSING, "False", TIMED_OUT, message, now_text))
    failures = replica_failures(every, new)
    if failures:
        conditions.set_condition(status.conditions, failures[0])
    else:
        conditions.remove(status.conditions, REPLICA_FAILURE)
    return status


def replica_failures(every: Sequence[apps_pb2.ReplicaSet | None],
                     new: apps_pb2.ReplicaSet | None) -> list[meta_pb2.Condition]:
    """ReplicaFailure conditions of the new ReplicaSet, else of any other, as Deployment conditions."""

    def of(rs: apps_pb2.ReplicaSet) -> list[meta_pb2.Condition]:
        return [meta_pb2.Condition(type=REPLICA_FAILURE, status=c.status, reason=c.reason, message=c.message,
                                   last_update_time=c.last_transition_time,
                                   last_transition_time=c.last_transition_time)
                for c in rs.status.conditions if c.type == REPLICA_FAILURE]

    found = of(new) if new is not None else []
    if found:
        return found
    return [condition for rs in every if rs is not None for condition in of(rs)]


def stuck_recheck_after(deployment: apps_pb2.Deployment, status: apps_pb2.DeploymentStatus,
                        now: datetime) -> float | None:
    """Seconds after which to look at a rollout that made no progress, to tell whether it went past
    its deadline (requeueStuckDeployment); None when there is no deadline to watch."""
    current = conditions.get(deployment.status.conditions, PROGRESSING)
    if not has_progress_deadline(deployment) or current is None:
        return None
    if is_complete(deployment, status) or current.reason == TIMED_OUT:
        return None
    since = parse_time(current.last_update_time)
    if since is None:
        return None
    after = (since + timedelta(seconds=deployment.spec.progress_deadline_seconds) - now).total_seconds()
    return max(after, 0.0) + 1.0  # a second late at most: times are kept to the second


def paused_condition(deployment: apps_pb2.Deployment, now: str) -> meta_pb2.Condition | None:
    """The Progressing condition a pause or a resume sets (checkPausedConditions); None: no change."""
    if not has_progress_deadline(deployment):
        return None
    current = conditions.get(deployment.status.conditions, PROGRESSING)
    if current is not None and current.reason == TIMED_OUT:
        return None  # a timeout already reported is not hidden by a pause
    paused_shown = current is not None and current.reason == PAUSED
    if deployment.spec.paused and not paused_shown:
        return conditions.new(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
    if not deployment.spec.paused and paused_shown:
        return conditions.new(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now)
    return None


# ---------------------------------------------------------------------------------------- history


def cleanup(deployment: apps_pb2.Deployment, olds: Sequence[apps_pb2.ReplicaSet]) -> list[apps_pb2.ReplicaSet]:
    """The old ReplicaSets to delete beyond revisionHistoryLimit: the oldest revisions first, and
    only those scaled to 0 with no pod left and their latest spec observed (cleanupDeployment)."""
    if not deployment.spec.HasField("revision_history_limit"):
        return []
    alive = [rs for rs in olds if not rs.metadata.deletion_timestamp]
    excess = len(alive) - deployment.spec.revision_history_limit
    if excess <= 0:
        return []
    ordered = sorted(by_creation(alive), key=lambda rs: revision(rs) or 0)
    return [rs for rs in ordered[:excess]
            if rs.status.replicas == 0 and replicas(rs.spec) == 0
            and rs.metadata.generation <= rs.status.observed_generation]
