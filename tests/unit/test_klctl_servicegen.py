"""The Services `klctl expose` and `klctl create service` make, as kubectl makes them."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.klctl.servicegen import (
    CreateServiceOptions,
    ExposeOptions,
    GenerateError,
    create_service,
    expose,
)

DEPLOYMENT = codec.decode_object({
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"team": "a"}},
    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "kubelab/demo:1",
                                 "ports": [{"name": "http", "containerPort": 3000}]}]}}}})
POD = codec.decode_object({
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dns-pod", "labels": {"run": "dns"}},
    "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [
        {"containerPort": 53, "protocol": "UDP"}, {"containerPort": 8080}]}]}})


def spec_of(kind: str, obj: Any, **options: Any) -> dict[str, Any]:
    service = expose(kinds.by_kind(kind), obj, ExposeOptions(**options), "shop")
    encoded = codec.encode(service)
    assert encoded["metadata"]["namespace"] == "shop"
    return encoded


def test_expose_a_deployment_takes_its_selector_labels_and_container_port() -> None:
    made = spec_of("Deployment", DEPLOYMENT)
    assert made["metadata"] == {"name": "web", "namespace": "shop", "labels": {"team": "a"}}
    assert made["spec"] == {"selector": {"app": "web"}, "ports": [{"protocol": "TCP", "port": 3000,
                                                                  "targetPort": 3000}]}


def test_expose_with_port_target_port_type_and_name() -> None:
    made = spec_of("Deployment", DEPLOYMENT, port="80", target_port="8080", type="NodePort", name="web-np")
    assert made["metadata"]["name"] == "web-np"
    assert made["spec"] == {"selector": {"app": "web"}, "type": "NodePort",
                            "ports": [{"protocol": "TCP", "port": 80, "targetPort": 8080}]}
    assert spec_of("Deployment", DEPLOYMENT, port="80", target_port="http")["spec"]["ports"][0]["targetPort"] == "http"


def test_expose_a_pod_with_several_ports_names_them_and_keeps_their_protocols() -> None:
    made = spec_of("Pod", POD)
    assert made["spec"]["selector"] == {"run": "dns"}
    assert made["spec"]["ports"] == [{"name": "port-1", "protocol": "UDP", "port": 53, "targetPort": 53},
                                     {"name": "port-2", "protocol": "TCP", "port": 8080, "targetPort": 8080}]
    assert spec_of("Pod", POD, port="53", protocol="UDP")["spec"]["ports"] == [
        {"protocol": "UDP", "port": 53, "targetPort": 53}]


def test_expose_a_service_reuses_its_selector_and_ports() -> None:
    service = codec.decode_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]}})
    made = spec_of("Service", service, name="web-2", type="LoadBalancer")
    assert made["spec"] == {"selector": {"app": "web"}, "type": "LoadBalancer",
                            "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}]}


@pytest.mark.parametrize(("kind", "document", "options", "message"), [
    ("ConfigMap", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, {},
     "cannot expose a ConfigMap"),
    ("Pod", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, {"port": "80"},
     "couldn't retrieve selectors via --selector flag or introspection: the pod has no labels and cannot be exposed"),
    ("Service", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                 "spec": {"ports": [{"port": 80}]}}, {},
     "couldn't retrieve selectors via --selector flag or introspection: the service has no pod selector set"),
    ("Deployment", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                    "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a"]}]},
                             "template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}, {},
     'couldn\'t convert expressions - "[{Key:app Operator:In Values:[a]}]" to map-based selector format'),
    ("Pod", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, {},
     "couldn't find port via --port flag or introspection"),
    ("Pod", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, {"port": "80", "session_affinity": "Sticky"},
     "unknown session affinity: Sticky"),
])
def test_expose_refusals(kind: str, document: dict[str, Any], options: dict[str, Any], message: str) -> None:
    with pytest.raises(GenerateError) as refused:
        expose(kinds.by_kind(kind), codec.decode_object(document), ExposeOptions(**options), "shop")
    assert message in str(refused.value)


@pytest.mark.parametrize(("options", "spec"), [
    ({"type": "ClusterIP", "tcp": ["80:8080"]},
     {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}], "selector": {"app": "web"},
      "type": "ClusterIP"}),
    ({"type": "ClusterIP", "tcp": ["80,443:https"]},
     {"ports": [{"name": "80", "protocol": "TCP", "port": 80, "targetPort": 80},
                {"name": "443-https", "protocol": "TCP", "port": 443, "targetPort": "https"}],
      "selector": {"app": "web"}, "type": "ClusterIP"}),
    ({"type": "ClusterIP", "cluster_ip": "None"},
     {"selector": {"app": "web"}, "clusterIP": "None", "type": "ClusterIP"}),
    ({"type": "NodePort", "tcp": ["80:3000"], "node_port": 30080},
     {"ports": [{"name": "80-3000", "protocol": "TCP", "port": 80, "targetPort": 3000, "nodePort": 30080}],
      "selector": {"app": "web"}, "type": "NodePort"}),
    ({"type": "ExternalName", "external_name": "db.example.com"},
     {"selector": {"app": "web"}, "type": "ExternalName", "externalName": "db.example.com"}),
])
def test_create_service(options: dict[str, Any], spec: dict[str, Any]) -> None:
    made = codec.encode(create_service(CreateServiceOptions(name="web", **options), "shop"))
    assert made["metadata"] == {"name": "web", "namespace": "shop", "labels": {"app": "web"}}
    assert made["spec"] == spec


@pytest.mark.parametrize(("options", "message"), [
    ({"type": "ClusterIP"}, "at least one tcp port specifier must be provided"),
    ({"type": "NodePort", "cluster_ip": "None", "tcp": ["80"]},
     "ClusterIP=None can only be used with ClusterIP service type"),
    ({"type": "ExternalName", "external_name": "Not_A_Name"}, "invalid service external name Not_A_Name"),
    ({"type": "ClusterIP", "tcp": ["abc"]}, 'strconv.ParseUint: parsing "abc": invalid syntax'),
    ({"type": "ClusterIP", "tcp": ["80:99999"]}, "must be between 1 and 65535, inclusive"),
    ({"type": "ClusterIP", "tcp": ["80:Web_Port"]}, "must contain only alpha-numeric characters"),
])
def test_create_service_refusals(options: dict[str, Any], message: str) -> None:
    with pytest.raises(GenerateError) as refused:
        create_service(CreateServiceOptions(name="web", **options), "shop")
    assert message in str(refused.value)
