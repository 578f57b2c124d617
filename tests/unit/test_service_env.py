"""Service discovery by environment: which Services a pod sees, and the variables Kubernetes names."""

from __future__ import annotations

from typing import Any

import pytest

from agent.podenv import EnvSources, linked_services, pod_service_env, resolve_env, service_env
from controlplane.api import codec
from controlplane.api.v1 import core_pb2


def svc(name: str, namespace: str = "shop", cluster_ip: str = "10.96.0.20", ports: list[dict[str, Any]] | None = None,
        **spec: Any) -> core_pb2.Service:
    spec.setdefault("clusterIP", cluster_ip)
    spec["ports"] = ports if ports is not None else [{"port": 80, "protocol": "TCP"}]
    return codec.decode_object({"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": name, "namespace": namespace}, "spec": spec})


KUBERNETES = svc("kubernetes", "default", "10.96.0.1", [{"name": "https", "port": 443, "protocol": "TCP"}])


def test_the_variables_of_a_service_with_named_ports() -> None:
    service = svc("redis-primary", ports=[{"name": "redis", "port": 6379, "protocol": "TCP"},
                                          {"name": "metrics-udp", "port": 9121, "protocol": "UDP"}])
    assert service_env([service]) == [
        ("REDIS_PRIMARY_SERVICE_HOST", "10.96.0.20"),
        ("REDIS_PRIMARY_SERVICE_PORT", "6379"),
        ("REDIS_PRIMARY_SERVICE_PORT_REDIS", "6379"),
        ("REDIS_PRIMARY_SERVICE_PORT_METRICS_UDP", "9121"),
        ("REDIS_PRIMARY_PORT", "tcp://10.96.0.20:6379"),
        ("REDIS_PRIMARY_PORT_6379_TCP", "tcp://10.96.0.20:6379"),
        ("REDIS_PRIMARY_PORT_6379_TCP_PROTO", "tcp"),
        ("REDIS_PRIMARY_PORT_6379_TCP_PORT", "6379"),
        ("REDIS_PRIMARY_PORT_6379_TCP_ADDR", "10.96.0.20"),
        ("REDIS_PRIMARY_PORT_9121_UDP", "udp://10.96.0.20:9121"),
        ("REDIS_PRIMARY_PORT_9121_UDP_PROTO", "udp"),
        ("REDIS_PRIMARY_PORT_9121_UDP_PORT", "9121"),
        ("REDIS_PRIMARY_PORT_9121_UDP_ADDR", "10.96.0.20"),
    ]


def test_the_kubernetes_service_gives_the_api_servers_variables() -> None:
    env = dict(service_env([KUBERNETES]))
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443" and env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"
    assert env["KUBERNETES_PORT_443_TCP_ADDR"] == "10.96.0.1"


@pytest.mark.parametrize(("namespace", "links", "expected"), [
    ("shop", True, ["kubernetes", "web"]),
    ("shop", False, ["kubernetes"]),
    ("other", True, ["kubernetes", "web"]),
    ("default", True, ["kubernetes", "web"]),
])
def test_which_services_a_pod_sees(namespace: str, links: bool, expected: list[str]) -> None:
    services = [KUBERNETES, svc("web", namespace), svc("db", "elsewhere"), svc("headless", namespace, "None"),
                svc("ext", namespace, "", type="ExternalName", externalName="x.example.com")]
    assert [s.metadata.name for s in linked_services(namespace, links, services)] == expected


def test_a_service_named_kubernetes_in_the_pods_namespace_wins_over_the_one_in_default() -> None:
    mine = svc("kubernetes", "shop", "10.96.0.99")
    for services in ([mine, KUBERNETES], [KUBERNETES, mine]):
        assert [s.spec.cluster_ip for s in linked_services("shop", True, services)] == ["10.96.0.99"]


def _pod(env: list[dict[str, str]], links: bool | None = None) -> core_pb2.Pod:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox", "env": env}]}
    if links is not None:
        spec["enableServiceLinks"] = links
    return codec.decode_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
                                "spec": spec})


def test_the_containers_own_env_wins_and_may_refer_to_service_variables() -> None:
    pod = _pod([{"name": "WEB_SERVICE_HOST", "value": "mine"}, {"name": "URL", "value": "http://$(WEB_PORT_80_TCP_ADDR)/"}])
    sources = EnvSources({}, {}, service_env=pod_service_env(pod, [KUBERNETES, svc("web")]))
    env = dict(resolve_env(pod, pod.spec.containers[0], sources).env)
    assert env["WEB_SERVICE_HOST"] == "mine" and env["URL"] == "http://10.96.0.20/"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"


def test_enable_service_links_false_keeps_only_the_kubernetes_service() -> None:
    names = {name for name, _ in pod_service_env(_pod([], links=False), [KUBERNETES, svc("web")])}
    assert "KUBERNETES_SERVICE_HOST" in names and not any(name.startswith("WEB_") for name in names)
