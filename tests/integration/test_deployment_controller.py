"""The Deployment controller (with the ReplicaSet controller) in a real controller manager against a
real API server. The test plays the node, binding pods and reporting them ready through the API, so
it can check every step of a rollout against maxSurge and maxUnavailable."""

from __future__ import annotations

import re
from collections.abc import Callable

from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.client import ApiClient
from controlplane.client.api import modify
from tests.integration import workloads
from tests.integration.workloads import (
    DEPLOYMENT,
    deployment,
    events_about,
    make_ready,
    pods_of,
    replica_sets_of,
)
from tests.support.wait import eventually

cluster = workloads.cluster  # fixtures
controller_manager_args = workloads.controller_manager_args

HASH = "[bcdfghjklmnpqrstvwxz2456789]+"


async def get_deployment(api: ApiClient, name: str = "web") -> apps_pb2.Deployment:
    found = await api.get(DEPLOYMENT, "default", name)
    assert isinstance(found, apps_pb2.Deployment)
    return found


async def change(api: ApiClient, edit: Callable[[apps_pb2.Deployment], None], name: str = "web") -> None:
    """Edit the Deployment as a user would, reading again when a controller wrote in between."""
    await modify(api, DEPLOYMENT, "default", name, edit)


def set_image(image: str) -> Callable[[apps_pb2.Deployment], None]:
    def edit(d: apps_pb2.Deployment) -> None:
        d.spec.template.spec.containers[0].image = image

    return edit


async def wait_pods(api: ApiClient, count: int, what: str, **filters: str) -> list[core_pb2.Pod]:
    async def check() -> list[core_pb2.Pod]:
        found = await pods_of(api, selector=filters.get("selector", "app=web"))
        assert len(found) == count, [(p.metadata.name, p.spec.containers[0].image) for p in found]
        return found

    return await eventually(check, timeout=30, what=what)


def by_image(pods: list[core_pb2.Pod], image: str) -> list[core_pb2.Pod]:
    return [p for p in pods if p.spec.containers[0].image == image]


async def test_a_deployment_makes_a_replica_set_named_with_the_template_hash(cluster: ApiClient) -> None:
    created = await cluster.create(deployment(replicas=3))
    pods = await wait_pods(cluster, 3, "3 pods")
    sets = await replica_sets_of(cluster, created.metadata.uid)  # type: ignore[attr-defined]
    assert len(sets) == 1
    rs = sets[0]
    digest = rs.metadata.labels["pod-template-hash"]
    assert re.fullmatch(HASH, digest) and rs.metadata.name == f"web-{digest}"
    assert rs.spec.selector.match_labels["pod-template-hash"] == digest
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert rs.metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "3"
    assert rs.metadata.annotations["deployment.kubernetes.io/max-replicas"] == "4"  # 3 + 25% rounded up
    for item in pods:
        assert item.metadata.labels["pod-template-hash"] == digest
        assert re.fullmatch(f"web-{digest}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", item.metadata.name)

    async def scaled_up() -> bool:
        assert ("ScalingReplicaSet", f"Scaled up replica set web-{digest} from 0 to 3") in \
            await events_about(cluster, "web")
        return True

    await eventually(scaled_up, timeout=20, what="the ScalingReplicaSet Event")
    await make_ready(cluster, pods)

    async def available() -> apps_pb2.Deployment:
        d = await get_deployment(cluster)
        s = d.status
        assert (s.replicas, s.updated_replicas, s.ready_replicas, s.available_replicas, s.unavailable_replicas,
                s.observed_generation) == (3, 3, 3, 3, 0, 1), s
        reasons = {c.type: (c.status, c.reason) for c in s.conditions}
        assert reasons == {"Available": ("True", "MinimumReplicasAvailable"),
                           "Progressing": ("True", "NewReplicaSetAvailable")}, reasons
        return d

    d = await eventually(available, timeout=30, what="the deployment complete")
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "1"


async def rs_sizes(api: ApiClient, d: apps_pb2.Deployment, image: str) -> tuple[int, int]:
    """(old ReplicaSets' replicas summed, the replicas of the one running `image`)."""
    old = new = 0
    for rs in await replica_sets_of(api, d.metadata.uid):
        if rs.spec.template.spec.containers[0].image == image:
            new += rs.spec.replicas
        else:
            old += rs.spec.replicas
    return old, new


class Budget:
    """Checks, every time it looks, that a rollout keeps within maxSurge and maxUnavailable."""

    def __init__(self, desired: int, surge: int, unavailable: int) -> None:
        self.most, self.least = desired + surge, desired - unavailable
        self.seen_most = 0

    async def check(self, api: ApiClient) -> list[core_pb2.Pod]:
        live = await pods_of(api, selector="app=web")
        ready = [p for p in live if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)]
        assert len(live) <= self.most, f"{len(live)} pods, more than {self.most}"
        assert len(ready) >= self.least, f"{len(ready)} ready pods, fewer than {self.least}"
        self.seen_most = max(self.seen_most, len(live))
        return live


async def test_a_rolling_update_moves_one_pod_at_a_time_within_max_surge_and_max_unavailable(
        cluster: ApiClient) -> None:
    # 6 replicas, maxSurge 10% (0.6, rounded up: 1 pod), maxUnavailable 20% (1.2, rounded down: 1 pod).
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%", "maxUnavailable": "20%"}}
    created = await cluster.create(deployment(replicas=6, strategy=strategy))
    await make_ready(cluster, await wait_pods(cluster, 6, "6 pods"))
    budget = Budget(6, surge=1, unavailable=1)
    await change(cluster, set_image("kubelab/demo:2"))
    d = await get_deployment(cluster)
    assert d.metadata.uid == created.metadata.uid  # type: ignore[attr-defined]
    # (old replicas, new replicas) once k new pods are ready, as Kubernetes' rolling.go steps.
    expected = [(5, 2), (4, 3), (3, 4), (2, 5), (1, 6), (0, 6), (0, 6)]
    for ready_new, sizes in enumerate(expected):
        async def at_step(sizes: tuple[int, int] = sizes) -> list[core_pb2.Pod]:
            live = await budget.check(cluster)
            assert await rs_sizes(cluster, d, "kubelab/demo:2") == sizes
            return live

        live = await eventually(at_step, timeout=30, what=f"sizes {sizes} with {ready_new} new pods ready")
        waiting = [p for p in by_image(live, "kubelab/demo:2")
                   if not any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)]
        await make_ready(cluster, [p for p in by_image(live, "kubelab/demo:2") if not p.spec.node_name],
                         ready=False)
        if waiting:
            await make_ready(cluster, waiting[:1])
            await budget.check(cluster)
    assert budget.seen_most == 7

    async def complete() -> bool:
        s = (await get_deployment(cluster)).status
        assert (s.replicas, s.updated_replicas, s.available_replicas) == (6, 6, 6), s
        assert any(c.type == "Progressing" and c.reason == "NewReplicaSetAvailable" for c in s.conditions)
        return True

    await eventually(complete, timeout=30, what="the rollout complete")
    sets = await replica_sets_of(cluster, d.metadata.uid)
    old, new = sets
    assert new.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    scaling = [m for r, m in await events_about(cluster, "web") if r == "ScalingReplicaSet"]
    old_name, new_name = old.metadata.name, new.metadata.name
    assert scaling == [
        f"Scaled up replica set {old_name} from 0 to 6",
        f"Scaled up replica set {new_name} from 0 to 1",
        f"Scaled down replica set {old_name} from 6 to 5",
        f"Scaled up replica set {new_name} from 1 to 2",
        f"Scaled down replica set {old_name} from 5 to 4",
        f"Scaled up replica set {new_name} from 2 to 3",
        f"Scaled down replica set {old_name} from 4 to 3",
        f"Scaled up replica set {new_name} from 3 to 4",
        f"Scaled down replica set {old_name} from 3 to 2",
        f"Scaled up replica set {new_name} from 4 to 5",
        f"Scaled down replica set {old_name} from 2 to 1",
        f"Scaled up replica set {new_name} from 5 to 6",
        f"Scaled down replica set {old_name} from 1 to 0",
    ]
