"""Services, EndpointSlices and Nodes as manifests, and the proxy's model values, for unit tests."""

from __future__ import annotations

from typing import Any

from controlplane.api.codec import decode_object
from controlplane.api.v1 import core_pb2, discovery_pb2
from proxy.model import Endpoint, ServicePort, ServicePortName


def service(name: str = "web", namespace: str = "default", *, status: dict[str, Any] | None = None,
            **spec: Any) -> core_pb2.Service:
    spec.setdefault("clusterIP", "10.96.0.20")
    spec.setdefault("ports", [{"name": "http", "port": 80, "protocol": "TCP"}])
    document: dict[str, Any] = {"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": name, "namespace": namespace}, "spec": spec}
    if status is not None:
        document["status"] = status
    result = decode_object(document)
    assert isinstance(result, core_pb2.Service)
    return result


def endpoint_slice(name: str, service_name: str = "web", namespace: str = "default", *,
                   endpoints: list[dict[str, Any]], ports: list[dict[str, Any]] | None = None,
                   address_type: str = "IPv4",
                   annotations: dict[str, str] | None = None) -> discovery_pb2.EndpointSlice:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace,
                                "labels": {"kubernetes.io/service-name": service_name}}
    if annotations:
        metadata["annotations"] = annotations
    result = decode_object({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": metadata,
                            "addressType": address_type, "endpoints": endpoints,
                            "ports": ports if ports is not None else [{"name": "http", "port": 3000,
                                                                       "protocol": "TCP"}]})
    assert isinstance(result, discovery_pb2.EndpointSlice)
    return result


def node(name: str, ready: bool = True, ip: str = "", pod_cidr: str = "") -> core_pb2.Node:
    document: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    if ip:
        document["status"]["addresses"] = [{"type": "InternalIP", "address": ip}]
    if pod_cidr:
        document["spec"]["podCIDR"] = pod_cidr
    result = decode_object(document)
    assert isinstance(result, core_pb2.Node)
    return result


def port(name: str = "http", protocol: str = "TCP", **fields: Any) -> ServicePort:
    fields.setdefault("cluster_ip", "10.96.0.20")
    fields.setdefault("port", 80)
    return ServicePort(name=ServicePortName("default", "web", name, protocol), **fields)


def ep(ip: str, node: str = "worker1", *, ready: bool = True, serving: bool | None = None,
       terminating: bool = False, port_number: int = 3000) -> Endpoint:
    return Endpoint(ip=ip, port=port_number, node_name=node, ready=ready,
                    serving=ready if serving is None else serving, terminating=terminating)
