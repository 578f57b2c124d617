"""The gRPC face of the registry: requests in, objects out, ApiErrors as status codes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from controlplane import __version__
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind
from controlplane.api.v1 import api_pb2, api_pb2_grpc
from controlplane.apiserver.registry import Registry
from controlplane.store import StoreError

STATUS_CODES = {
    Reason.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Reason.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    Reason.CONFLICT: grpc.StatusCode.ABORTED,
    Reason.INVALID: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.BAD_REQUEST: grpc.StatusCode.INVALID_ARGUMENT,
    Reason.FORBIDDEN: grpc.StatusCode.FAILED_PRECONDITION,
    Reason.EXPIRED: grpc.StatusCode.OUT_OF_RANGE,
    Reason.INTERNAL: grpc.StatusCode.INTERNAL,
    Reason.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
}
# Trailing metadata that carries Kubernetes' StatusReason, for clients that need more than the code.
REASON_KEY = "kubelab-reason"
_VERBS = ("create", "get", "list", "update", "patch", "delete", "watch")

T = TypeVar("T")


async def _answer(context: grpc.aio.ServicerContext[Any, Any], call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except ApiError as error:
        await _abort(context, error)
        raise  # abort raises; this line is for the type checker
    except StoreError as error:
        await _abort(context, ApiError(Reason.INTERNAL, f"storage error: {error}"))
        raise


async def _abort(context: grpc.aio.ServicerContext[Any, Any], error: ApiError) -> None:
    context.set_trailing_metadata(((REASON_KEY, error.reason.value),))
    await context.abort(STATUS_CODES[error.reason], error.message)


def _kind(word: str) -> Kind:
    try:
        return kinds.resolve(word)
    except kinds.UnknownKind as error:
        raise ApiError(Reason.NOT_FOUND, str(error)) from None


def _unwrap(envelope: api_pb2.Object) -> Any:
    try:
        return kinds.unwrap(envelope)[1]
    except ValueError as error:
        raise ApiError(Reason.BAD_REQUEST, str(error)) from None


def _key(key: api_pb2.ObjectKey) -> tuple[Kind, str, str]:
    kind = _kind(key.kind)
    if not key.name:
        raise ApiError(Reason.BAD_REQUEST, "key.name: Required value: a name is required")
    return kind, key.namespace, key.name


class ApiService(api_pb2_grpc.ApiServicer):
    def __init__(self, registry: Registry, bookmark_interval: float) -> None:
        self.registry = registry
        self.bookmark_interval = bookmark_interval

    async def Create(self, request: api_pb2.CreateRequest, context: Any) -> api_pb2.Object:
        async def call() -> api_pb2.Object:
            obj = _unwrap(request.object)
            return kinds.wrap(await self.registry.create(obj, dry_run=request.dry_run))
        return await _answer(context, call)

    async def Get(self, request: api_pb2.GetRequest, context: Any) -> api_pb2.Object:
        async def call() -> api_pb2.Object:
            return kinds.wrap(await self.registry.get(*_key(request.key)))
        return await _answer(context, call)

    async def List(self, request: api_pb2.ListRequest, context: Any) -> api_pb2.ListResponse:
        async def call() -> api_pb2.ListResponse:
            query = self.registry.query(_kind(request.kind), request.namespace, request.label_selector,
                                        request.field_selector)
            items, revision = await self.registry.list_objects(query)
            return api_pb2.ListResponse(items=[kinds.wrap(i) for i in items], resource_version=revision)
        return await _answer(context, call)

    async def Update(self, request: api_pb2.UpdateRequest, context: Any) -> api_pb2.Object:
        async def call() -> api_pb2.Object:
            obj = _unwrap(request.object)
            return kinds.wrap(await self.registry.update(obj, dry_run=request.dry_run))
        return await _answer(context, call)

    async def UpdateStatus(self, request: api_pb2.UpdateRequest, context: Any) -> api_pb2.Object:
        async def call() -> api_pb2.Object:
            obj = _unwrap(request.object)
            return kinds.wrap(await self.registry.update(obj, status=True, dry_run=request.dry_run))
        return await _answer(context, call)

    async def Patch(self, request: api_pb2.PatchRequest, context: Any) -> api_pb2.Object:
        async def call() -> api_pb2.Object:
            kind, namespace, name = _key(request.key)
            return kinds.wrap(await self.registry.patch(
                kind, namespace, name, request.patch_type or "merge", request.patch, status=request.status,
                dry_run=request.dry_run))
        return await _answer(context, call)

    async def Delete(self, request: api_pb2.DeleteRequest, context: Any) -> api_pb2.DeleteResponse:
        async def call() -> api_pb2.DeleteResponse:
            kind, namespace, name = _key(request.key)
            grace = request.grace_period_seconds if request.HasField("grace_period_seconds") else None
            obj, pending = await self.registry.delete(
                kind, namespace, name, grace_period=grace, propagation=request.propagation_policy,
                precondition_uid=request.precondition_uid,
                precondition_version=request.precondition_resource_version, dry_run=request.dry_run)
            return api_pb2.DeleteResponse(object=kinds.wrap(obj), pending=pending)
        return await _answer(context, call)

    async def Watch(self, request: api_pb2.WatchRequest, context: Any) -> AsyncIterator[api_pb2.WatchEvent]:
        try:
            kind = _kind(request.kind)
            query = self.registry.query(kind, request.namespace, request.label_selector, request.field_selector)
            bookmarks = self.bookmark_interval if request.allow_bookmarks else None
            async for event in self.registry.watch(query, request.resource_version, bookmarks):
                if event.object is None:
                    marker = kind.new()
                    marker.metadata.resource_version = event.resource_version  # type: ignore[attr-defined]
                    envelope = kinds.wrap(marker)
                else:
                    envelope = kinds.wrap(event.object)
                yield api_pb2.WatchEvent(type=event.type, object=envelope,
                                         resource_version=event.resource_version)
        except ApiError as error:
            await _abort(context, error)
        except StoreError as error:
            await _abort(context, ApiError(Reason.INTERNAL, f"storage error: {error}"))

    async def Compact(self, request: api_pb2.CompactRequest, context: Any) -> api_pb2.CompactResponse:
        async def call() -> api_pb2.CompactResponse:
            await self.registry.compact(request.revision)
            store = self.registry.store
            return api_pb2.CompactResponse(revision=store.revision, compact_revision=store.compact_revision)
        return await _answer(context, call)

    async def GetServerInfo(self, request: api_pb2.ServerInfoRequest, context: Any) -> api_pb2.ServerInfo:
        store = self.registry.store
        return api_pb2.ServerInfo(version=__version__, store="sqlite", revision=store.revision,
                                  compact_revision=store.compact_revision)

    async def ListResources(self, request: api_pb2.APIResourceListRequest,
                            context: Any) -> api_pb2.APIResourceList:
        return api_pb2.APIResourceList(resources=[
            api_pb2.APIResource(name=k.plural, singular_name=k.singular, short_names=k.short_names,
                                kind=k.kind, namespaced=k.namespaced, api_version=k.api_version,
                                verbs=_VERBS)
            for k in kinds.KINDS])
