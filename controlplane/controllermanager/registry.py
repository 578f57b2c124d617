"""The controllers `kubelab controller-manager` can run, by the name `--controllers` uses: one row
each, so a new controller is one line here and a module in controlplane/controllers/."""

from __future__ import annotations

from collections.abc import Callable

from controlplane.controllers.base import Controller, ControllerContext
from controlplane.controllers.deployment import DeploymentController
from controlplane.controllers.replicaset import ReplicaSetController

CONTROLLERS: dict[str, Callable[[ControllerContext], Controller]] = {
    "replicaset": ReplicaSetController,
    "deployment": DeploymentController,
}
