"""Shared by the ReplicaSet and Deployment integration tests: a real API server and a real controller
manager running the workload controllers, manifests, and looking at what they made."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.client import ApiClient
from controlplane.controllers.ownership import controller_of
from tests.support.daemon import ApiServerProcess, DaemonProcess, hollow_nodes, scheduler
from tests.support.nodeplay import report

POD = kinds.by_kind("Pod")
REPLICA_SET = kinds.by_kind("ReplicaSet")
DEPLOYMENT = kinds.by_kind("Deployment")
EVENT = kinds.by_kind("Event")


@pytest.fixture
def controller_manager_args() -> list[str]:
    return ["--controllers", "replicaset,deployment"]


@pytest.fixture
async def cluster(api: ApiClient, controller_manager: DaemonProcess) -> AsyncIterator[ApiClient]:
    yield api


# The scheduler's back-off scaled down (kube-scheduler: 1 s, 10 s).
SCHEDULER_FLAGS = ("--pod-initial-backoff", "0.2", "--pod-max-backoff", "1")


@pytest.fixture
def hollow(apiserver: ApiServerProcess, tmp_path: Path) -> Iterator[list[DaemonProcess]]:
    """The real scheduler and two hollow nodes (simulated kubelets: a bound pod is Running and Ready
    at once, a deleted one gone at once), for stories that need pods to run but not to be held."""
    started = [hollow_nodes(apiserver.address, tmp_path, 2).start(),
               scheduler(apiserver.address, tmp_path, *SCHEDULER_FLAGS).start()]
    try:
        yield started
    finally:
        for process in reversed(started):
            process.kill()


def template(image: str = "kubelab/demo:1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 3000}]}]}}


def replica_set(name: str = "web", replicas: int = 3, labels: dict[str, str] | None = None,
                **spec: Any) -> apps_pb2.ReplicaSet:
    labels = labels or {"app": "web"}
    document = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": template(labels=labels), **spec}}
    obj = codec.decode_object(document)
    assert isinstance(obj, apps_pb2.ReplicaSet)
    return obj


def deployment(name: str = "web", replicas: int = 3, image: str = "kubelab/demo:1", **spec: Any,
               ) -> apps_pb2.Deployment:
    document = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                         "template": template(image, {"app": name}), **spec}}
    obj = codec.decode_object(document)
    assert isinstance(obj, apps_pb2.Deployment)
    return obj


def pod(name: str, labels: dict[str, str]) -> core_pb2.Pod:
    obj = codec.decode_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                               "spec": template()["spec"]})
    assert isinstance(obj, core_pb2.Pod)
    return obj


async def pods_of(api: ApiClient, owner_uid: str | None = None, selector: str = "",
                  active_only: bool = True) -> list[core_pb2.Pod]:
    items, _ = await api.list(POD, "default", label_selector=selector)
    found = [p for p in items if isinstance(p, core_pb2.Pod)]
    if owner_uid is not None:
        found = [p for p in found if (ref := controller_of(p.metadata)) is not None and ref.uid == owner_uid]
    if active_only:
        found = [p for p in found if not p.metadata.deletion_timestamp]
    return sorted(found, key=lambda p: p.metadata.name)


async def replica_sets_of(api: ApiClient, deployment_uid: str) -> list[apps_pb2.ReplicaSet]:
    items, _ = await api.list(REPLICA_SET, "default")
    return sorted((rs for rs in items if isinstance(rs, apps_pb2.ReplicaSet)
                   and (ref := controller_of(rs.metadata)) is not None and ref.uid == deployment_uid),
                  key=lambda rs: rs.metadata.creation_timestamp + rs.metadata.name)


async def events_about(api: ApiClient, name: str) -> list[tuple[str, str]]:
    items, _ = await api.list(EVENT, "default", field_selector=f"involvedObject.name={name}")
    return [(e.reason, e.message) for e in items if isinstance(e, core_pb2.Event)]


async def make_ready(api: ApiClient, pods: list[core_pb2.Pod], *, node: str = "node-a",
                     ready: bool = True) -> None:
    for item in pods:
        await report(api, item, ready=ready, node=node)
