"""The EndpointSlice controller: every Service with a selector gets EndpointSlices `<service>-<random>`
(labelled `kubernetes.io/service-name` and managed by `endpointslice-controller.k8s.io`) holding its
pods with their conditions, at most 100 to a slice (controllers/serviceslices.py says what, and
controllers/sliceplan.py which writes). Slices of other managers are never touched: a Service
without a selector keeps the slices its users write.
"""

from __future__ import annotations

import structlog

from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.client.informer import object_key, split_key
from controlplane.controllers import servicetriggers
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.serviceslices import (
    CONTROLLER_NAME,
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    desired_endpoints,
    slice_template,
)
from controlplane.controllers.sliceplan import MAX_ENDPOINTS_PER_SLICE, SlicePlan, plan_slices
from controlplane.controllers.slicewriter import apply_slice_plan
from controlplane.controllers.writetracker import WriteTracker

log = structlog.get_logger("controller.endpointslice")

STALE_RETRY = 0.05
INDEX = "service-" + CONTROLLER_NAME


def managed_service_key(eps: discovery_pb2.EndpointSlice, manager: str) -> list[str]:
    """`namespace/service` of a slice that `manager` keeps (an index value), or nothing."""
    labels = eps.metadata.labels
    if labels.get(MANAGED_BY_LABEL) != manager or not labels.get(SERVICE_NAME_LABEL):
        return []
    return [f"{eps.metadata.namespace}/{labels[SERVICE_NAME_LABEL]}"]


class EndpointSliceController(QueueController):
    name = "endpointslice"

    def __init__(self, context: ControllerContext, max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> None:
        super().__init__(context, context.config.workers)
        self.max_per_slice = max_per_slice
        self.services = context.informers("Service")
        self.pods = context.informers("Pod")
        self.slices = context.informers("EndpointSlice")
        self.slices.add_index(INDEX, lambda eps: managed_service_key(eps, CONTROLLER_NAME))
        self.recorder = context.recorder("endpoint-slice-controller")
        self.tracker = WriteTracker()
        self.services.add_handler(lambda old, new: self.queue.add(object_key(new or old)))
        self.pods.add_handler(self._pod_changed)
        self.slices.add_handler(self._slice_changed)

    def _pod_changed(self, old: core_pb2.Pod | None, new: core_pb2.Pod | None) -> None:
        for key in servicetriggers.services_of_pod(self.services, old, new):
            self.queue.add(key)

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
        service: core_pb2.Service | None = self.services.get(namespace, name)
        mine = self.slices.by_index(INDEX, key)
        if service is None or not service.spec.selector or service.spec.type == "ExternalName":
            # Ours only: slices a user wrote for a selector-less Service carry another manager.
            plan = SlicePlan(delete=list(mine))
        else:
            plan = plan_slices(mine, desired_endpoints(service, self.pods.list(namespace)),
                               slice_template(service), max_per_slice=self.max_per_slice, placeholder=True)
        if plan.empty:
            return None
        try:
            await apply_slice_plan(self.client, plan, self.tracker, key)
        except ApiError as error:
            if service is not None and error.reason not in (Reason.CONFLICT, Reason.NOT_FOUND):
                await self.recorder.record(service, "Warning", "FailedToUpdateEndpointSlices",
                                           f"Error updating Endpoint Slices for Service {key}: {error.message}")
            raise
        log.debug("endpointslices.written", key=key, created=len(plan.create), updated=len(plan.update),
                  deleted=len(plan.delete))
        return None
