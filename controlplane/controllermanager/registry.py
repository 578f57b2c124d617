"""The controllers `kubelab controller-manager` can run, by the name `--controllers` uses: one row
each, so a new controller is one line here and a module in controlplane/controllers/."""

from __future__ import annotations

from collections.abc import Callable

from controlplane.controllers.base import Controller, ControllerContext
from controlplane.controllers.deployment import DeploymentController
from controlplane.controllers.endpoints import EndpointsController
from controlplane.controllers.endpointslice import EndpointSliceController
from controlplane.controllers.endpointslicemirroring import EndpointSliceMirroringController
from controlplane.controllers.garbagecollector.controller import GarbageCollector
from controlplane.controllers.loadbalancer import LoadBalancerController
from controlplane.controllers.namespace.controller import NamespaceController
from controlplane.controllers.nodeipam.controller import NodeIpamController
from controlplane.controllers.nodelifecycle.controller import NodeLifecycleController
from controlplane.controllers.nodelifecycle.gossipwitness import GossipWitness
from controlplane.controllers.podgc.controller import PodGcController
from controlplane.controllers.replicaset import ReplicaSetController
from controlplane.controllers.tainteviction.controller import TaintEvictionController


def _node_lifecycle(context: ControllerContext) -> Controller:
    """With the agents' gossip cluster as the second witness when --gossip-witness names an agent."""
    address = context.config.node_lifecycle.gossip_witness
    return NodeLifecycleController(context, witness=GossipWitness(address) if address else None)


CONTROLLERS: dict[str, Callable[[ControllerContext], Controller]] = {
    "nodeipam": NodeIpamController,
    "nodelifecycle": _node_lifecycle,
    "taint-eviction-controller": TaintEvictionController,
    "podgc": PodGcController,
    "garbagecollector": GarbageCollector,
    "namespace": NamespaceController,
    "endpoints": EndpointsController,
    "endpointslice": EndpointSliceController,
    "endpointslicemirroring": EndpointSliceMirroringController,
    "replicaset": ReplicaSetController,
    "deployment": DeploymentController,
    "loadbalancer": LoadBalancerController,
}
