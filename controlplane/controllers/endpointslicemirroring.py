"""The EndpointSliceMirroring controller: the Endpoints a user writes for a Service without a
selector are mirrored into EndpointSlices managed by `endpointslicemirroring-controller.k8s.io`
(controllers/mirroring.py says which and what), so that readers of slices see them; the mirror
goes when the Endpoints, the Service, or its selector-lessness go.
"""

from __future__ import annotations

import structlog

from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.client.informer import object_key, split_key
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.endpointslice import managed_service_key
from controlplane.controllers.mirroring import (
    CONTROLLER_NAME,
    MAX_PER_SLICE,
    mirror_template,
    mirrored_endpoints,
    should_mirror,
)
from controlplane.controllers.sliceplan import SlicePlan, plan_slices
from controlplane.controllers.slicewriter import apply_slice_plan
from controlplane.controllers.writetracker import WriteTracker

log = structlog.get_logger("controller.endpointslicemirroring")

STALE_RETRY = 0.05
INDEX = "service-" + CONTROLLER_NAME


class EndpointSliceMirroringController(QueueController):
    name = "endpointslicemirroring"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, context.config.workers)
        self.services = context.informers("Service")
        self.endpoints = context.informers("Endpoints")
        self.slices = context.informers("EndpointSlice")
        self.slices.add_index(INDEX, lambda eps: managed_service_key(eps, CONTROLLER_NAME))
        self.tracker = WriteTracker()
        self.services.add_handler(self._service_changed)
        self.endpoints.add_handler(lambda old, new: self.queue.add(object_key(new or old)))
        self.slices.add_handler(self._slice_changed)

    def _service_changed(self, old: core_pb2.Service | None, new: core_pb2.Service | None) -> None:
        changed = new or old
        assert changed is not None
        if old is None or new is None or bool(old.spec.selector) != bool(new.spec.selector):
            self.queue.add(object_key(changed))

    def _slice_changed(self, old: discovery_pb2.EndpointSlice | None,
                       new: discovery_pb2.EndpointSlice | None) -> None:
        for eps in (old, new):
            if eps is not None:
                for key in managed_service_key(eps, CONTROLLER_NAME):
                    self.queue.add(key)

    async def reconcile(self, key: str) -> float | None:
        if not self.tracker.caught_up(key, self.slices.resource_version):
            return STALE_RETRY
        namespace, name = split_key(key)
        endpoints: core_pb2.Endpoints | None = self.endpoints.get(namespace, name)
        mine = self.slices.by_index(INDEX, key)
        if endpoints is None or not should_mirror(self.services.get(namespace, name), endpoints):
            plan = SlicePlan(delete=list(mine))
        else:
            plan = plan_slices(mine, mirrored_endpoints(endpoints), mirror_template(endpoints),
                               max_per_slice=MAX_PER_SLICE)
        if plan.empty:
            return None
        await apply_slice_plan(self.client, plan, self.tracker, key)
        log.debug("endpointslices.mirrored", key=key, created=len(plan.create), updated=len(plan.update),
                  deleted=len(plan.delete))
        return None
