"""Recording Events about objects, as Kubernetes' event recorder does: a repeat of the same reason
and message about the same object within the aggregation window bumps `count` and `lastTimestamp`
of the existing Event instead of creating another."""

from __future__ import annotations

import time
from collections import OrderedDict

import structlog
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import now_text
from controlplane.api.v1 import core_pb2
from controlplane.client.api import ApiClient

log = structlog.get_logger("events")

_CACHE_SIZE = 4096
EVENT = kinds.by_kind("Event")


class EventRecorder:
    def __init__(self, client: ApiClient, component: str, host: str = "",
                 aggregate_window: float = 600.0) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.window = aggregate_window
        # (uid, reason, message, type) -> (namespace, event name, first seen monotonic)
        self._seen: OrderedDict[tuple[str, str, str, str], tuple[str, str, float]] = OrderedDict()

    async def record(self, obj: Message, event_type: str, reason: str, message: str, field_path: str = "") -> None:
        """Best effort: a failure to record is logged, never raised (as in Kubernetes)."""
        try:
            await self._record(obj, event_type, reason, message, field_path)
        except ApiError as error:
            log.warning("event.not_recorded", reason=reason, error=error.message)

    async def _record(self, obj: Message, event_type: str, reason: str, message: str, field_path: str) -> None:
        kind = kinds.of_message(obj)
        meta = obj.metadata  # type: ignore[attr-defined]
        key = (meta.uid, reason, message, event_type)
        seen = self._seen.get(key)
        if seen is not None and time.monotonic() - seen[2] < self.window:
            namespace, name, _ = seen
            try:
                current = await self.client.get(EVENT, namespace, name)
            except ApiError as error:
                if error.reason is not Reason.NOT_FOUND:
                    raise
            else:
                assert isinstance(current, core_pb2.Event)
                current.count += 1
                current.last_timestamp = now_text()
                await self.client.update(current)
                self._seen.move_to_end(key)
                return
        now = now_text()
        event = core_pb2.Event(api_version="v1", kind="Event", reason=reason, message=message, type=event_type,
                               count=1, first_timestamp=now, last_timestamp=now,
                               reporting_component=self.component, reporting_instance=self.host)
        event.metadata.name = f"{meta.name}.{time.time_ns():x}"
        event.metadata.namespace = meta.namespace if kind.namespaced else "default"
        event.involved_object.kind = kind.kind
        event.involved_object.api_version = kind.api_version
        event.involved_object.name = meta.name
        event.involved_object.namespace = meta.namespace
        event.involved_object.uid = meta.uid
        event.involved_object.resource_version = meta.resource_version
        event.involved_object.field_path = field_path
        event.source.component = self.component
        event.source.host = self.host
        created = await self.client.create(event)
        self._seen[key] = (created.metadata.namespace, created.metadata.name, time.monotonic())  # type: ignore[attr-defined]
        while len(self._seen) > _CACHE_SIZE:
            self._seen.popitem(last=False)
