"""What the EndpointSlice and EndpointSliceMirroring controllers share: each keeps the EndpointSlices
that carry its own manager label, one Service key at a time. Its slices are indexed by the Service
they belong to, a change of any of them brings that Service back to the queue, and a reconcile
waits until the cache has seen the controller's own last write before it plans the next ones."""

from __future__ import annotations

from abc import abstractmethod

import structlog

from controlplane.api.v1 import discovery_pb2
from controlplane.client.informer import split_key
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.serviceslices import MANAGED_BY_LABEL, SERVICE_NAME_LABEL
from controlplane.controllers.sliceplan import SlicePlan
from controlplane.controllers.slicewriter import apply_slice_plan
from controlplane.controllers.writetracker import STALE_RETRY, WriteTracker


def managed_service_key(eps: discovery_pb2.EndpointSlice, manager: str) -> list[str]:
    """`namespace/service` of a slice that `manager` keeps (an index value), or nothing."""
    labels = eps.metadata.labels
    if labels.get(MANAGED_BY_LABEL) != manager or not labels.get(SERVICE_NAME_LABEL):
        return []
    return [f"{eps.metadata.namespace}/{labels[SERVICE_NAME_LABEL]}"]


class SliceKeeper(QueueController):
    manager = ""  # the endpointslice.kubernetes.io/managed-by value of the slices this controller keeps
    written = "endpointslices.written"  # the log event of a carried-out plan

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, context.config.workers)
        self.log = structlog.get_logger(f"controller.{self.name}")
        self.index = "service-" + self.manager
        self.slices = context.informers("EndpointSlice")
        self.slices.add_index(self.index, lambda eps: managed_service_key(eps, self.manager))
        self.tracker = WriteTracker()
        self.slices.add_handler(self._slice_changed)

    def _slice_changed(self, old: discovery_pb2.EndpointSlice | None,
                       new: discovery_pb2.EndpointSlice | None) -> None:
        for eps in (old, new):
            if eps is not None:
                for key in managed_service_key(eps, self.manager):
                    self.queue.add(key)

    @abstractmethod
    def plan(self, namespace: str, name: str, mine: list[discovery_pb2.EndpointSlice]) -> SlicePlan:
        """The writes that make `mine` (this controller's slices of the Service) what they should be."""

    async def write(self, key: str, plan: SlicePlan) -> None:
        await apply_slice_plan(self.client, plan, self.tracker, key)

    async def reconcile(self, key: str) -> float | None:
        if not self.tracker.caught_up(key, self.slices.resource_version):
            return STALE_RETRY
        namespace, name = split_key(key)
        plan = self.plan(namespace, name, self.slices.by_index(self.index, key))
        if plan.empty:
            return None
        await self.write(key, plan)
        self.log.debug(self.written, key=key, created=len(plan.create), updated=len(plan.update),
                       deleted=len(plan.delete))
        return None
