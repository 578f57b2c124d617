"""The Deployment controller: rolls each Deployment's pods from ReplicaSet to ReplicaSet.

One reconcile of a Deployment (Kubernetes' syncDeployment), all arithmetic in rollout.py:
1. its ReplicaSets: those it owns, plus orphans its selector matches (adopted); owned ones it no
   longer matches are released;
2. deleted: only its status is kept up to date; paused: Progressing says so, its ReplicaSets are
   only resized (a `scale`), nothing rolls; a changed `replicas`: the same resize, in proportion
   during a rollout;
3. otherwise one step of its strategy: RollingUpdate scales the new ReplicaSet (named
   `<deployment>-<pod-template-hash>`, created when the template changed) up as far as maxSurge
   allows, then the old ones down as far as maxUnavailable allows; Recreate scales every old one to
   0, waits for their pods to be gone, then scales the new one up; a finished rollout deletes the
   old ReplicaSets beyond revisionHistoryLimit;
4. its status from its ReplicaSets': replicas, updated, ready, available, unavailable, and the
   Available and Progressing conditions (progressDeadlineSeconds watched by looking again later).
Each ReplicaSet status change brings the Deployment back here, so a rollout advances as pods turn
ready. Events: ScalingReplicaSet `Scaled up replica set web-7d4b9c5f6d from 0 to 3`.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.labels import Selector, SelectorError
from controlplane.api.timestamps import format_time
from controlplane.api.v1 import apps_pb2
from controlplane.client.informer import object_key
from controlplane.controllers import conditions, rollout
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.ownership import Claimer, controller_of, controller_reference, selector_of
from controlplane.controllers.replicaset import CONTROLLER_INDEX, POD, REPLICA_SET, controller_index
from controlplane.controllers.templatehash import TEMPLATE_HASH_LABEL, equal_ignoring_hash, template_hash

log = structlog.get_logger("deployment-controller")

DEPLOYMENT = kinds.by_kind("Deployment")
COMPONENT = "deployment-controller"


def _copy(deployment: apps_pb2.Deployment) -> apps_pb2.Deployment:
    copy = apps_pb2.Deployment()
    copy.CopyFrom(deployment)
    return copy


def new_replica_set(deployment: apps_pb2.Deployment, olds: list[apps_pb2.ReplicaSet],
                    revision: int) -> apps_pb2.ReplicaSet:
    """The ReplicaSet of the Deployment's current template (not yet sized against the others)."""
    collision = deployment.status.collision_count if deployment.status.HasField("collision_count") else None
    digest = template_hash(deployment.spec.template, collision)
    rs = apps_pb2.ReplicaSet(api_version="apps/v1", kind="ReplicaSet")
    rs.metadata.name = f"{deployment.metadata.name}-{digest}"
    rs.metadata.namespace = deployment.metadata.namespace
    rs.metadata.owner_references.append(controller_reference(deployment))
    rs.spec.template.CopyFrom(deployment.spec.template)
    rs.spec.template.metadata.labels[TEMPLATE_HASH_LABEL] = digest
    rs.metadata.labels.update(rs.spec.template.metadata.labels)
    rs.spec.selector.CopyFrom(deployment.spec.selector)
    rs.spec.selector.match_labels[TEMPLATE_HASH_LABEL] = digest
    rs.spec.min_ready_seconds = deployment.spec.min_ready_seconds
    rs.spec.replicas = 0
    rs.spec.replicas = rollout.new_rs_new_replicas(deployment, [*olds, rs], 0)
    rs.metadata.annotations.update(rollout.new_rs_annotations(deployment, {}, revision, exists=False))
    return rs


class DeploymentController(QueueController):
    name = "deployment"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, workers=context.config.workers)
        self.deployments = context.informers(DEPLOYMENT)
        self.replica_sets = context.informers(REPLICA_SET)
        self.pods = context.informers(POD)
        self.replica_sets.add_index(CONTROLLER_INDEX, controller_index)
        self.pods.add_index(CONTROLLER_INDEX, controller_index)
        self.recorder = context.recorder(COMPONENT)
        self.deployments.add_handler(lambda old, new: self.queue.add(object_key(new or old)))
        self.replica_sets.add_handler(self._on_replica_set)
        self.pods.add_handler(self._on_pod)

    # ------------------------------------------------------------------ watch handlers

    def _owner(self, obj: Any, kind: str = "Deployment") -> Any | None:
        reference = controller_of(obj.metadata)
        if reference is None or reference.kind != kind:
            return None
        informer = self.deployments if kind == "Deployment" else self.replica_sets
        owner = informer.get(obj.metadata.namespace, reference.name)
        return owner if owner is not None and owner.metadata.uid == reference.uid else None

    def _enqueue_matching(self, rs: apps_pb2.ReplicaSet) -> None:
        for deployment in self.deployments.list(rs.metadata.namespace):
            try:
                selector = selector_of(deployment.spec.selector)
            except SelectorError:
                continue
            if not selector.empty and selector.matches(rs.metadata.labels):
                self.queue.add(object_key(deployment))

    def _on_replica_set(self, old: Any, new: Any) -> None:
        current = new or old
        if old is not None and new is not None and old.metadata.resource_version == new.metadata.resource_version:
            return
        if old is not None and new is not None:
            previous = self._owner(old)
            if previous is not None and controller_of(old.metadata) != controller_of(new.metadata):
                self.queue.add(object_key(previous))
        owner = self._owner(current)
        if owner is not None:
            self.queue.add(object_key(owner))
        elif new is not None and controller_of(new.metadata) is None and (
                old is None or dict(old.metadata.labels) != dict(new.metadata.labels)
                or controller_of(old.metadata) is not None):
            self._enqueue_matching(new)

    def _on_pod(self, old: Any, new: Any) -> None:
        """Recreate waits for the old pods to be gone: their deletion brings the Deployment back."""
        if new is not None:
            return
        rs = self._owner(old, "ReplicaSet")
        deployment = self._owner(rs) if rs is not None else None
        if deployment is not None and deployment.spec.strategy.type == rollout.RECREATE:
            self.queue.add(object_key(deployment))

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, key: str) -> float | None:
        cached = self.deployments.get_by_key(key)
        if cached is None:
            return None
        deployment = _copy(cached)
        try:
            selector = selector_of(deployment.spec.selector)
        except SelectorError as error:
            log.warning("deployment.bad_selector", deployment=key, error=str(error))
            return None
        if selector.empty:
            return None  # validation refuses it; never select every ReplicaSet of the namespace
        sets = await self._claim(deployment, selector)
        if deployment.metadata.deletion_timestamp:
            await self._sync_status_only(deployment, sets)
            return None
        deployment = await self._check_paused(deployment)
        if deployment.spec.paused:
            await self._sync_scale(deployment, sets)
            return None
        new, olds = rollout.find_new(deployment, sets), rollout.find_old(deployment, sets)[1]
        if rollout.is_scaling_event(deployment, new, olds):
            await self._sync_scale(deployment, sets)
            return None
        if deployment.spec.strategy.type == rollout.RECREATE:
            return await self._rollout_recreate(deployment, sets, selector)
        return await self._rollout_rolling(deployment, sets)

    async def _claim(self, deployment: apps_pb2.Deployment, selector: Selector) -> list[apps_pb2.ReplicaSet]:
        candidates = self.replica_sets.by_index(CONTROLLER_INDEX, deployment.metadata.uid)
        candidates += self.replica_sets.by_index(CONTROLLER_INDEX, "orphan/" + deployment.metadata.namespace)
        claimer = Claimer(self.client, deployment, lambda rs: selector.matches(rs.metadata.labels))
        claimed: list[apps_pb2.ReplicaSet] = await claimer.claim(candidates)
        return claimed

    # ------------------------------------------------------------------ writing

    async def _write_status(self, deployment: apps_pb2.Deployment) -> apps_pb2.Deployment:
        stored = await self.client.update_status(deployment)
        deployment.metadata.resource_version = stored.metadata.resource_version  # type: ignore[attr-defined]
        return deployment

    async def _set_revision(self, deployment: apps_pb2.Deployment, revision: str) -> apps_pb2.Deployment:
        """The Deployment's revision annotation follows its new ReplicaSet's (SetDeploymentRevision)."""
        if not revision or deployment.metadata.annotations.get(rollout.REVISION) == revision:
            return deployment
        patch = json.dumps({"metadata": {"annotations": {rollout.REVISION: revision}}})
        stored = await self.client.patch(DEPLOYMENT, deployment.metadata.namespace, deployment.metadata.name, patch)
        deployment.metadata.annotations[rollout.REVISION] = revision
        deployment.metadata.resource_version = stored.metadata.resource_version  # type: ignore[attr-defined]
        return deployment

    async def _scale(self, deployment: apps_pb2.Deployment, rs: apps_pb2.ReplicaSet,
                     step: rollout.Scale) -> tuple[bool, apps_pb2.ReplicaSet]:
        """Apply one step; (whether the size changed, the ReplicaSet as stored)."""
        size = rollout.replicas(rs.spec)
        resized = size != step.to
        if step.only_if_resized and not resized:
            return False, rs
        if not resized and not rollout.replicas_annotations_need_update(rs, deployment):
            return False, rs
        updated = apps_pb2.ReplicaSet()
        updated.CopyFrom(rs)
        updated.spec.replicas = step.to
        updated.metadata.annotations.update(rollout.replicas_annotations(deployment))
        stored = await self.client.update(updated)
        assert isinstance(stored, apps_pb2.ReplicaSet)
        if resized:
            direction = "up" if step.to > size else "down"
            log.info("deployment.scaled", deployment=object_key(deployment), replicaset=rs.metadata.name,
                     replicas_from=size, replicas_to=step.to)
            await self.recorder.record(deployment, "Normal", "ScalingReplicaSet",
                                       f"Scaled {direction} replica set {rs.metadata.name} from {size} to {step.to}")
        return resized, stored

    async def _apply(self, deployment: apps_pb2.Deployment, steps: list[rollout.Scale],
                     sets: dict[str, apps_pb2.ReplicaSet]) -> bool:
        """Apply steps in order (a ReplicaSet named twice is written twice); whether any resized.
        `sets` (by name) is updated with what was stored."""
        resized = False
        for step in steps:
            changed, sets[step.name] = await self._scale(deployment, sets[step.name], step)
            resized |= changed
        return resized

    # ------------------------------------------------------------------ the new ReplicaSet

    async def _all_sets(self, deployment: apps_pb2.Deployment, sets: list[apps_pb2.ReplicaSet], create: bool,
                        ) -> tuple[apps_pb2.Deployment, apps_pb2.ReplicaSet | None, list[apps_pb2.ReplicaSet]]:
        """(deployment, new ReplicaSet or None, every old one), creating or updating the new one
        (getAllReplicaSetsAndSyncRevision)."""
        olds = rollout.find_old(deployment, sets)[1]
        deployment, new = await self._new_set(deployment, sets, olds, create)
        return deployment, new, olds

    async def _new_set(self, deployment: apps_pb2.Deployment, sets: list[apps_pb2.ReplicaSet],
                       olds: list[apps_pb2.ReplicaSet], create: bool,
                       ) -> tuple[apps_pb2.Deployment, apps_pb2.ReplicaSet | None]:
        existing = rollout.find_new(deployment, sets)
        revision = rollout.max_revision(olds) + 1
        now = format_time(datetime.now(UTC))
        if existing is not None:
            annotations = rollout.new_rs_annotations(deployment, existing.metadata.annotations, revision, exists=True)
            if annotations != dict(existing.metadata.annotations) or \
                    existing.spec.min_ready_seconds != deployment.spec.min_ready_seconds:
                updated = apps_pb2.ReplicaSet()
                updated.CopyFrom(existing)
                updated.metadata.annotations.clear()
                updated.metadata.annotations.update(annotations)
                updated.spec.min_ready_seconds = deployment.spec.min_ready_seconds
                stored = await self.client.update(updated)
                assert isinstance(stored, apps_pb2.ReplicaSet)
                return deployment, stored
            deployment = await self._set_revision(deployment, existing.metadata.annotations.get(rollout.REVISION, ""))
            if rollout.has_progress_deadline(deployment) and \
                    conditions.get(deployment.status.conditions, rollout.PROGRESSING) is None:
                conditions.set_condition(deployment.status.conditions, conditions.new(
                    rollout.PROGRESSING, "True", rollout.FOUND_NEW_RS,
                    f'Found new replica set "{existing.metadata.name}"', now))
                deployment = await self._write_status(deployment)
            return deployment, existing
        if not create:
            return deployment, None
        wanted = new_replica_set(deployment, olds, revision)
        name = wanted.metadata.name
        created: apps_pb2.ReplicaSet
        already_there = False
        try:
            stored = await self.client.create(wanted)
            assert isinstance(stored, apps_pb2.ReplicaSet)
            created = stored
        except ApiError as error:
            if error.reason is Reason.ALREADY_EXISTS:
                found = await self.client.get(REPLICA_SET, deployment.metadata.namespace, name)
                assert isinstance(found, apps_pb2.ReplicaSet)
                owner = controller_of(found.metadata)
                if owner is not None and owner.uid == deployment.metadata.uid and \
                        equal_ignoring_hash(deployment.spec.template, found.spec.template):
                    created, already_there = found, True  # made by an earlier sync the cache has not shown yet
                else:
                    # Another template hashed to the same name: hash again with a bumped count.
                    count = deployment.status.collision_count if deployment.status.HasField("collision_count") else 0
                    deployment.status.collision_count = count + 1
                    await self._write_status(deployment)
                    log.info("deployment.hash_collision", deployment=object_key(deployment), replicaset=name,
                             collision_count=count + 1)
                    raise
            else:
                message = f'Failed to create new replica set "{name}": {error.message}'
                if rollout.has_progress_deadline(deployment):
                    conditions.set_condition(deployment.status.conditions, conditions.new(
                        rollout.PROGRESSING, "False", rollout.FAILED_RS_CREATE, message, now))
                    with contextlib.suppress(ApiError):  # the failure to create is the thing to report
                        await self._write_status(deployment)
                await self.recorder.record(deployment, "Warning", rollout.FAILED_RS_CREATE, message)
                raise
        size = rollout.replicas(created.spec)
        if not already_there and size > 0:
            await self.recorder.record(deployment, "Normal", "ScalingReplicaSet",
                                       f"Scaled up replica set {name} from 0 to {size}")
        deployment = await self._set_revision(deployment, str(revision))
        if not already_there and rollout.has_progress_deadline(deployment):
            conditions.set_condition(deployment.status.conditions, conditions.new(
                rollout.PROGRESSING, "True", rollout.NEW_RS_CREATED, f'Created new replica set "{name}"', now))
            deployment = await self._write_status(deployment)
        return deployment, created

    # ------------------------------------------------------------------ the strategies

    async def _rollout_rolling(self, deployment: apps_pb2.Deployment,
                               sets: list[apps_pb2.ReplicaSet]) -> float | None:
        deployment, new, olds = await self._all_sets(deployment, sets, create=True)
        assert new is not None
        by_name = {rs.metadata.name: rs for rs in [*olds, new]}
        step = rollout.reconcile_new(deployment, [*olds, new], new)
        if step is not None and await self._apply(deployment, [step], by_name):
            return await self._sync_rollout_status(deployment, by_name, new.metadata.name)
        new = by_name[new.metadata.name]
        steps = rollout.reconcile_old(deployment, rollout.active(by_name[rs.metadata.name] for rs in olds), new)
        if await self._apply(deployment, steps, by_name):
            return await self._sync_rollout_status(deployment, by_name, new.metadata.name)
        if rollout.is_complete(deployment, deployment.status):
            await self._cleanup(deployment, olds)
        return await self._sync_rollout_status(deployment, by_name, new.metadata.name)

    async def _rollout_recreate(self, deployment: apps_pb2.Deployment, sets: list[apps_pb2.ReplicaSet],
                                selector: Selector) -> float | None:
        deployment, new, olds = await self._all_sets(deployment, sets, create=False)
        by_name = {rs.metadata.name: rs for rs in [*olds, *([new] if new else [])]}
        new_name = new.metadata.name if new is not None else None
        if await self._apply(deployment, rollout.recreate_scale_down(rollout.active(olds)), by_name):
            return await self._sync_rollout_status(deployment, by_name, new_name)
        phases: dict[str, list[str]] = {}
        for rs in sets:
            for pod in self.pods.by_index(CONTROLLER_INDEX, rs.metadata.uid):
                if selector.matches(pod.metadata.labels):
                    phases.setdefault(rs.metadata.uid, []).append(pod.status.phase)
        current_olds = [by_name[rs.metadata.name] for rs in olds]
        if rollout.old_pods_running(new, current_olds, phases):
            return await self._sync_rollout_status(deployment, by_name, new_name)
        if new is None:
            deployment, new, olds = await self._all_sets(deployment, sets, create=True)
            assert new is not None
            by_name[new.metadata.name] = new
            new_name = new.metadata.name
        await self._apply(deployment, [rollout.Scale(new.metadata.name, rollout.replicas(deployment.spec))], by_name)
        if rollout.is_complete(deployment, deployment.status):
            await self._cleanup(deployment, olds)
        return await self._sync_rollout_status(deployment, by_name, new_name)

    async def _sync_scale(self, deployment: apps_pb2.Deployment, sets: list[apps_pb2.ReplicaSet]) -> None:
        """A paused Deployment or a change of replicas: resize only (sync.go's sync)."""
        deployment, new, olds = await self._all_sets(deployment, sets, create=False)
        by_name = {rs.metadata.name: rs for rs in [*olds, *([new] if new else [])]}
        await self._apply(deployment, rollout.scale(deployment, new, olds), by_name)
        if deployment.spec.paused:
            await self._cleanup(deployment, olds)
        new_now = by_name[new.metadata.name] if new is not None else None
        every = [by_name[rs.metadata.name] for rs in olds] + [new_now]
        status = rollout.calculate_status(deployment, every, new_now, format_time(datetime.now(UTC)))
        if status != deployment.status:
            deployment.status.CopyFrom(status)
            await self._write_status(deployment)

    async def _sync_status_only(self, deployment: apps_pb2.Deployment, sets: list[apps_pb2.ReplicaSet]) -> None:
        deployment, new, olds = await self._all_sets(deployment, sets, create=False)
        status = rollout.calculate_status(deployment, [*olds, new], new, format_time(datetime.now(UTC)))
        if status != deployment.status:
            deployment.status.CopyFrom(status)
            await self._write_status(deployment)

    async def _check_paused(self, deployment: apps_pb2.Deployment) -> apps_pb2.Deployment:
        condition = rollout.paused_condition(deployment, format_time(datetime.now(UTC)))
        if condition is None:
            return deployment
        conditions.set_condition(deployment.status.conditions, condition)
        return await self._write_status(deployment)

    async def _sync_rollout_status(self, deployment: apps_pb2.Deployment, by_name: dict[str, apps_pb2.ReplicaSet],
                                   new_name: str | None) -> float | None:
        now = datetime.now(UTC)
        new = by_name[new_name] if new_name is not None else None
        every = [rs for name, rs in by_name.items() if name != new_name] + [new]
        status = rollout.rollout_status(deployment, every, new, now, format_time(now))
        if status == deployment.status:
            return rollout.stuck_recheck_after(deployment, status, now)
        deployment.status.CopyFrom(status)
        await self._write_status(deployment)
        return None

    async def _cleanup(self, deployment: apps_pb2.Deployment, olds: list[apps_pb2.ReplicaSet]) -> None:
        for rs in rollout.cleanup(deployment, olds):
            log.info("deployment.history_cleaned", deployment=object_key(deployment), replicaset=rs.metadata.name)
            try:
                await self.client.delete(REPLICA_SET, rs.metadata.namespace, rs.metadata.name)
            except ApiError as error:
                if error.reason is not Reason.NOT_FOUND:
                    raise
