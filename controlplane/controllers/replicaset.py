"""The ReplicaSet controller: keeps `spec.replicas` pods of each ReplicaSet's template running.

One reconcile of a ReplicaSet (Kubernetes' syncReplicaSet):
1. its pods: the active (not finished, not terminating) pods it owns, plus orphans its selector
   matches, which it adopts; owned pods its selector no longer matches are released (ownership.py);
2. if every creation and deletion it asked for last time has been seen in the cache (expectations.py),
   it creates the missing pods (in slow-start batches) or deletes the surplus, the least useful first
   (podranking.py);
3. it writes its status from the pods it saw: replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas (ready for minReadySeconds), observedGeneration, and a ReplicaFailure
   condition when creating or deleting failed.
Events, in Kubernetes' words: SuccessfulCreate `Created pod: web-7d4b9c5f6d-x2kq9`, SuccessfulDelete,
FailedCreate `Error creating: ...`, FailedDelete.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.labels import Selector, SelectorError
from controlplane.api.timestamps import format_time
from controlplane.api.v1 import apps_pb2, core_pb2, meta_pb2
from controlplane.client.informer import object_key
from controlplane.controllers import conditions
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.expectations import Expectations
from controlplane.controllers.ownership import Claimer, controller_of, controller_reference, selector_of
from controlplane.controllers.podfacts import available_at, is_active, is_available, is_ready
from controlplane.controllers.podranking import pods_to_delete
from controlplane.controllers.slowstart import slow_start

log = structlog.get_logger("replicaset-controller")

POD = kinds.by_kind("Pod")
REPLICA_SET = kinds.by_kind("ReplicaSet")
COMPONENT = "replicaset-controller"
# At most this many pods created or deleted by one reconcile (Kubernetes' BurstReplicas).
BURST_REPLICAS = 500
REPLICA_FAILURE = "ReplicaFailure"
# Pods (and ReplicaSets) by the uid of their controller, `orphan/<namespace>` for those without one.
CONTROLLER_INDEX = "controller-uid"
_ORPHAN = "orphan/"


def controller_index(pod: core_pb2.Pod) -> list[str]:
    """A pod's controller's uid, or `orphan/<namespace>` for a pod without one."""
    reference = controller_of(pod.metadata)
    return [reference.uid] if reference is not None else [_ORPHAN + pod.metadata.namespace]


def pod_from_template(rs: apps_pb2.ReplicaSet) -> core_pb2.Pod:
    """A pod of the ReplicaSet's template, named `<rs>-<5 random characters>` by the API server."""
    template = rs.spec.template
    pod = core_pb2.Pod(api_version="v1", kind="Pod")
    pod.metadata.generate_name = f"{rs.metadata.name}-"
    pod.metadata.namespace = rs.metadata.namespace
    pod.metadata.labels.update(template.metadata.labels)
    pod.metadata.annotations.update(template.metadata.annotations)
    pod.metadata.finalizers.extend(template.metadata.finalizers)
    pod.metadata.owner_references.append(controller_reference(rs))
    pod.spec.CopyFrom(template.spec)
    return pod


def replica_set_status(rs: apps_pb2.ReplicaSet, pods: list[core_pb2.Pod], failure: tuple[str, str] | None,
                       now: datetime) -> apps_pb2.ReplicaSetStatus:
    """The status the pods show (calculateStatus); `failure` is (reason, message) of a failed create/delete."""
    status = apps_pb2.ReplicaSetStatus()
    status.CopyFrom(rs.status)
    template_labels = rs.spec.template.metadata.labels
    status.replicas = len(pods)
    status.fully_labeled_replicas = sum(
        1 for pod in pods if all(pod.metadata.labels.get(k) == v for k, v in template_labels.items()))
    status.ready_replicas = sum(1 for pod in pods if is_ready(pod))
    status.available_replicas = sum(1 for pod in pods if is_available(pod, rs.spec.min_ready_seconds, now))
    current = conditions.get(status.conditions, REPLICA_FAILURE)
    if failure is not None and current is None:
        condition = meta_pb2.Condition(type=REPLICA_FAILURE, status="True", reason=failure[0], message=failure[1],
                                       last_transition_time=format_time(now))
        status.conditions.append(condition)
    elif failure is None and current is not None:
        conditions.remove(status.conditions, REPLICA_FAILURE)
    return status


def next_availability(rs: apps_pb2.ReplicaSet, pods: list[core_pb2.Pod], now: datetime) -> float | None:
    """Seconds until the next ready pod turns available (minReadySeconds), to count it then."""
    if rs.spec.min_ready_seconds <= 0:
        return None
    soonest: float | None = None
    for pod in pods:
        at = available_at(pod, rs.spec.min_ready_seconds)
        if at is None or at < now:
            continue
        delay = (at - now).total_seconds() + 1.0  # available strictly after; times are to the second
        soonest = delay if soonest is None else min(soonest, delay)
    return soonest


class ReplicaSetController(QueueController):
    name = "replicaset"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, workers=context.config.workers)
        self.replica_sets = context.informers(REPLICA_SET)
        self.pods = context.informers(POD)
        self.pods.add_index(CONTROLLER_INDEX, controller_index)
        self.expectations = Expectations()
        self.recorder = context.recorder(COMPONENT)
        self.replica_sets.add_handler(self._on_replica_set)
        self.pods.add_handler(self._on_pod)

    # ------------------------------------------------------------------ watch handlers

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _on_replica_set(self, old: Any, new: Any) -> None:
        key = object_key(new or old)
        if new is None:
            self.expectations.forget(key)
        self.queue.add(key)

    def _owner(self, pod: core_pb2.Pod) -> apps_pb2.ReplicaSet | None:
        """The ReplicaSet that controls the pod, if it is in the cache (same name and uid)."""
        reference = controller_of(pod.metadata)
        if reference is None or reference.kind != "ReplicaSet":
            return None
        rs = self.replica_sets.get(pod.metadata.namespace, reference.name)
        return rs if rs is not None and rs.metadata.uid == reference.uid else None

    def _matching(self, pod: core_pb2.Pod) -> list[apps_pb2.ReplicaSet]:
        found = []
        for rs in self.replica_sets.list(pod.metadata.namespace):
            try:
                selector = selector_of(rs.spec.selector)
            except SelectorError:
                continue
            if not selector.empty and selector.matches(pod.metadata.labels):
                found.append(rs)
        return found

    def _pod_gone(self, pod: core_pb2.Pod) -> None:
        rs = self._owner(pod)
        if rs is not None:
            key = object_key(rs)
            self.expectations.deletion_observed(key, object_key(pod))
            self.queue.add(key)

    def _on_pod(self, old: Any, new: Any) -> None:
        if new is None:
            self._pod_gone(old)
            return
        if old is None:
            if new.metadata.deletion_timestamp:
                self._pod_gone(new)
                return
            rs = self._owner(new)
            if rs is not None:
                self.expectations.creation_observed(object_key(rs))
                self.queue.add(object_key(rs))
            elif controller_of(new.metadata) is None:
                for candidate in self._matching(new):
                    self.queue.add(object_key(candidate))
            return
        if old.metadata.resource_version == new.metadata.resource_version:
            return
        labels_changed = dict(old.metadata.labels) != dict(new.metadata.labels)
        if new.metadata.deletion_timestamp:
            self._pod_gone(new)
            if labels_changed:
                self._pod_gone(old)
            return
        old_ref, new_ref = controller_of(old.metadata), controller_of(new.metadata)
        if old_ref != new_ref and old_ref is not None:
            previous = self._owner(old)
            if previous is not None:
                self.queue.add(object_key(previous))
        if new_ref is not None:
            rs = self._owner(new)
            if rs is not None:
                self.queue.add(object_key(rs))
            return
        if labels_changed or old_ref != new_ref:
            for candidate in self._matching(new):
                self.queue.add(object_key(candidate))

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, key: str) -> float | None:
        rs = self.replica_sets.get_by_key(key)
        if rs is None:
            self.expectations.forget(key)
            return None
        needs_sync = self.expectations.satisfied(key, self._now())
        try:
            selector = selector_of(rs.spec.selector)
        except SelectorError as bad:
            log.warning("replicaset.bad_selector", replicaset=key, error=str(bad))
            return None
        pods = await self._claim(rs, selector)
        failure: tuple[str, str] | None = None
        manage_error: ApiError | None = None
        if needs_sync and not rs.metadata.deletion_timestamp:
            failure, manage_error = await self._manage(rs, pods)
        now = datetime.now(UTC)
        status = replica_set_status(rs, pods, failure, now)
        await self._write_status(rs, status)
        if manage_error is not None:
            raise manage_error
        return next_availability(rs, pods, now)

    async def _claim(self, rs: apps_pb2.ReplicaSet, selector: Selector) -> list[core_pb2.Pod]:
        candidates = self.pods.by_index(CONTROLLER_INDEX, rs.metadata.uid)
        candidates += self.pods.by_index(CONTROLLER_INDEX, _ORPHAN + rs.metadata.namespace)
        active = [pod for pod in candidates if is_active(pod)]
        claimer = Claimer(self.client, rs, lambda pod: selector.matches(pod.metadata.labels))
        claimed: list[core_pb2.Pod] = await claimer.claim(active)
        return claimed

    async def _manage(self, rs: apps_pb2.ReplicaSet, pods: list[core_pb2.Pod],
                      ) -> tuple[tuple[str, str] | None, ApiError | None]:
        """Create or delete pods toward spec.replicas: (failure for the status, error to retry on)."""
        key = object_key(rs)
        wanted = rs.spec.replicas if rs.spec.HasField("replicas") else 1
        difference = len(pods) - wanted
        if difference < 0:
            count = min(-difference, BURST_REPLICAS)
            self.expectations.expect_creations(key, count, self._now())
            successes, first_error = await slow_start(count, lambda: self._create(rs))
            for _ in range(count - successes):  # never made: the cache will not show them
                self.expectations.creation_observed(key)
            if first_error is not None:
                failure = first_error if isinstance(first_error, ApiError) else ApiError(Reason.INTERNAL,
                                                                                         str(first_error))
                return ("FailedCreate", failure.message), failure
        elif difference > 0:
            count = min(difference, BURST_REPLICAS)
            victims = pods_to_delete(pods, self._related_pods(rs), count, datetime.now(UTC))
            self.expectations.expect_deletions(key, [object_key(pod) for pod in victims], self._now())
            results = await asyncio.gather(*(self._delete(rs, pod) for pod in victims))
            errors = [error for error in results if error is not None]
            if errors:
                return ("FailedDelete", errors[0].message), errors[0]
        return None, None

    def _related_pods(self, rs: apps_pb2.ReplicaSet) -> list[core_pb2.Pod]:
        """The pods of every ReplicaSet with the same controller (a Deployment's), to rank by node."""
        owner = controller_of(rs.metadata)
        if owner is None:
            return list(self.pods.by_index(CONTROLLER_INDEX, rs.metadata.uid))
        related: list[core_pb2.Pod] = []
        for sibling in self.replica_sets.list(rs.metadata.namespace):
            reference = controller_of(sibling.metadata)
            if reference is not None and reference.uid == owner.uid:
                related += self.pods.by_index(CONTROLLER_INDEX, sibling.metadata.uid)
        return related

    async def _create(self, rs: apps_pb2.ReplicaSet) -> None:
        try:
            pod = await self.client.create(pod_from_template(rs))
        except ApiError as error:
            await self.recorder.record(rs, "Warning", "FailedCreate", f"Error creating: {error.message}")
            raise
        name = pod.metadata.name  # type: ignore[attr-defined]
        log.info("replicaset.pod_created", replicaset=object_key(rs), pod=name)
        await self.recorder.record(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}")

    async def _delete(self, rs: apps_pb2.ReplicaSet, pod: core_pb2.Pod) -> ApiError | None:
        key = object_key(rs)
        try:
            await self.client.delete(POD, pod.metadata.namespace, pod.metadata.name)
        except ApiError as error:
            self.expectations.deletion_observed(key, object_key(pod))  # it will not be seen going
            if error.reason is Reason.NOT_FOUND:
                return None
            await self.recorder.record(rs, "Warning", "FailedDelete", f"Error deleting: {error.message}")
            return error
        log.info("replicaset.pod_deleted", replicaset=key, pod=pod.metadata.name)
        await self.recorder.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod.metadata.name}")
        return None

    async def _write_status(self, rs: apps_pb2.ReplicaSet, status: apps_pb2.ReplicaSetStatus) -> None:
        unchanged = (status == rs.status and rs.metadata.generation == rs.status.observed_generation)
        if unchanged:
            return
        status.observed_generation = rs.metadata.generation
        updated = apps_pb2.ReplicaSet()
        updated.CopyFrom(rs)
        updated.status.CopyFrom(status)
        await self.client.update_status(updated)
