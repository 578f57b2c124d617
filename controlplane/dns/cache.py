"""The watch caches behind the DNS: Services, EndpointSlices and Namespaces, each change applied to
ClusterRecords as it arrives (so a query never waits on the API)."""

from __future__ import annotations

import time
from collections.abc import Callable

from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.client.api import ApiClient
from controlplane.client.informer import InformerSet
from controlplane.dns.records import ClusterRecords, service_info, slice_endpoints


class RecordsCache:
    def __init__(self, client: ApiClient, records: ClusterRecords, clock: Callable[[], float] = time.time) -> None:
        self.records = records
        self.clock = clock
        self.informers = InformerSet(client)
        self.informers("Service").add_handler(self._service)
        self.informers("EndpointSlice").add_handler(self._slice)
        self.informers("Namespace").add_handler(self._namespace)

    async def run(self) -> None:
        await self.informers.run()

    async def wait_synced(self) -> None:
        await self.informers.wait_synced()

    def _service(self, old: core_pb2.Service | None, new: core_pb2.Service | None) -> None:
        if new is None:
            assert old is not None
            self.records.delete_service(old.metadata.namespace, old.metadata.name)
        else:
            self.records.put_service(service_info(new))
        self.records.changed(self.clock())

    def _slice(self, old: discovery_pb2.EndpointSlice | None, new: discovery_pb2.EndpointSlice | None) -> None:
        if new is None:
            assert old is not None
            self.records.delete_slice(old.metadata.namespace, old.metadata.name)
        else:
            service, endpoints = slice_endpoints(new)
            self.records.put_slice(new.metadata.namespace, new.metadata.name, service, endpoints)
        self.records.changed(self.clock())

    def _namespace(self, old: core_pb2.Namespace | None, new: core_pb2.Namespace | None) -> None:
        if new is None:
            assert old is not None
            self.records.namespaces.discard(old.metadata.name)
        else:
            self.records.namespaces.add(new.metadata.name)
        self.records.changed(self.clock())
