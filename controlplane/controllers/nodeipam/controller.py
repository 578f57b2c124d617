"""The node IPAM controller (Kubernetes' range allocator): each Node without a pod range gets the
next free subnet of `--cluster-cidr` (`--node-cidr-mask-size` bits) in spec.podCIDR and
spec.podCIDRs; ranges that nodes already carry (an agent started with `--pod-cidr`, or a range
allocated before a restart) are taken as used, and a deleted node's range is freed.

Which ranges are used lives only in memory: it is rebuilt from the Node cache before the first
allocation, so a restart never hands out a range a node holds.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2
from controlplane.client.api import modify
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.nodeipam.cidrset import CidrSet

log = structlog.get_logger("controller.nodeipam")

NODE = kinds.by_kind("Node")


def node_cidrs(node: core_pb2.Node) -> list[ipaddress.IPv4Network]:
    """The IPv4 pod ranges a node carries (podCIDRs, else podCIDR); unreadable ones are skipped."""
    found = []
    for text in list(node.spec.pod_cidrs) or ([node.spec.pod_cidr] if node.spec.pod_cidr else []):
        try:
            found.append(ipaddress.IPv4Network(text))
        except ValueError:
            continue
    return found


class NodeIpamController(QueueController):
    name = "nodeipam"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, workers=1)  # allocation is cheap; one worker keeps the order plain
        settings = context.config.node_ipam
        self.cidrs = CidrSet(settings.cluster_cidr, settings.node_cidr_mask_size)
        self.recorder = context.recorder("cidrAllocator")
        self.nodes = context.informers(NODE)
        # node name -> the ranges counted as used for it (to free them when it goes)
        self.held: dict[str, list[ipaddress.IPv4Network]] = {}
        self.nodes.add_handler(self._changed)

    def _changed(self, old: Any, new: Any) -> None:
        node = new if new is not None else old
        if new is not None and old is not None and old.spec.pod_cidrs == new.spec.pod_cidrs \
                and old.spec.pod_cidr == new.spec.pod_cidr:
            return
        self.queue.add(node.metadata.name)

    async def run(self) -> None:
        for node in self.nodes.list():
            self._hold(node.metadata.name, node_cidrs(node))
        log.info("nodeipam.ready", cluster_cidr=str(self.cidrs.cluster), mask=self.cidrs.mask_size,
                 used=len(self.cidrs))
        await super().run()

    # ------------------------------------------------------------------ bookkeeping

    def _holders(self, cidr: ipaddress.IPv4Network, besides: str) -> list[str]:
        return [name for name, held in self.held.items() if name != besides and cidr in held]

    def _hold(self, name: str, cidrs: list[ipaddress.IPv4Network]) -> None:
        """Count exactly `cidrs` (those inside the cluster CIDR) as the node's."""
        mine = [cidr for cidr in cidrs if self.cidrs.contains(cidr)]
        for cidr in self.held.get(name, []):
            if cidr not in mine and not self._holders(cidr, name):
                self.cidrs.release(cidr)
        for cidr in mine:
            others = self._holders(cidr, name)
            if others:
                log.warning("nodeipam.cidr_shared", node=name, cidr=str(cidr), also=others)
            self.cidrs.occupy(cidr)
        if mine:
            self.held[name] = mine
        else:
            self.held.pop(name, None)

    # ------------------------------------------------------------------ reconcile

    async def reconcile(self, key: str) -> float | None:
        node = self.nodes.get("", key)
        if node is None:
            if key in self.held:
                log.info("nodeipam.released", node=key, cidrs=[str(c) for c in self.held[key]])
            self._hold(key, [])
            return None
        carried = node_cidrs(node)
        if carried:
            self._hold(key, carried)
            return None
        return await self._allocate(node)

    async def _allocate(self, node: core_pb2.Node) -> float | None:
        name = node.metadata.name
        cidr = self.cidrs.allocate()
        if cidr is None:
            log.warning("nodeipam.exhausted", node=name, cluster_cidr=str(self.cidrs.cluster))
            await self.recorder.record(node, "Normal", "CIDRNotAvailable",
                                       f"Node {name} status is now: CIDRNotAvailable")
            raise ApiError(Reason.INTERNAL, f"no pod CIDR left in {self.cidrs.cluster} for node {name}")
        self.held[name] = [cidr]

        def assign(current: Any) -> None:
            if not current.spec.pod_cidr and not current.spec.pod_cidrs:
                current.spec.pod_cidr = str(cidr)
                current.spec.pod_cidrs.append(str(cidr))

        try:
            updated = await modify(self.client, NODE, "", name, assign)
        except ApiError as error:
            self._hold(name, [])
            if error.reason is Reason.NOT_FOUND:
                return None
            await self.recorder.record(node, "Normal", "CIDRAssignmentFailed",
                                       f"Node {name} status is now: CIDRAssignmentFailed")
            raise
        assert isinstance(updated, core_pb2.Node)
        # Someone else may have set a range meanwhile: what the node carries is what counts.
        self._hold(name, node_cidrs(updated))
        log.info("nodeipam.allocated", node=name, cidr=updated.spec.pod_cidr)
        return None
