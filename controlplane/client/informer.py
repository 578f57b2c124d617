"""A watch cache of one kind (Kubernetes' informer): list, then watch from the list's revision, keep
every object in memory by key, and tell handlers what changed.

It never trusts that it saw every event: when the watch cannot resume (the revision was compacted,
the API server was away too long) it lists again and hands the handlers the difference between
what it held and what is there now, deletions included. Handlers are plain functions called on the
event loop with `(old, new)`: `old` is None for an addition, `new` is None for a deletion. They
should be cheap (put a key on a work queue); readers use `get`, `list` and `by_index`.

    pods = Informer(client, kinds.by_kind("Pod"))
    pods.add_index("node", lambda pod: [pod.spec.node_name])
    pods.add_handler(lambda old, new: queue.add(key_of(new or old)))
    async with asyncio.TaskGroup() as group:
        group.create_task(pods.run())
        await pods.wait_synced()
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind
from controlplane.client.api import ApiClient

log = structlog.get_logger("informer")

Handler = Callable[[Any, Any], None]
IndexFunc = Callable[[Any], Iterable[str]]

# Back-off between attempts to reach an API server that does not answer.
_RETRY_FIRST, _RETRY_MAX = 0.2, 2.0


def object_key(obj: Message) -> str:
    """`namespace/name`, or `name` for a cluster-scoped object (Kubernetes' MetaNamespaceKey)."""
    meta = obj.metadata  # type: ignore[attr-defined]
    return f"{meta.namespace}/{meta.name}" if meta.namespace else str(meta.name)


def split_key(key: str) -> tuple[str, str]:
    """(namespace, name) of a key made by `object_key`."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


class Informer:
    def __init__(self, client: ApiClient, kind: Kind, *, namespace: str = "", label_selector: str = "",
                 field_selector: str = "", resync_period: float = 0.0) -> None:
        self.client = client
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        # Every period, handlers get (obj, obj) for every cached object: a nudge for level-triggered
        # controllers that an external fact (a clock, another system) may have changed. 0 = never.
        self.resync_period = resync_period
        self.resource_version = ""
        self._cache: dict[str, Any] = {}
        self._handlers: list[Handler] = []
        self._indexers: dict[str, IndexFunc] = {}
        self._indexes: dict[str, dict[str, dict[str, Any]]] = {}
        self._synced = asyncio.Event()
        if kind.namespaced:
            self.add_index("namespace", lambda obj: [obj.metadata.namespace])

    # ------------------------------------------------------------------ reading

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def get(self, namespace: str, name: str) -> Any | None:
        return self._cache.get(f"{namespace}/{name}" if namespace else name)

    def get_by_key(self, key: str) -> Any | None:
        return self._cache.get(key)

    def list(self, namespace: str = "") -> builtins.list[Any]:
        if not namespace:
            return list(self._cache.values())
        return self.by_index("namespace", namespace)

    def keys(self) -> builtins.list[str]:
        return list(self._cache)

    def __len__(self) -> int:
        return len(self._cache)

    def by_index(self, index: str, value: str) -> builtins.list[Any]:
        return list(self._indexes[index].get(value, {}).values())

    # ------------------------------------------------------------------ wiring

    def add_handler(self, handler: Handler) -> None:
        """`handler(old, new)` for every change from now on; objects already cached are replayed as
        additions, so a handler added late misses nothing."""
        self._handlers.append(handler)
        for obj in self._cache.values():
            handler(None, obj)

    def add_index(self, name: str, values: IndexFunc) -> None:
        """An index from each value `values(obj)` returns to the objects that returned it."""
        if name in self._indexers:
            return
        self._indexers[name] = values
        index: dict[str, dict[str, Any]] = {}
        for key, obj in self._cache.items():
            for value in values(obj):
                index.setdefault(value, {})[key] = obj
        self._indexes[name] = index

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """List and watch until cancelled."""
        delay = _RETRY_FIRST
        async with asyncio.TaskGroup() as group:
            if self.resync_period > 0:
                group.create_task(self._resync_forever())
            while True:
                try:
                    if not self.resource_version:
                        await self._relist()
                    await self._follow()
                    delay = _RETRY_FIRST
                except ApiError as error:
                    if error.reason is Reason.EXPIRED:
                        log.info("informer.relist", kind=self.kind.kind, reason="expired")
                        self.resource_version = ""
                        continue
                    if error.reason is not Reason.UNAVAILABLE:
                        log.warning("informer.error", kind=self.kind.kind, error=error.message)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _RETRY_MAX)

    async def _relist(self) -> None:
        items, version = await self.client.list(self.kind, self.namespace, label_selector=self.label_selector,
                                                field_selector=self.field_selector)
        fresh: dict[str, Any] = {object_key(obj): obj for obj in items}
        for key in [key for key in self._cache if key not in fresh]:
            self._apply(key, None)
        for key, obj in fresh.items():
            old = self._cache.get(key)
            if old is None or old.metadata.resource_version != obj.metadata.resource_version:
                self._apply(key, obj)
        self.resource_version = version
        self._synced.set()

    async def _follow(self) -> None:
        """Apply watch events from the last revision seen until the stream ends."""
        stream = self.client.watch(self.kind, self.namespace, resource_version=self.resource_version,
                                   label_selector=self.label_selector, field_selector=self.field_selector,
                                   allow_bookmarks=True)
        try:
            async for event in stream:
                if event.type != "BOOKMARK":
                    key = object_key(event.object)
                    self._apply(key, None if event.type == "DELETED" else event.object)
                if event.resource_version:
                    self.resource_version = event.resource_version
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _apply(self, key: str, new: Any | None) -> None:
        old = self._cache.get(key)
        if old is None and new is None:
            return
        for name, values in self._indexers.items():
            index = self._indexes[name]
            if old is not None:
                for value in values(old):
                    bucket = index.get(value)
                    if bucket is not None:
                        bucket.pop(key, None)
                        if not bucket:
                            del index[value]
            if new is not None:
                for value in values(new):
                    index.setdefault(value, {})[key] = new
        if new is None:
            del self._cache[key]
        else:
            self._cache[key] = new
        for handler in self._handlers:
            try:
                handler(old, new)
            except Exception:  # one handler's bug must not stop the cache or the others
                log.exception("informer.handler_failed", kind=self.kind.kind, key=key)

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            for obj in list(self._cache.values()):
                for handler in self._handlers:
                    handler(obj, obj)


class InformerSet:
    """One informer per kind, shared by every controller of a process (SharedInformerFactory)."""

    def __init__(self, client: ApiClient, resync_period: float = 0.0) -> None:
        self.client = client
        self.resync_period = resync_period
        self._informers: dict[str, Informer] = {}

    def __call__(self, kind: Kind | str) -> Informer:
        found = kinds.by_kind(kind) if isinstance(kind, str) else kind
        informer = self._informers.get(found.kind)
        if informer is None:
            informer = Informer(self.client, found, resync_period=self.resync_period)
            self._informers[found.kind] = informer
        return informer

    def __iter__(self) -> Any:
        return iter(list(self._informers.values()))

    async def run(self) -> None:
        """Run every informer asked for so far, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for informer in self._informers.values():
                group.create_task(informer.run(), name=f"informer-{informer.kind.kind}")

    async def wait_synced(self) -> None:
        for informer in list(self._informers.values()):
            await informer.wait_synced()
