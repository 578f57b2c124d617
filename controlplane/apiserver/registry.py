"""The generic object layer of the API server: every verb for every kind, over the store.

Each write goes: prepare (server-owned fields) -> default -> validate -> admit -> allocate -> one
compare-and-swap in the store. A refusal at any step leaves the store and the allocators as they were.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from google.protobuf.message import Message

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, FieldError, Reason, bad_request, conflict, forbidden, invalid
from controlplane.api.errors import already_exists as already_exists_error
from controlplane.api.errors import not_found as not_found_error
from controlplane.api.fields import FieldRequirement, parse_field_selector
from controlplane.api.fields import matches as fields_match
from controlplane.api.kinds import Kind
from controlplane.api.labels import Selector, SelectorError, parse_selector
from controlplane.api.timestamps import format_time
from controlplane.api.v1 import core_pb2
from controlplane.apiserver import admission, strategy, watchfilter
from controlplane.apiserver.defaults import apply_defaults
from controlplane.apiserver.fieldpath import field_text
from controlplane.apiserver.patch import PatchError, json_patch, merge_patch
from controlplane.apiserver.service_alloc import AllocationFailed, Reservation, ServiceAllocations
from controlplane.apiserver.tolerations import DefaultTolerations, add_default_tolerations
from controlplane.apiserver.validation import validate_create, validate_update
from controlplane.store import (
    Compacted,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    Store,
    WatcherTooSlow,
)

log = structlog.get_logger("apiserver.registry")

PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
_NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generateName alphabet
_UPDATE_RETRIES = 16
_TERMINAL_POD_PHASES = ("Succeeded", "Failed")
KUBERNETES_TOLERATIONS = DefaultTolerations()


@dataclass(frozen=True, slots=True)
class WatchEventOut:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Message | None
    resource_version: str


@dataclass(frozen=True, slots=True)
class Query:
    """A list or watch's selection: kind, namespace ("" = all), label and field selectors."""

    kind: Kind
    namespace: str
    labels: Selector
    fields: tuple[FieldRequirement, ...]

    def matches(self, obj: Message) -> bool:
        meta = obj.metadata  # type: ignore[attr-defined]
        if self.namespace and meta.namespace != self.namespace:
            return False
        if not self.labels.matches(meta.labels):
            return False
        return fields_match(self.fields, lambda path: field_text(obj, path))


def _expired(requested: int, compact_revision: int) -> ApiError:
    return ApiError(Reason.EXPIRED, f"too old resource version: {requested} ({compact_revision})")


class Registry:
    def __init__(self, store: Store, allocations: ServiceAllocations,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 tolerations: DefaultTolerations = KUBERNETES_TOLERATIONS) -> None:
        self.store = store
        self.allocations = allocations
        self.clock = clock
        self.tolerations = tolerations

    async def start(self) -> None:
        """Rebuild what lives only in memory (the allocators) from the stored Services."""
        items, _ = await self.store.list(self._prefix(kinds.by_kind("Service"), ""))
        self.allocations.rebuild(self._decode(kinds.by_kind("Service"), kv) for kv in items)  # type: ignore[misc]

    # ------------------------------------------------------------------------------------ keys

    @staticmethod
    def _prefix(kind: Kind, namespace: str) -> str:
        if kind.namespaced and namespace:
            return f"/registry/{kind.plural}/{namespace}/"
        return f"/registry/{kind.plural}/"

    @staticmethod
    def _key(kind: Kind, namespace: str, name: str) -> str:
        if kind.namespaced:
            return f"/registry/{kind.plural}/{namespace}/{name}"
        return f"/registry/{kind.plural}/{name}"

    @staticmethod
    def _decode(kind: Kind, kv: KeyValue) -> Message:
        obj = kind.message.FromString(kv.value)
        obj.metadata.resource_version = str(kv.mod_revision)  # type: ignore[attr-defined]
        return obj

    @staticmethod
    def _encode(obj: Message) -> bytes:
        meta = obj.metadata  # type: ignore[attr-defined]
        version = meta.resource_version
        meta.resource_version = ""
        try:
            return obj.SerializeToString(deterministic=True)
        finally:
            meta.resource_version = version

    def _scope(self, kind: Kind, namespace: str) -> str:
        if not kind.namespaced:
            return ""
        return namespace or "default"

    # ------------------------------------------------------------------------------------ reads

    async def get(self, kind: Kind, namespace: str, name: str) -> Message:
        namespace = self._scope(kind, namespace)
        kv = await self.store.get(self._key(kind, namespace, name))
        if kv is None:
            raise not_found_error(kind.qualified_plural, name)
        return self._decode(kind, kv)

    def query(self, kind: Kind, namespace: str, label_selector: str, field_selector: str) -> Query:
        try:
            labels = parse_selector(label_selector) if label_selector else Selector.everything()
        except SelectorError as error:
            raise bad_request(str(error)) from None
        try:
            fields = parse_field_selector(field_selector) if field_selector else ()
        except ValueError as error:
            raise bad_request(str(error)) from None
        allowed = {"metadata.name", "metadata.namespace", *kind.selectable_fields}
        for requirement in fields:
            if requirement.path not in allowed:
                raise bad_request(f'field label not supported: {requirement.path}')
        return Query(kind, namespace if kind.namespaced else "", labels, fields)

    async def list_objects(self, query: Query) -> tuple[list[Message], str]:
        items, revision = await self.store.list(self._prefix(query.kind, query.namespace))
        found = []
        for kv in items:
            obj = self._decode(query.kind, kv)
            if query.matches(obj):
                found.append(obj)
        return found, str(revision)

    async def watch(self, query: Query, resource_version: str,
                    bookmark_every: float | None) -> AsyncIterator[WatchEventOut]:
        """ADDED/MODIFIED/DELETED in revision order; BOOKMARK when idle for `bookmark_every` seconds."""
        prefix = self._prefix(query.kind, query.namespace)
        if resource_version in ("", "0"):
            items, revision = await self.store.list(prefix)
            for kv in items:
                obj = self._decode(query.kind, kv)
                if query.matches(obj):
                    yield WatchEventOut("ADDED", obj, str(kv.mod_revision))
        else:
            try:
                revision = int(resource_version)
            except ValueError:
                raise bad_request(f'invalid resource version "{resource_version}"') from None
            if revision < 0:
                raise bad_request(f'invalid resource version "{resource_version}"')
        try:
            stream = self.store.watch(prefix, revision)
        except Compacted as error:
            raise _expired(error.requested, error.compact_revision) from None
        try:
            async for event in _with_idle_ticks(stream, bookmark_every):
                if event is None:
                    yield WatchEventOut("BOOKMARK", None, str(stream.idle_revision()))
                    continue
                new = self._decode(query.kind, event.kv)
                old = self._decode(query.kind, event.prev) if event.prev is not None else None
                kind_of_event = watchfilter.translate(event.type, new, old, query.matches)
                if kind_of_event is not None:
                    yield WatchEventOut(kind_of_event, new, str(event.kv.mod_revision))
        except Compacted as error:
            raise _expired(error.requested, error.compact_revision) from None
        except WatcherTooSlow:
            # As Kubernetes does with a watcher that cannot keep up: end the stream; the client
            # watches again from the last resourceVersion it got.
            log.warning("watch.too_slow", kind=query.kind.kind, namespace=query.namespace)
        finally:
            await stream.aclose()

    # ------------------------------------------------------------------------------------ create

    async def create(self, obj: Message, *, dry_run: bool = False) -> Message:
        kind = kinds.of_message(obj)
        meta = obj.metadata  # type: ignore[attr-defined]
        meta.namespace = self._scope(kind, meta.namespace)
        if not meta.name and meta.generate_name:
            meta.name = meta.generate_name + "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))
        obj.api_version, obj.kind = kind.api_version, kind.kind  # type: ignore[attr-defined]
        strategy.prepare_for_create(kind, obj)
        self._admit_pod(obj)
        apply_defaults(kind, obj)
        if isinstance(obj, core_pb2.Pod):
            strategy.prepare_pod_status(obj)
        errors = validate_create(kind, obj)
        if kind.namespaced and meta.namespace:
            await self._admit_namespace(meta.namespace)
        errors += await self._missing_references(obj, meta.namespace)
        if errors:
            raise invalid(kind.qualified_kind, meta.name, errors)
        key = self._key(kind, meta.namespace, meta.name)
        if await self.store.get(key) is not None:  # before allocating what the existing object holds
            raise already_exists_error(kind.qualified_plural, meta.name)
        reservation = self._allocate(kind, obj, None)
        meta.uid = str(uuid.uuid4())
        meta.creation_timestamp = format_time(self.clock())
        meta.generation = 1 if kind.has_spec else 0
        if dry_run:
            reservation.rollback()
            return obj
        try:
            kv = await self.store.create(key, self._encode(obj))
        except KeyExists:
            reservation.rollback()
            raise already_exists_error(kind.qualified_plural, meta.name) from None
        except BaseException:
            reservation.rollback()
            raise
        reservation.commit()
        meta.resource_version = str(kv.mod_revision)
        log.debug("object.created", kind=kind.kind, namespace=meta.namespace, name=meta.name,
                  revision=kv.mod_revision)
        return obj

    def _admit_pod(self, obj: Message) -> None:
        """The mutating admission Kubernetes applies to Pods (DefaultTolerationSeconds)."""
        if isinstance(obj, core_pb2.Pod):
            add_default_tolerations(obj.spec, self.tolerations)

    async def _admit_namespace(self, namespace: str) -> None:
        kv = await self.store.get(self._key(kinds.by_kind("Namespace"), "", namespace))
        if kv is None:
            raise not_found_error("namespaces", namespace)
        ns = core_pb2.Namespace.FromString(kv.value)
        if ns.status.phase == "Terminating" or ns.metadata.deletion_timestamp:
            raise forbidden(f"unable to create new content in namespace {namespace} because it is being "
                            "terminated")

    async def _missing_references(self, obj: Message, namespace: str) -> list[FieldError]:
        missing = []
        for path, kind_name, name in admission.required_references(obj):
            kind = kinds.by_kind(kind_name)
            if await self.store.get(self._key(kind, namespace, name)) is None:
                missing.append(FieldError.not_found(path, name))
        return missing

    def _allocate(self, kind: Kind, obj: Message, old: Message | None) -> Reservation:
        if not isinstance(obj, core_pb2.Service):
            return Reservation()
        try:
            return self.allocations.allocate(obj.spec, old.spec if isinstance(old, core_pb2.Service) else None)
        except AllocationFailed as failure:
            raise invalid(kind.qualified_kind, obj.metadata.name, [failure.error]) from None

    # ------------------------------------------------------------------------------------ update

    async def update(self, obj: Message, *, status: bool = False, dry_run: bool = False) -> Message:
        """Replace an object (or only its status). A set resourceVersion must match the stored one;
        without it the update is unconditional and retried over concurrent writers."""
        kind = kinds.of_message(obj)
        meta = obj.metadata  # type: ignore[attr-defined]
        namespace = self._scope(kind, meta.namespace)
        key = self._key(kind, namespace, meta.name)
        wanted_version = meta.resource_version
        for _ in range(_UPDATE_RETRIES):
            current = await self.store.get(key)
            if current is None:
                raise not_found_error(kind.qualified_plural, meta.name)
            if wanted_version and wanted_version != str(current.mod_revision):
                raise self._modified(kind, meta.name)
            candidate = type(obj)()
            candidate.CopyFrom(obj)
            candidate.metadata.namespace = namespace  # type: ignore[attr-defined]
            try:
                return await self._update_once(kind, key, candidate, current, status=status, dry_run=dry_run)
            except RevisionConflict:
                if wanted_version:
                    raise self._modified(kind, meta.name) from None
        raise conflict(kind.qualified_plural, meta.name, "too many concurrent writers; try again")

    @staticmethod
    def _modified(kind: Kind, name: str) -> ApiError:
        return conflict(kind.qualified_plural, name,
                        "the object has been modified; please apply your changes to the latest version "
                        "and try again")

    async def _update_once(self, kind: Kind, key: str, new: Message, current: KeyValue, *, status: bool,
                           dry_run: bool) -> Message:
        old = self._decode(kind, current)
        name = old.metadata.name  # type: ignore[attr-defined]
        new.api_version, new.kind = kind.api_version, kind.kind  # type: ignore[attr-defined]
        if status:
            new = strategy.prepare_for_status_update(new, old)
        else:
            strategy.prepare_for_update(kind, new, old)
            strategy.record_binding(new, old, format_time(self.clock()))
            self._admit_pod(new)
        apply_defaults(kind, new)
        if isinstance(new, core_pb2.Service) and isinstance(old, core_pb2.Service) and not status:
            self.allocations.keep_allocated(new.spec, old.spec)
        errors = validate_update(kind, new, old)
        errors += self._finalizer_errors(new, old)
        if not status and admission.pod_spec_of(new) != admission.pod_spec_of(old):
            errors += await self._missing_references(new, new.metadata.namespace)  # type: ignore[attr-defined]
        if errors:
            raise invalid(kind.qualified_kind, name, errors)
        if kind.has_spec and new.spec != old.spec:  # type: ignore[attr-defined]
            new.metadata.generation = old.metadata.generation + 1  # type: ignore[attr-defined]
        if self._encode(new) == self._encode(old):
            return old  # nothing changed: no write, same resourceVersion (apply reports "unchanged")
        reservation = self._allocate(kind, new, old) if not status else Reservation()
        if dry_run:
            reservation.rollback()
            return new
        try:
            if self._finalized(new, old):
                kv = await self.store.delete(key, current.mod_revision)
                self._release(new)
            else:
                kv = await self.store.update(key, self._encode(new), current.mod_revision)
        except BaseException:
            reservation.rollback()
            raise
        reservation.commit()
        new.metadata.resource_version = str(kv.mod_revision)  # type: ignore[attr-defined]
        return new

    @staticmethod
    def _finalizer_errors(new: Message, old: Message) -> list[FieldError]:
        meta, old_meta = new.metadata, old.metadata  # type: ignore[attr-defined]
        if old_meta.deletion_timestamp and set(meta.finalizers) - set(old_meta.finalizers):
            return [FieldError.forbidden("metadata.finalizers",
                                         "no new finalizers can be added if the object is being deleted")]
        return []

    @staticmethod
    def _finalized(new: Message, old: Message) -> bool:
        """Kubernetes deletes, during an update, an object whose last finalizer was just removed and
        whose deletion has no grace period left to wait for."""
        meta = new.metadata  # type: ignore[attr-defined]
        return (not _finalizers_left(new) and _finalizers_left(old) and bool(meta.deletion_timestamp)
                and meta.HasField("deletion_grace_period_seconds") and meta.deletion_grace_period_seconds == 0)

    # ------------------------------------------------------------------------------------ patch

    async def patch(self, kind: Kind, namespace: str, name: str, patch_type: str, patch_text: str, *,
                    status: bool = False, dry_run: bool = False) -> Message:
        try:
            document = json.loads(patch_text)
        except json.JSONDecodeError as error:
            raise bad_request(f"the patch is not valid JSON: {error}") from None
        if patch_type not in ("merge", "json"):
            raise bad_request(f'unsupported patch type "{patch_type}": use "merge" or "json"')
        namespace = self._scope(kind, namespace)
        key = self._key(kind, namespace, name)
        for _ in range(_UPDATE_RETRIES):
            current = await self.store.get(key)
            if current is None:
                raise not_found_error(kind.qualified_plural, name)
            base = codec.encode(self._decode(kind, current))
            try:
                patched: Any = merge_patch(base, document) if patch_type == "merge" else json_patch(base, document)
            except PatchError as error:
                raise bad_request(f"the patch could not be applied: {error}") from None
            try:
                new = codec.decode_object(patched)
            except codec.DecodeError as error:
                raise ApiError(Reason.INVALID, f'{kind.qualified_kind} "{name}" is invalid: {error}') from None
            meta = new.metadata  # type: ignore[attr-defined]
            if (meta.name, meta.namespace if kind.namespaced else "") != (name, namespace):
                raise bad_request("a patch may not change metadata.name or metadata.namespace")
            wanted_version = meta.resource_version
            if wanted_version and wanted_version != str(current.mod_revision):
                raise self._modified(kind, name)
            try:
                return await self._update_once(kind, key, new, current, status=status, dry_run=dry_run)
            except RevisionConflict:
                if wanted_version and wanted_version != base["metadata"]["resourceVersion"]:
                    raise self._modified(kind, name) from None
        raise conflict(kind.qualified_plural, name, "too many concurrent writers; try again")

    # ------------------------------------------------------------------------------------ delete

    async def delete(self, kind: Kind, namespace: str, name: str, *, grace_period: int | None = None,
                     propagation: str = "", precondition_uid: str = "", precondition_version: str = "",
                     dry_run: bool = False) -> tuple[Message, bool]:
        """Delete now, or mark for deletion (finalizers, a pod's graceful stop). Returns (object, pending)."""
        if propagation not in ("", "Background", "Foreground", "Orphan"):
            raise bad_request(f'unsupported propagation policy "{propagation}": use Background, Foreground '
                              "or Orphan")
        if grace_period is not None and grace_period < 0:
            raise bad_request("gracePeriodSeconds must be 0 or more")
        namespace = self._scope(kind, namespace)
        if kind.kind == "Namespace" and name in PROTECTED_NAMESPACES:
            raise forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        key = self._key(kind, namespace, name)
        for _ in range(_UPDATE_RETRIES):
            current = await self.store.get(key)
            if current is None:
                raise not_found_error(kind.qualified_plural, name)
            obj = self._decode(kind, current)
            meta = obj.metadata  # type: ignore[attr-defined]
            if precondition_uid and precondition_uid != meta.uid:
                raise conflict(kind.qualified_plural, name, f"Precondition failed: UID in precondition: "
                               f"{precondition_uid}, UID in object meta: {meta.uid}")
            if precondition_version and precondition_version != str(current.mod_revision):
                raise conflict(kind.qualified_plural, name, "Precondition failed: ResourceVersion in "
                               f"precondition: {precondition_version}, ResourceVersion in object meta: "
                               f"{current.mod_revision}")
            marked = self._mark_for_deletion(obj, grace_period, propagation)
            if dry_run:
                return obj, marked
            try:
                if marked:
                    kv = await self.store.update(key, self._encode(obj), current.mod_revision)
                else:
                    kv = await self.store.delete(key, current.mod_revision)
            except (RevisionConflict, KeyNotFound):
                continue
            meta.resource_version = str(kv.mod_revision)
            if not marked:
                self._release(obj)
            log.debug("object.deleted", kind=kind.kind, namespace=namespace, name=name, pending=marked)
            return obj, marked
        raise conflict(kind.qualified_plural, name, "too many concurrent writers; try again")

    def _mark_for_deletion(self, obj: Message, grace_period: int | None, propagation: str) -> bool:
        """Set deletionTimestamp and friends when the object must wait; True when it must."""
        meta = obj.metadata  # type: ignore[attr-defined]
        now = self.clock()
        grace = 0
        if isinstance(obj, core_pb2.Pod) and obj.spec.node_name and obj.status.phase not in _TERMINAL_POD_PHASES:
            grace = grace_period if grace_period is not None else (
                obj.spec.termination_grace_period_seconds
                if obj.spec.HasField("termination_grace_period_seconds") else 30)
        if meta.deletion_timestamp:
            # Already being deleted: a shorter grace period may still hurry it along.
            if grace_period is not None and grace_period < meta.deletion_grace_period_seconds:
                meta.deletion_grace_period_seconds = grace_period
                meta.deletion_timestamp = format_time(now + timedelta(seconds=grace_period))
                return grace_period > 0 or _finalizers_left(obj)
            # Nothing left to wait for (a namespace whose content is gone): delete it now.
            return meta.deletion_grace_period_seconds > 0 or _finalizers_left(obj)
        if propagation == "Orphan" and "orphan" not in meta.finalizers:
            meta.finalizers.append("orphan")
        elif propagation == "Foreground" and "foregroundDeletion" not in meta.finalizers:
            meta.finalizers.append("foregroundDeletion")
        if grace == 0 and not _finalizers_left(obj):
            return False
        meta.deletion_timestamp = format_time(now + timedelta(seconds=grace))
        meta.deletion_grace_period_seconds = grace
        if isinstance(obj, core_pb2.Namespace):
            obj.status.phase = "Terminating"
        return True

    def _release(self, obj: Message) -> None:
        if isinstance(obj, core_pb2.Service):
            self.allocations.release(obj.spec)

    # ------------------------------------------------------------------------------------ maintenance

    async def compact(self, revision: int) -> None:
        if revision > self.store.revision:
            raise bad_request(f"revision {revision} is in the future (newest is {self.store.revision})")
        await self.store.compact(revision)


def _finalizers_left(obj: Message) -> bool:
    """Whether anything must still finalize the object: metadata.finalizers, or for a Namespace its
    spec.finalizers (the namespace controller removes `kubernetes` once the content is gone)."""
    if obj.metadata.finalizers:  # type: ignore[attr-defined]
        return True
    return isinstance(obj, core_pb2.Namespace) and bool(obj.spec.finalizers)


async def _with_idle_ticks(stream: Any, idle_after: float | None) -> AsyncIterator[Any]:
    """The events of a store watch, with a None every `idle_after` seconds of silence."""
    iterator = stream.__aiter__()
    while True:
        if idle_after is None:
            try:
                yield await iterator.__anext__()
            except StopAsyncIteration:
                return
            continue
        event = await stream.next_within(idle_after)
        if event is StopAsyncIteration:
            return
        yield event
