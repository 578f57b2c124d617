"""The load balancer controller in a real `kubelab controller-manager` against a real API server:
addresses from the pool in `status.loadBalancer.ingress`, freed when a service goes or stops being a
LoadBalancer, and Kubernetes' events when the pool runs out."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.api.v1 import core_pb2
from controlplane.client import ApiClient
from tests.support.daemon import ApiServerProcess, DaemonProcess
from tests.support.wait import eventually

SERVICE, EVENT = kinds.by_kind("Service"), kinds.by_kind("Event")


@pytest.fixture
def controller_manager_args() -> list[str]:
    return ["--controllers", "loadbalancer", "--lb-pool", "10.240.0.200-10.240.0.201"]


@pytest.fixture
async def client(api: ApiClient, controller_manager: DaemonProcess) -> AsyncIterator[ApiClient]:
    yield api


def lb(name: str, kind: str = "LoadBalancer") -> Any:
    return codec.decode_object({"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": name, "namespace": "default"},
                                "spec": {"type": kind, "ports": [{"port": 80}]}})


async def ingress(client: ApiClient, name: str) -> list[str]:
    service = await client.get(SERVICE, "default", name)
    assert isinstance(service, core_pb2.Service)
    return [entry.ip for entry in service.status.load_balancer.ingress]


async def wait_ingress(client: ApiClient, name: str, expected: list[str]) -> None:
    async def check() -> bool:
        assert await ingress(client, name) == expected
        return True

    await eventually(check, timeout=20, what=f"{name} to have ingress {expected}")


async def test_services_get_the_lowest_free_address_and_give_it_back(client: ApiClient) -> None:
    await client.create(lb("one"))
    await wait_ingress(client, "one", ["10.240.0.200"])
    await client.create(lb("two"))
    await wait_ingress(client, "two", ["10.240.0.201"])
    await client.delete(SERVICE, "default", "one")
    await client.create(lb("three"))
    await wait_ingress(client, "three", ["10.240.0.200"])
    current = await client.get(SERVICE, "default", "two")
    assert isinstance(current, core_pb2.Service)
    current.spec.type = "ClusterIP"
    await client.update(current)
    await wait_ingress(client, "two", [])
    await client.create(lb("four"))
    await wait_ingress(client, "four", ["10.240.0.201"])


async def test_an_exhausted_pool_is_reported_as_kubernetes_words_it(client: ApiClient) -> None:
    for name in ("a", "b", "c"):
        await client.create(lb(name))
    await wait_ingress(client, "b", ["10.240.0.201"])

    async def failed_event() -> str:
        items, _ = await client.list(EVENT, "default")
        for event in items:
            assert isinstance(event, core_pb2.Event)
            if event.involved_object.name == "c" and event.reason == "SyncLoadBalancerFailed":
                return f"{event.type} {event.message} ({event.source.component})"
        return ""

    message = await eventually(failed_event, timeout=20, what="an event about the exhausted pool")
    assert message == ("Warning Error syncing load balancer: failed to ensure load balancer: no address left in "
                       "the pool 10.240.0.200-10.240.0.201 (service-controller)")
    assert await ingress(client, "c") == []
    await client.delete(SERVICE, "default", "a")
    await wait_ingress(client, "c", ["10.240.0.200"])


async def test_a_bad_pool_stops_the_controller_manager_with_one_line(apiserver: ApiServerProcess) -> None:
    result = subprocess.run([sys.executable, "-m", "controlplane.cli", "controller-manager", "--server",
                             apiserver.address, "--lb-pool", "10.0.0.9-10.0.0.1"], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == ("kubelab controller-manager: --lb-pool '10.0.0.9-10.0.0.1': the range ends "
                                     "before it starts")
