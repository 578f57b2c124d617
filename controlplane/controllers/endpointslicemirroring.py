"""The EndpointSliceMirroring controller: the Endpoints a user writes for a Service without a
selector are mirrored into EndpointSlices managed by `endpointslicemirroring-controller.k8s.io`
(controllers/mirroring.py says which and what), so that readers of slices see them; the mirror
goes when the Endpoints, the Service, or its selector-lessness go.
"""

from __future__ import annotations

from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.client.informer import object_key
from controlplane.controllers.base import ControllerContext
from controlplane.controllers.mirroring import (
    CONTROLLER_NAME,
    MAX_PER_SLICE,
    mirror_template,
    mirrored_endpoints,
    should_mirror,
)
from controlplane.controllers.slicekeeper import SliceKeeper
from controlplane.controllers.sliceplan import SlicePlan, plan_slices


class EndpointSliceMirroringController(SliceKeeper):
    name = "endpointslicemirroring"
    manager = CONTROLLER_NAME
    written = "endpointslices.mirrored"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context)
        self.services = context.informers("Service")
        self.endpoints = context.informers("Endpoints")
        self.services.add_handler(self._service_changed)
        self.endpoints.add_handler(lambda old, new: self.queue.add(object_key(new or old)))

    def _service_changed(self, old: core_pb2.Service | None, new: core_pb2.Service | None) -> None:
        changed = new or old
        assert changed is not None
        if old is None or new is None or bool(old.spec.selector) != bool(new.spec.selector):
            self.queue.add(object_key(changed))

    def plan(self, namespace: str, name: str, mine: list[discovery_pb2.EndpointSlice]) -> SlicePlan:
        endpoints: core_pb2.Endpoints | None = self.endpoints.get(namespace, name)
        if endpoints is None or not should_mirror(self.services.get(namespace, name), endpoints):
            return SlicePlan(delete=list(mine))
        return plan_slices(mine, mirrored_endpoints(endpoints), mirror_template(endpoints), max_per_slice=MAX_PER_SLICE)
