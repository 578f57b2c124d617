"""The controllers `kubelab controller-manager` can run, by the name `--controllers` uses: one row
each, so a new controller is one line here and a module in controlplane/controllers/."""

from __future__ import annotations

from collections.abc import Callable

from controlplane.controllers.base import Controller, ControllerContext
from controlplane.controllers.endpoints import EndpointsController
from controlplane.controllers.endpointslice import EndpointSliceController
from controlplane.controllers.endpointslicemirroring import EndpointSliceMirroringController

CONTROLLERS: dict[str, Callable[[ControllerContext], Controller]] = {
    "endpoints": EndpointsController,
    "endpointslice": EndpointSliceController,
    "endpointslicemirroring": EndpointSliceMirroringController,
}
