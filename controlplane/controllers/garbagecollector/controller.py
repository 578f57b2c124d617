"""The garbage collector: deletes objects whose owners are gone, and carries out the propagation
policy an owner was deleted with (the API server records it as a finalizer on the owner):

- Background (no finalizer): the owner goes at once; each dependent then finds its owner ABSENT
  and is deleted (policy.py), level by level.
- Foreground (`foregroundDeletion`): the owner stays, with its deletionTimestamp, while the
  collector deletes its dependents; when no dependent with blockOwnerDeletion is left, the
  collector removes the finalizer and the API server deletes the owner.
- Orphan (`orphan`): the collector removes the owner's references from its dependents, then the
  finalizer; the dependents live on without it.

Every kind but Event is watched (Kubernetes ignores Events too); each cache is indexed by the uids
its objects name as owners, so an owner finds its dependents of any kind. Keys are
`Kind/namespace/name`. An owner missing from the caches is looked up on the API server before its
dependents are deleted, so an owner created a moment ago is never taken for a vanished one.
"""

from __future__ import annotations

from typing import Any

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind, UnknownKind
from controlplane.client.api import modify
from controlplane.client.informer import Informer
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.garbagecollector.policy import FOREGROUND, ORPHAN, Action, OwnerState, decide

log = structlog.get_logger("controller.garbagecollector")

OWNER_INDEX = "gc-owner-uid"
IGNORED_KINDS = frozenset({"Event"})


def owner_uids(obj: Any) -> list[str]:
    return [ref.uid for ref in obj.metadata.owner_references if ref.uid]


def item_key(kind: Kind, obj: Any) -> str:
    return f"{kind.kind}/{obj.metadata.namespace}/{obj.metadata.name}"


def being_deleted(obj: Any) -> bool:
    return bool(obj.metadata.deletion_timestamp)


def deleting_dependents(obj: Any) -> bool:
    return being_deleted(obj) and FOREGROUND in obj.metadata.finalizers


class GarbageCollector(QueueController):
    name = "garbagecollector"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, workers=context.config.workers)
        self.caches: dict[str, Informer] = {}
        for kind in kinds.KINDS:
            if kind.kind in IGNORED_KINDS:
                continue
            cache = context.informers(kind)
            cache.add_index(OWNER_INDEX, owner_uids)
            self.caches[kind.kind] = cache
            cache.add_handler(self._handler(kind))

    # ------------------------------------------------------------------ what to look at

    def _handler(self, kind: Kind) -> Any:
        def changed(old: Any, new: Any) -> None:
            if new is not None:
                self.queue.add(item_key(kind, new))
                if being_deleted(new) and (old is None or not being_deleted(old)):
                    self._add_dependents(new.metadata.uid)
            if old is None:
                return
            if new is None:  # gone: its dependents may be orphans now, its owners may wait no more
                self._add_dependents(old.metadata.uid)
                self._add_owners(old, [ref.uid for ref in old.metadata.owner_references])
            elif list(old.metadata.owner_references) != list(new.metadata.owner_references):
                kept = {ref.uid for ref in new.metadata.owner_references}
                self._add_owners(old, [ref.uid for ref in old.metadata.owner_references if ref.uid not in kept])

        return changed

    def _add_dependents(self, uid: str) -> None:
        for kind, obj in self.dependents(uid):
            self.queue.add(item_key(kind, obj))

    def _add_owners(self, dependent: Any, uids: list[str]) -> None:
        for ref in dependent.metadata.owner_references:
            if ref.uid in uids:
                kind = self._owner_kind(ref, dependent.metadata.namespace)
                if kind is not None:
                    self.queue.add(f"{kind.kind}/{dependent.metadata.namespace if kind.namespaced else ''}/{ref.name}")

    def dependents(self, uid: str) -> list[tuple[Kind, Any]]:
        return [(cache.kind, obj) for cache in self.caches.values() for obj in cache.by_index(OWNER_INDEX, uid)]

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, key: str) -> float | None:
        kind_name, namespace, name = key.split("/", 2)
        cache = self.caches.get(kind_name)
        obj = cache.get(namespace, name) if cache is not None else None
        if obj is None or cache is None:
            return None
        kind = cache.kind
        if being_deleted(obj):
            if ORPHAN in obj.metadata.finalizers:
                await self._orphan_dependents(kind, obj)
            elif FOREGROUND in obj.metadata.finalizers:
                await self._delete_dependents_first(kind, obj)
            return None
        if not obj.metadata.owner_references:
            return None
        owners = [(ref.uid, await self._owner_state(ref, namespace)) for ref in obj.metadata.owner_references]
        dependents = self.dependents(obj.metadata.uid)
        decision = decide(owners, finalizers=list(obj.metadata.finalizers), has_dependents=bool(dependents),
                          dependent_deleting_dependents=any(deleting_dependents(dep) for _, dep in dependents))
        if decision.action is Action.DROP_REFERENCES:
            await self._drop_references(kind, obj, set(decision.uids))
        elif decision.action is Action.DELETE:
            if decision.unblock:
                await self._unblock(kind, obj)
            await self._delete(kind, obj, decision.propagation)
        return None

    def _owner_kind(self, ref: Any, namespace: str) -> Kind | None:
        """The kind an ownerReference names, None when it cannot be resolved."""
        try:
            kind = kinds.by_kind(ref.kind)
        except UnknownKind:
            return None
        if kind.group != ref.api_version.rpartition("/")[0] or (kind.namespaced and not namespace):
            return None  # another group's kind, or a namespaced owner of a cluster-scoped object
        return kind

    async def _owner_state(self, ref: Any, namespace: str) -> OwnerState:
        kind = self._owner_kind(ref, namespace)
        if kind is None:
            log.info("garbagecollector.unresolvable_owner", owner=f"{ref.api_version}/{ref.kind}/{ref.name}")
            return OwnerState.UNRESOLVABLE
        scope = namespace if kind.namespaced else ""
        cache = self.caches.get(kind.kind)
        owner = cache.get(scope, ref.name) if cache is not None else None
        if owner is None or owner.metadata.uid != ref.uid:
            try:  # the cache may lag: ask the API server before calling the owner gone
                owner = await self.client.get(kind, scope, ref.name)
            except ApiError as error:
                if error.reason is Reason.NOT_FOUND:
                    return OwnerState.ABSENT
                raise
            if owner.metadata.uid != ref.uid:  # type: ignore[attr-defined]
                return OwnerState.ABSENT
        return OwnerState.WAITING if deleting_dependents(owner) else OwnerState.SOLID

    # ------------------------------------------------------------------ owners being deleted

    async def _delete_dependents_first(self, kind: Kind, owner: Any) -> None:
        uid = owner.metadata.uid
        blocking = 0
        for dependent_kind, dependent in self.dependents(uid):
            if any(ref.uid == uid and ref.block_owner_deletion for ref in dependent.metadata.owner_references):
                blocking += 1
            if not being_deleted(dependent):
                self.queue.add(item_key(dependent_kind, dependent))
        if blocking == 0:
            await self._remove_finalizer(kind, owner, FOREGROUND)

    async def _orphan_dependents(self, kind: Kind, owner: Any) -> None:
        uid = owner.metadata.uid
        for dependent_kind, dependent in self.dependents(uid):
            await self._drop_references(dependent_kind, dependent, {uid})
        await self._remove_finalizer(kind, owner, ORPHAN)

    async def _remove_finalizer(self, kind: Kind, obj: Any, finalizer: str) -> None:
        uid = obj.metadata.uid

        def without(current: Any) -> None:
            if current.metadata.uid == uid and finalizer in current.metadata.finalizers:
                current.metadata.finalizers.remove(finalizer)

        await self._modify(kind, obj, without)
        log.info("garbagecollector.finalized", object=item_key(kind, obj), finalizer=finalizer)

    # ------------------------------------------------------------------ dependents

    async def _drop_references(self, kind: Kind, obj: Any, uids: set[str]) -> None:
        uid = obj.metadata.uid

        def without(current: Any) -> None:
            if current.metadata.uid != uid:
                return
            kept = [ref for ref in current.metadata.owner_references if ref.uid not in uids]
            del current.metadata.owner_references[:]
            current.metadata.owner_references.extend(kept)

        await self._modify(kind, obj, without)
        log.info("garbagecollector.references_dropped", object=item_key(kind, obj), owners=sorted(uids))

    async def _unblock(self, kind: Kind, obj: Any) -> None:
        uid = obj.metadata.uid

        def unblocked(current: Any) -> None:
            if current.metadata.uid == uid:
                for ref in current.metadata.owner_references:
                    if ref.block_owner_deletion:
                        ref.block_owner_deletion = False

        await self._modify(kind, obj, unblocked)

    async def _delete(self, kind: Kind, obj: Any, propagation: str) -> None:
        try:
            await self.client.delete(kind, obj.metadata.namespace, obj.metadata.name, propagation=propagation,
                                     precondition_uid=obj.metadata.uid)
        except ApiError as error:
            if error.reason in (Reason.NOT_FOUND, Reason.CONFLICT):
                return  # gone already, or replaced by a new object of that name
            raise
        log.info("garbagecollector.deleted", object=item_key(kind, obj), propagation=propagation)

    async def _modify(self, kind: Kind, obj: Any, change: Any) -> None:
        try:
            await modify(self.client, kind, obj.metadata.namespace, obj.metadata.name, change)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
