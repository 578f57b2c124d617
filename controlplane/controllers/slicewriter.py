"""Carrying out a SlicePlan against the API: creations first, then updates, deletions last, so that
readers never see a Service's endpoints vanish in the middle of a change. Each write's revision goes
to the controller's WriteTracker."""

from __future__ import annotations

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.client.api import ApiClient
from controlplane.controllers.sliceplan import SlicePlan
from controlplane.controllers.writetracker import WriteTracker

ENDPOINT_SLICE = kinds.by_kind("EndpointSlice")


async def apply_slice_plan(client: ApiClient, plan: SlicePlan, tracker: WriteTracker, key: str) -> None:
    for eps in plan.create:
        created = await client.create(eps)
        tracker.wrote(key, created.metadata.resource_version)  # type: ignore[attr-defined]
    for eps in plan.update:
        updated = await client.update(eps)
        tracker.wrote(key, updated.metadata.resource_version)  # type: ignore[attr-defined]
    for eps in plan.delete:
        try:
            gone, _ = await client.delete(ENDPOINT_SLICE, eps.metadata.namespace, eps.metadata.name)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
            continue
        tracker.wrote(key, gone.metadata.resource_version)  # type: ignore[attr-defined]
