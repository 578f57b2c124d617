"""An asyncio client for the kubelab API: typed messages in and out, ApiError on refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind
from controlplane.api.v1 import api_pb2, api_pb2_grpc
from controlplane.client.config import ClientConfig

_REASON_KEY = "kubelab-reason"
_REASONS_BY_CODE = {
    grpc.StatusCode.NOT_FOUND: Reason.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: Reason.ALREADY_EXISTS,
    grpc.StatusCode.ABORTED: Reason.CONFLICT,
    grpc.StatusCode.INVALID_ARGUMENT: Reason.INVALID,
    grpc.StatusCode.FAILED_PRECONDITION: Reason.FORBIDDEN,
    grpc.StatusCode.OUT_OF_RANGE: Reason.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Message
    resource_version: str


def api_error(error: grpc.aio.AioRpcError) -> ApiError:
    """A failed call as the ApiError it stands for (Kubernetes' reason from the trailing metadata, else
    from the status code); every client of kubelab's services reports failures this way."""
    reason = None
    metadata: Any = error.trailing_metadata() or ()
    for key, value in metadata:
        if key == _REASON_KEY:
            reason = next((r for r in Reason if r.value == value), None)
    if reason is None:
        reason = _REASONS_BY_CODE.get(error.code(), Reason.UNAVAILABLE if error.code() in (
            grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) else Reason.INTERNAL)
    message = error.details() or error.code().name
    if reason is Reason.UNAVAILABLE:
        message = f"cannot reach the API server: {message}"
    return ApiError(reason, message)


def _channel(config: ClientConfig) -> grpc.aio.Channel:
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024),
               ("grpc.max_send_message_length", 64 * 1024 * 1024)]
    if config.ca is None:
        return grpc.aio.insecure_channel(config.server, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=config.ca.read_bytes(),
        private_key=config.key.read_bytes() if config.key else None,
        certificate_chain=config.cert.read_bytes() if config.cert else None)
    return grpc.aio.secure_channel(config.server, credentials, options=options)


class ApiClient:
    def __init__(self, channel: grpc.aio.Channel, timeout: float | None = 30.0) -> None:
        self.channel = channel
        self.stub = api_pb2_grpc.ApiStub(channel)  # type: ignore[no-untyped-call]
        self.timeout = timeout

    async def close(self) -> None:
        await self.channel.close(None)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, method: Any, request: Message) -> Any:
        try:
            return await method(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise api_error(error) from None

    async def create(self, obj: Message, *, dry_run: bool = False) -> Message:
        reply = await self._call(self.stub.Create, api_pb2.CreateRequest(object=kinds.wrap(obj), dry_run=dry_run))
        return kinds.unwrap(reply)[1]

    async def get(self, kind: Kind, namespace: str, name: str) -> Message:
        key = api_pb2.ObjectKey(kind=kind.kind, namespace=namespace, name=name)
        return kinds.unwrap(await self._call(self.stub.Get, api_pb2.GetRequest(key=key)))[1]

    async def list(self, kind: Kind, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "") -> tuple[list[Message], str]:
        reply = await self._call(self.stub.List, api_pb2.ListRequest(
            kind=kind.kind, namespace=namespace, label_selector=label_selector, field_selector=field_selector))
        return [kinds.unwrap(item)[1] for item in reply.items], reply.resource_version

    async def update(self, obj: Message, *, dry_run: bool = False) -> Message:
        reply = await self._call(self.stub.Update, api_pb2.UpdateRequest(object=kinds.wrap(obj), dry_run=dry_run))
        return kinds.unwrap(reply)[1]

    async def update_status(self, obj: Message) -> Message:
        reply = await self._call(self.stub.UpdateStatus, api_pb2.UpdateRequest(object=kinds.wrap(obj)))
        return kinds.unwrap(reply)[1]

    async def patch(self, kind: Kind, namespace: str, name: str, patch: str, *, patch_type: str = "merge",
                    status: bool = False, dry_run: bool = False) -> Message:
        key = api_pb2.ObjectKey(kind=kind.kind, namespace=namespace, name=name)
        reply = await self._call(self.stub.Patch, api_pb2.PatchRequest(
            key=key, patch_type=patch_type, patch=patch, status=status, dry_run=dry_run))
        return kinds.unwrap(reply)[1]

    async def delete(self, kind: Kind, namespace: str, name: str, *, grace_period: int | None = None,
                     propagation: str = "", dry_run: bool = False, precondition_uid: str = "",
                     precondition_version: str = "") -> tuple[Message, bool]:
        """Delete (or mark for deletion); with a precondition, only the object of that uid /
        resourceVersion (ApiError CONFLICT otherwise), as controllers delete what they looked at."""
        request = api_pb2.DeleteRequest(key=api_pb2.ObjectKey(kind=kind.kind, namespace=namespace, name=name),
                                        propagation_policy=propagation, dry_run=dry_run,
                                        precondition_uid=precondition_uid,
                                        precondition_resource_version=precondition_version)
        if grace_period is not None:
            request.grace_period_seconds = grace_period
        reply = await self._call(self.stub.Delete, request)
        return kinds.unwrap(reply.object)[1], reply.pending

    async def watch(self, kind: Kind, namespace: str = "", *, resource_version: str = "",
                    label_selector: str = "", field_selector: str = "",
                    allow_bookmarks: bool = False) -> AsyncIterator[WatchEvent]:
        """Events until the server ends the stream; ApiError(EXPIRED) when the revision was compacted."""
        call = self.stub.Watch(api_pb2.WatchRequest(
            kind=kind.kind, namespace=namespace, resource_version=resource_version,
            label_selector=label_selector, field_selector=field_selector, allow_bookmarks=allow_bookmarks))
        try:
            async for event in call:
                yield WatchEvent(event.type, kinds.unwrap(event.object)[1], event.resource_version)
        except grpc.aio.AioRpcError as error:
            raise api_error(error) from None
        finally:
            call.cancel()

    async def compact(self, revision: int) -> api_pb2.CompactResponse:
        reply: api_pb2.CompactResponse = await self._call(self.stub.Compact,
                                                          api_pb2.CompactRequest(revision=revision))
        return reply

    async def server_info(self) -> api_pb2.ServerInfo:
        reply: api_pb2.ServerInfo = await self._call(self.stub.GetServerInfo, api_pb2.ServerInfoRequest())
        return reply

    async def resources(self) -> Sequence[api_pb2.APIResource]:
        reply: api_pb2.APIResourceList = await self._call(self.stub.ListResources,
                                                          api_pb2.APIResourceListRequest())
        return reply.resources


async def modify(client: ApiClient, kind: Kind, namespace: str, name: str, change: Callable[[Any], None], *,
                 status: bool = False) -> Message:
    """Read the object, `change` it in place, write it back (its status only, with `status`); read and
    change again when someone else wrote in between (Kubernetes' RetryOnConflict)."""
    while True:
        current = await client.get(kind, namespace, name)
        change(current)
        try:
            return await (client.update_status(current) if status else client.update(current))
        except ApiError as error:
            if error.reason is not Reason.CONFLICT:
                raise


def connect(config: ClientConfig, timeout: float | None = 30.0) -> ApiClient:
    return ApiClient(_channel(config), timeout)
