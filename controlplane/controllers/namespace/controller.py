"""The namespace controller: empties a namespace being deleted, then lets it go.

Deleting a Namespace only marks it (deletionTimestamp, status.phase Terminating: the API server
does that, and from then on refuses new objects in it), because its spec.finalizers holds
`kubernetes`. This controller then deletes everything of every namespaced kind inside it (with
background propagation, so pods stop gracefully), reports what is left in the namespace's
conditions (NamespaceContentRemaining, NamespaceFinalizersRemaining, ...), and once nothing is
left removes `kubernetes` from spec.finalizers; the API server then deletes the namespace.

It lists the namespace's content from the API server, not from a cache, so that nothing created
just before the deletion can be missed. It looks again when something in a terminating namespace
is deleted, and otherwise after about half the longest grace period still running (Kubernetes'
estimate), so a namespace goes soon after its last pod stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind
from controlplane.api.timestamps import format_time
from controlplane.api.v1 import core_pb2
from controlplane.client.api import modify
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.namespace import conditions

log = structlog.get_logger("controller.namespace")

NAMESPACE = kinds.by_kind("Namespace")
FINALIZER = "kubernetes"
CONTENT_KINDS = tuple(kind for kind in kinds.KINDS if kind.namespaced)
# Seconds before looking again when what is left has no grace period to wait for (finalizers).
_RECHECK = 1.0


def resource_name(kind: Kind) -> str:
    """`pods.`, `deployments.apps`: how Kubernetes names a resource in these conditions."""
    return f"{kind.plural}.{kind.group}"


def grace_left(obj: Any) -> int:
    """Seconds a pod may still take to stop (0 for anything else, or a pod that has ended)."""
    if not isinstance(obj, core_pb2.Pod) or obj.status.phase in ("Succeeded", "Failed"):
        return 0
    if obj.metadata.HasField("deletion_grace_period_seconds"):
        return obj.metadata.deletion_grace_period_seconds
    return obj.spec.termination_grace_period_seconds if obj.spec.HasField("termination_grace_period_seconds") else 30


class NamespaceController(QueueController):
    name = "namespace"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, workers=context.config.workers)
        self.sync_period = context.config.namespace_sync_period
        self.namespaces = context.informers(NAMESPACE)
        self.namespaces.add_handler(lambda old, new: self.queue.add((new or old).metadata.name))
        for kind in CONTENT_KINDS:
            context.informers(kind).add_handler(self._content_changed)

    def _content_changed(self, old: Any, new: Any) -> None:
        if new is not None:
            return
        namespace = self.namespaces.get("", old.metadata.namespace)
        if namespace is not None and namespace.metadata.deletion_timestamp:
            self.queue.add(namespace.metadata.name)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(super().run())
            group.create_task(self._resync())

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(self.sync_period)
            for namespace in self.namespaces.list():
                self.queue.add(namespace.metadata.name)

    async def reconcile(self, key: str) -> float | None:
        namespace = self.namespaces.get("", key)
        if namespace is None or not namespace.metadata.deletion_timestamp:
            return None
        try:  # the cache may lag behind a finalizer just removed
            namespace = await self.client.get(NAMESPACE, "", key)
        except ApiError as error:
            if error.reason is Reason.NOT_FOUND:
                return None
            raise
        assert isinstance(namespace, core_pb2.Namespace)
        if FINALIZER not in namespace.spec.finalizers:
            if not namespace.spec.finalizers and not namespace.metadata.finalizers:
                with contextlib.suppress(ApiError):  # nothing holds it: ask again that it go
                    await self.client.delete(NAMESPACE, "", key)
            return None
        remaining, finalizers, errors, estimate = await self._delete_content(key)
        await self._report(namespace, conditions.problems(remaining, finalizers, errors))
        if errors:
            raise ApiError(Reason.INTERNAL, f"namespace {key}: {'; '.join(errors)}")
        if any(remaining.values()):
            return estimate / 2 + 1 if estimate else _RECHECK
        await self._finalize(key)
        return None

    async def _delete_content(self, namespace: str) -> tuple[dict[str, int], dict[str, int], list[str], int]:
        """Delete what is in the namespace; (left per resource, left per finalizer, errors, seconds
        the slowest pod may still take)."""
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        errors: list[str] = []
        estimate = 0
        for kind in CONTENT_KINDS:
            try:
                items, _ = await self.client.list(kind, namespace)
            except ApiError as error:
                errors.append(f"{resource_name(kind)}: {error.message}")
                continue
            for obj in items:
                meta = obj.metadata  # type: ignore[attr-defined]
                if not meta.deletion_timestamp:
                    try:
                        obj, pending = await self.client.delete(kind, namespace, meta.name, propagation="Background",
                                                                precondition_uid=meta.uid)
                    except ApiError as error:
                        if error.reason in (Reason.NOT_FOUND, Reason.CONFLICT):
                            continue
                        errors.append(f"{resource_name(kind)} \"{meta.name}\": {error.message}")
                        continue
                    if not pending:
                        continue
                    meta = obj.metadata  # type: ignore[attr-defined]
                remaining[resource_name(kind)] = remaining.get(resource_name(kind), 0) + 1
                for finalizer in meta.finalizers:
                    finalizers[finalizer] = finalizers.get(finalizer, 0) + 1
                estimate = max(estimate, grace_left(obj))
        return remaining, finalizers, errors, estimate

    async def _report(self, namespace: Any, found: dict[str, tuple[str, str]]) -> None:
        fresh = conditions.updated_conditions(namespace.status.conditions, found, format_time(datetime.now(UTC)))
        if fresh is None:
            return

        def with_conditions(current: Any) -> None:
            del current.status.conditions[:]
            current.status.conditions.extend(fresh)

        with contextlib.suppress(ApiError):  # a report; the deletion goes on without it
            await modify(self.client, NAMESPACE, "", namespace.metadata.name, with_conditions, status=True)

    async def _finalize(self, name: str) -> None:
        def finalized(current: Any) -> None:
            if FINALIZER in current.spec.finalizers:
                current.spec.finalizers.remove(FINALIZER)

        try:
            await modify(self.client, NAMESPACE, "", name, finalized)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
        log.info("namespace.finalized", namespace=name)
