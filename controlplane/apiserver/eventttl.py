"""Events are kept for a bounded time: `--event-ttl` after their last write (Kubernetes' default one hour).

Kubernetes does this in the API server: every write of an Event attaches an etcd lease of that TTL,
so an Event disappears one TTL after it was last recorded or bumped. kubelab does it in the API
server too, for the same reasons: the flag is the API server's (`kube-apiserver --event-ttl`), the
store's owner expires Events without anyone keeping a cache of them all, and expiry works with no
controller manager running. Our stores have no leases, so a sweep deletes every Event whose newest
timestamp (lastTimestamp, eventTime, firstTimestamp, creationTimestamp) is older than the TTL; it
runs a few times per TTL (at most once a minute), so an Event lives at most a sweep longer than its TTL.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError
from controlplane.api.timestamps import epoch
from controlplane.api.v1 import core_pb2
from controlplane.apiserver.registry import Registry

log = structlog.get_logger("apiserver.eventttl")

EVENT = kinds.by_kind("Event")
DEFAULT_EVENT_TTL = 3600.0
_SWEEPS_PER_TTL = 4
_LONGEST_SWEEP_INTERVAL = 60.0
_SHORTEST_SWEEP_INTERVAL = 0.25


def last_written(event: core_pb2.Event) -> float | None:
    """The latest moment the Event may have been last recorded, as seconds since the epoch (None: it
    carries no time at all). A whole-second timestamp stands for any moment of its second, so it
    counts as the end of it: an Event is never dropped before a whole TTL has passed."""
    moments = [_latest(text) for text in (event.last_timestamp, event.event_time, event.first_timestamp,
                                          event.metadata.creation_timestamp)]
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def _latest(text: str) -> float | None:
    moment = epoch(text)
    if moment is None or "." in text:
        return moment
    return moment + 1.0


def expired(event: core_pb2.Event, now: float, ttl: float) -> bool:
    written = last_written(event)
    return written is not None and now - written >= ttl


def sweep_interval(ttl: float) -> float:
    return max(_SHORTEST_SWEEP_INTERVAL, min(_LONGEST_SWEEP_INTERVAL, ttl / _SWEEPS_PER_TTL))


async def expire_events(registry: Registry, ttl: float, now: datetime) -> int:
    """Delete every Event older than the TTL; how many went. An Event written again meanwhile (its
    resourceVersion moved: a repeat was aggregated into it) is left for the next sweep."""
    events, _ = await registry.list_objects(registry.query(EVENT, "", "", ""))
    deleted = 0
    for event in events:
        assert isinstance(event, core_pb2.Event)
        if not expired(event, now.timestamp(), ttl):
            continue
        try:
            await registry.delete(EVENT, event.metadata.namespace, event.metadata.name,
                                  precondition_version=event.metadata.resource_version)
            deleted += 1
        except ApiError:
            continue  # gone already, or refreshed since the listing
    return deleted


async def expire_events_periodically(registry: Registry, ttl: float) -> None:
    interval = sweep_interval(ttl)
    while True:
        await asyncio.sleep(interval)
        deleted = await expire_events(registry, ttl, registry.clock())
        if deleted:
            log.info("events.expired", count=deleted, ttl=ttl)
