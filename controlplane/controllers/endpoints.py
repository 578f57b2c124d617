"""The Endpoints controller: every Service with a selector gets an Endpoints object of the same name
listing its pods (controllers/endpointsubsets.py computes it), rewritten as soon as a pod's
readiness, address or labels change; a deleted Service's Endpoints go with it. Services without a
selector keep the Endpoints their users write.
"""

from __future__ import annotations

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2
from controlplane.client.informer import object_key, split_key
from controlplane.controllers import indexes, servicetriggers
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.endpointsubsets import TRIGGER_TIME_ANNOTATION, plan_endpoints
from controlplane.controllers.writetracker import STALE_RETRY, WriteTracker

log = structlog.get_logger("controller.endpoints")

ENDPOINTS = kinds.by_kind("Endpoints")
_QUIET = (Reason.CONFLICT, Reason.ALREADY_EXISTS, Reason.NOT_FOUND)


class EndpointsController(QueueController):
    name = "endpoints"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, context.config.workers)
        self.services = context.informers("Service")
        self.pods = context.informers("Pod")
        self.pods.add_index(indexes.POD_LABEL_INDEX, indexes.pods_by_label)
        self.endpoints = context.informers("Endpoints")
        self.recorder = context.recorder("endpoint-controller")
        self.tracker = WriteTracker()
        self.services.add_handler(lambda old, new: self.queue.add(object_key(new or old)))
        self.pods.add_handler(servicetriggers.requeue_services_of_pod(self.services, self.queue.add))
        self.endpoints.add_handler(self._endpoints_changed)

    def _endpoints_changed(self, old: core_pb2.Endpoints | None, new: core_pb2.Endpoints | None) -> None:
        # Someone else's edit (or deletion) of a managed Endpoints is undone; our own writes land here
        # too. Ours whose Service is gone (deleted while we were down) are removed.
        changed = new or old
        assert changed is not None
        key = object_key(changed)
        service = self.services.get_by_key(key)
        managed = service.spec.selector if service is not None else (
            new is not None and TRIGGER_TIME_ANNOTATION in new.metadata.annotations)
        if managed:
            self.queue.add(key)

    async def reconcile(self, key: str) -> float | None:
        if not self.tracker.caught_up(key, self.endpoints.resource_version):
            return STALE_RETRY
        namespace, name = split_key(key)
        service = self.services.get(namespace, name)
        current = self.endpoints.get(namespace, name)
        if service is None:
            if current is not None:
                await self._delete(key, namespace, name)
            return None
        if not service.spec.selector:
            return None
        pods = indexes.candidates_for_selector(self.pods, namespace, service.spec.selector)
        plan = plan_endpoints(service, pods, current)
        if plan.endpoints is None:
            return None
        try:
            written = await (self.client.create(plan.endpoints) if plan.create else self.client.update(plan.endpoints))
        except ApiError as error:
            if error.reason not in _QUIET:
                verb = "create" if plan.create else "update"
                message = (f"Failed to create endpoint for service {namespace}/{name}: {error.message}" if plan.create
                           else f"Failed to update endpoint {namespace}/{name}: {error.message}")
                await self.recorder.record(plan.endpoints, "Warning",
                                           "FailedToCreateEndpoint" if plan.create else "FailedToUpdateEndpoint",
                                           message)
                log.info("endpoints.write_failed", key=key, verb=verb, error=error.message)
            raise
        self.tracker.wrote(key, written.metadata.resource_version)  # type: ignore[attr-defined]
        log.debug("endpoints.written", key=key, subsets=len(plan.endpoints.subsets))
        return None

    async def _delete(self, key: str, namespace: str, name: str) -> None:
        try:
            gone, _ = await self.client.delete(ENDPOINTS, namespace, name)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
            return
        self.tracker.wrote(key, gone.metadata.resource_version)  # type: ignore[attr-defined]
