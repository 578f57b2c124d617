"""`kubelab dns`: fill the watch caches, serve UDP and TCP on the node's address, register as an
endpoint of kube-dns, and on SIGTERM unregister before leaving."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from controlplane.api.errors import ApiError
from controlplane.client import ApiClient, ClientConfig, connect
from controlplane.daemon import ConfigError
from controlplane.dns.answer import Settings
from controlplane.dns.cache import RecordsCache
from controlplane.dns.config import DnsConfig
from controlplane.dns.records import ClusterRecords
from controlplane.dns.registration import Instance, Registration
from controlplane.dns.resolver import Resolver
from controlplane.dns.transport import Listeners, listen
from controlplane.dns.upstream import Forwarder, Upstream, read_nameservers

log = structlog.get_logger("dns")

UNREGISTER_TIMEOUT = 5.0


async def serve(config: DnsConfig) -> None:
    client = connect(ClientConfig(server=config.server), timeout=30)
    failure: ConfigError | None = None
    try:
        records = ClusterRecords()
        cache = RecordsCache(client, records)
        upstreams = list(config.upstreams) or read_nameservers(config.resolv_conf)
        async with asyncio.TaskGroup() as group:
            caching = group.create_task(cache.run(), name="dns-cache")
            await cache.wait_synced()  # no answer from a cache still filling: an NXDOMAIN would stick
            forwarder = Forwarder(upstreams, config.upstream_timeout, own=[Upstream(config.node_ip, config.port)])
            resolver = Resolver(records, Settings(config.cluster_domain, config.ttl), forwarder)
            try:
                listeners = await listen(config.node_ip, config.port, resolver.resolve, group)
            except OSError as error:
                failure = ConfigError(f"cannot serve on {config.node_ip}:{config.port}: {error.strerror}")
                caching.cancel()
            else:
                log.info("dns.serving", address=config.node_ip, port=listeners.port, domain=config.cluster_domain,
                         upstreams=[str(u) for u in forwarder.upstreams], services=len(records.services))
                await _serve_until_stopped(client, config, listeners, group)
    finally:
        await client.close()
    if failure is not None:
        raise failure


async def _serve_until_stopped(client: ApiClient, config: DnsConfig, listeners: Listeners,
                               group: asyncio.TaskGroup) -> None:
    registration = None
    keeping = None
    if config.register_service:
        namespace, name = config.register_service.split("/")
        registration = Registration(client, Instance(namespace, name, config.node_name, config.node_ip,
                                                     listeners.port), config.register_interval)
        keeping = group.create_task(registration.keep(), name="dns-registration")
    try:
        await asyncio.Event().wait()
    finally:
        await listeners.close()
        if registration is not None and keeping is not None:
            keeping.cancel()  # it must not put the entries back while they are being removed
            with contextlib.suppress(asyncio.CancelledError):
                await keeping
            with contextlib.suppress(ApiError, TimeoutError):
                async with asyncio.timeout(UNREGISTER_TIMEOUT):
                    await registration.unregister()
