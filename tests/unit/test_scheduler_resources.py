"""A pod's effective requests as Kubernetes computes them, and a node's allocatable."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec
from controlplane.api.v1 import core_pb2
from controlplane.scheduler.resources import Allocatable, Resources, pod_requests
from tests.support.scheduling import node

Mi = 1024 * 1024


def _spec(containers: list[dict[str, Any]], init: list[dict[str, Any]] | None = None) -> core_pb2.PodSpec:
    def container(i: int, c: dict[str, Any], prefix: str) -> dict[str, Any]:
        made: dict[str, Any] = {"name": f"{prefix}{i}", "image": "busybox"}
        requests = {k: v for k, v in c.items() if k in ("cpu", "memory", "ephemeral-storage", "example.com/gpu")}
        if requests:
            made["resources"] = {"requests": requests}
        if c.get("sidecar"):
            made["restartPolicy"] = "Always"
        return made

    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [container(i, c, "c") for i, c in enumerate(containers)],
                         "initContainers": [container(i, c, "i") for i, c in enumerate(init or [])]}}
    pod = codec.decode_object(manifest)
    assert isinstance(pod, core_pb2.Pod)
    return pod.spec


@pytest.mark.parametrize(("containers", "init", "expected"), [
    ([{}], [], Resources()),
    ([{"cpu": "250m", "memory": "64Mi"}, {"cpu": "1", "memory": "1Gi"}], [], Resources(1250, 1088 * Mi)),
    # An ordinary init container runs alone: the pod needs the larger of it and the containers' sum.
    ([{"cpu": "100m", "memory": "64Mi"}], [{"cpu": "500m", "memory": "32Mi"}], Resources(500, 64 * Mi)),
    ([{"cpu": "100m"}], [{"cpu": "300m"}, {"cpu": "200m"}], Resources(300)),
    # A sidecar keeps running: it adds to the containers and to every later init container.
    ([{"cpu": "100m"}], [{"cpu": "50m", "sidecar": True}, {"cpu": "400m"}], Resources(450)),
    ([{"cpu": "500m"}], [{"cpu": "50m", "sidecar": True}, {"cpu": "100m"}], Resources(550)),
    ([{"ephemeral-storage": "1Gi", "example.com/gpu": "1"}], [],
     Resources(0, 0, 1024 * Mi, {"example.com/gpu": 1})),
    ([{"cpu": "0.0001"}], [], Resources(1)),  # rounded up to a millicore
])
def test_effective_requests_take_init_containers_and_sidecars_into_account(
        containers: list[dict[str, Any]], init: list[dict[str, Any]], expected: Resources) -> None:
    assert pod_requests(_spec(containers, init)) == expected


@pytest.mark.parametrize(("containers", "expected"), [
    ([{}], Resources(100, 200 * Mi)),  # a best-effort container counts as 100m and 200Mi for scoring
    ([{"cpu": "1"}, {}], Resources(1100, 400 * Mi)),
    ([{"cpu": "0", "memory": "0"}], Resources(0, 0)),  # said zero is zero
    ([{"memory": "1Gi"}], Resources(100, 1024 * Mi)),
])
def test_non_zero_requests_default_what_a_container_does_not_say(containers: list[dict[str, Any]],
                                                                 expected: Resources) -> None:
    assert pod_requests(_spec(containers), non_zero=True) == expected


def test_allocatable_reads_cpu_in_millicores_memory_in_bytes_and_pods() -> None:
    offered = Allocatable.of(node("n", cpu="3500m", memory="2Gi", pods="30", extra={"example.com/gpu": "2"}))
    assert offered == Allocatable(Resources(3500, 2048 * Mi, 0, {"example.com/gpu": 2}), 30)
