"""The EndpointSlice controller: every Service with a selector gets EndpointSlices `<service>-<random>`
(labelled `kubernetes.io/service-name` and managed by `endpointslice-controller.k8s.io`) holding its
pods with their conditions, at most 100 to a slice (controllers/serviceslices.py says what, and
controllers/sliceplan.py which writes). Slices of other managers are never touched: a Service
without a selector keeps the slices its users write.
"""

from __future__ import annotations

from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.client.informer import object_key
from controlplane.controllers import indexes, servicetriggers
from controlplane.controllers.base import ControllerContext
from controlplane.controllers.serviceslices import CONTROLLER_NAME, desired_endpoints, slice_template
from controlplane.controllers.slicekeeper import SliceKeeper
from controlplane.controllers.sliceplan import MAX_ENDPOINTS_PER_SLICE, SlicePlan, plan_slices


class EndpointSliceController(SliceKeeper):
    name = "endpointslice"
    manager = CONTROLLER_NAME

    def __init__(self, context: ControllerContext, max_per_slice: int = MAX_ENDPOINTS_PER_SLICE) -> None:
        super().__init__(context)
        self.max_per_slice = max_per_slice
        self.services = context.informers("Service")
        self.pods = context.informers("Pod")
        self.pods.add_index(indexes.POD_LABEL_INDEX, indexes.pods_by_label)
        self.recorder = context.recorder("endpoint-slice-controller")
        self.services.add_handler(lambda old, new: self.queue.add(object_key(new or old)))
        self.pods.add_handler(servicetriggers.requeue_services_of_pod(self.services, self.queue.add))

    def plan(self, namespace: str, name: str, mine: list[discovery_pb2.EndpointSlice]) -> SlicePlan:
        service: core_pb2.Service | None = self.services.get(namespace, name)
        if service is None or not service.spec.selector or service.spec.type == "ExternalName":
            # Ours only: slices a user wrote for a selector-less Service carry another manager.
            return SlicePlan(delete=list(mine))
        pods = indexes.candidates_for_selector(self.pods, namespace, service.spec.selector)
        return plan_slices(mine, desired_endpoints(service, pods), slice_template(service),
                           max_per_slice=self.max_per_slice, placeholder=True)

    async def write(self, key: str, plan: SlicePlan) -> None:
        try:
            await super().write(key, plan)
        except ApiError as error:
            service = self.services.get_by_key(key)
            if service is not None and error.reason not in (Reason.CONFLICT, Reason.NOT_FOUND):
                await self.recorder.record(service, "Warning", "FailedToUpdateEndpointSlices",
                                           f"Error updating Endpoint Slices for Service {key}: {error.message}")
            raise
