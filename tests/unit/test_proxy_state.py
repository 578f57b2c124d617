"""Routes recomputed one service at a time: only what changed comes out."""

from __future__ import annotations

from controlplane.api.timestamps import epoch
from proxy.model import ServicePortName
from proxy.state import Changes, ProxyState
from tests.support.services import endpoint_slice, service

HTTP = ServicePortName("default", "web", "http", "TCP")
DNS = ServicePortName("default", "web", "dns", "UDP")
ONE = [endpoint_slice("web-a", endpoints=[{"addresses": ["10.244.1.2"], "nodeName": "worker1"}])]
TWO = [endpoint_slice("web-a", endpoints=[{"addresses": ["10.244.1.2"], "nodeName": "worker1"},
                                          {"addresses": ["10.244.2.2"], "nodeName": "worker2"}])]


def test_a_new_service_reports_every_port_and_an_unchanged_one_nothing() -> None:
    state = ProxyState("worker1")
    changes = state.update("default/web", service(), ONE)
    assert list(changes) == [HTTP] and [str(e) for e in changes[HTTP].cluster] == ["10.244.1.2:3000"]
    assert state.update("default/web", service(), ONE) == {}


def test_an_endpoint_change_reports_only_that_port_of_that_service() -> None:
    state = ProxyState("worker1")
    state.update("default/web", service(), ONE)
    state.update("default/db", service("db", clusterIP="10.96.0.30"), [])
    changes = state.update("default/web", service(), TWO)
    assert list(changes) == [HTTP] and len(changes[HTTP].cluster) == 2
    assert set(state.routes) == {HTTP, ServicePortName("default", "db", "http", "TCP")}


def test_removing_a_port_or_the_service_reports_its_ports_as_gone() -> None:
    state = ProxyState("worker1")
    both = service(ports=[{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}])
    state.update("default/web", both, ONE)
    assert state.update("default/web", service(), ONE) == {DNS: None}
    assert state.update("default/web", None, ONE) == {HTTP: None}
    assert state.routes == {} and state.of_service("default/web") == []


def test_a_trigger_time_is_counted_once_per_change_of_a_slice() -> None:
    changes = Changes()
    at = {"endpoints.kubernetes.io/last-change-trigger-time": "2024-05-01T12:00:00.250000Z"}
    changes.slice_changed("default/web-a", "default/web", at)
    changes.slice_changed("default/web-a", "default/web", at)  # a relist shows it again
    changes.slice_changed("default/web-a", "default/web", {})
    dirty, triggers = changes.take()
    assert dirty == {"default/web"} and triggers == [epoch(at[next(iter(at))])]
    assert not changes and changes.take() == (set(), [])

