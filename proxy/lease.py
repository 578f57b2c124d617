"""This proxy's Lease (`kubelab-proxy-<node>` in kube-system): renewed while the proxy runs, deleted
when it stops, so the other proxies know which nodes can answer for load balancer addresses."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import format_micro_time
from controlplane.api.v1 import coordination_pb2
from controlplane.client import ApiClient
from proxy.announce import LEASE_LABEL, LEASE_NAMESPACE, lease_name

log = structlog.get_logger("proxy.lease")

LEASE = kinds.by_kind("Lease")


def _lease(node: str, duration: float) -> coordination_pb2.Lease:
    lease = coordination_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
    lease.metadata.name = lease_name(node)
    lease.metadata.namespace = LEASE_NAMESPACE
    lease.metadata.labels[LEASE_LABEL[0]] = LEASE_LABEL[1]
    lease.spec.holder_identity = node
    lease.spec.lease_duration_seconds = max(round(duration), 1)
    now = format_micro_time(datetime.now(UTC))
    lease.spec.acquire_time = now
    lease.spec.renew_time = now
    return lease


async def keep_lease(client: ApiClient, node: str, duration: float, interval: float) -> None:
    """Renew the lease every `interval` seconds until cancelled; then delete it."""
    held: coordination_pb2.Lease | None = None
    try:
        while True:
            try:
                held = await _renew(client, node, duration, held)
            except ApiError as error:
                held = None
                log.warning("lease.not_renewed", lease=lease_name(node), error=error.message)
            await asyncio.sleep(interval)
    finally:
        with contextlib.suppress(ApiError, TimeoutError):
            async with asyncio.timeout(2):
                await client.delete(LEASE, LEASE_NAMESPACE, lease_name(node))
                log.info("lease.released", lease=lease_name(node))


async def _renew(client: ApiClient, node: str, duration: float,
                 held: coordination_pb2.Lease | None) -> coordination_pb2.Lease:
    if held is None:
        try:
            found = await client.get(LEASE, LEASE_NAMESPACE, lease_name(node))
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
            created = await client.create(_lease(node, duration))
            assert isinstance(created, coordination_pb2.Lease)
            log.info("lease.acquired", lease=lease_name(node))
            return created
        assert isinstance(found, coordination_pb2.Lease)
        held = found
    held.spec.holder_identity = node
    held.spec.lease_duration_seconds = max(round(duration), 1)
    held.spec.renew_time = format_micro_time(datetime.now(UTC))
    try:
        updated = await client.update(held)
    except ApiError as error:
        if error.reason in (Reason.CONFLICT, Reason.NOT_FOUND):
            return await _renew(client, node, duration, None)
        raise
    assert isinstance(updated, coordination_pb2.Lease)
    return updated
