"""Ingresses, IngressClasses, Endpoints and EndpointSlices (Kubernetes' networking, core and
discovery validation)."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.api import names
from controlplane.api.errors import FieldError
from controlplane.api.v1 import core_pb2, discovery_pb2, networking_pb2
from controlplane.apiserver.validation.common import (
    GoLiteral,
    check_name,
    child,
    domain_prefixed_path,
    fully_qualified_domain_name,
    immutable,
    index,
    invalid_each,
    key,
    non_special_ip,
    one_of,
    parse_ip,
    port_number,
    protocol,
    required_name,
    valid_ip,
    valid_ipv4,
    valid_ipv6,
    wildcard_dns1123_subdomain,
)

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
PARAMETER_SCOPES = ("Cluster", "Namespace")
MAX_CONTROLLER_LENGTH = 250
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 100


def _too_many(path: str, count: int, limit: int) -> FieldError:
    return FieldError("Too many", path, count, f"must have at most {limit} items")


# ---------------------------------------------------------------------------------------- Ingress


def validate_ingress(ingress: networking_pb2.Ingress) -> list[FieldError]:
    spec, path = ingress.spec, "spec"
    errors: list[FieldError] = []
    if not spec.rules and not spec.HasField("default_backend"):
        errors.append(FieldError.invalid(path, GoLiteral("[]networking.IngressRule(nil)"),
                                         "either `defaultBackend` or `rules` must be specified"))
    if spec.HasField("default_backend"):
        errors += _backend(spec.default_backend, child(path, "defaultBackend"))
    for i, rule in enumerate(spec.rules):
        errors += _rule(rule, index(child(path, "rules"), i))
    for i, tls in enumerate(spec.tls):
        at = index(child(path, "tls"), i)
        for j, host in enumerate(tls.hosts):
            problems = wildcard_dns1123_subdomain(host) if "*" in host else names.dns1123_subdomain(host)
            errors += invalid_each(index(child(at, "hosts"), j), host, problems)
        if tls.secret_name:
            errors += check_name(names.dns1123_subdomain, tls.secret_name, child(at, "secretName"))
    if spec.HasField("ingress_class_name"):
        errors += check_name(names.dns1123_subdomain, spec.ingress_class_name, child(path, "ingressClassName"))
        annotation = ingress.metadata.annotations.get(INGRESS_CLASS_ANNOTATION)
        if annotation is not None and annotation != spec.ingress_class_name:
            errors.append(FieldError.invalid(key("metadata.annotations", INGRESS_CLASS_ANNOTATION), annotation,
                                             "must match `ingressClassName` when both are specified"))
    return errors


def validate_ingress_update(new: networking_pb2.Ingress, old: networking_pb2.Ingress) -> list[FieldError]:
    return validate_ingress(new)


def _rule(rule: networking_pb2.IngressRule, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    host_path = child(path, "host")
    if rule.host:
        if parse_ip(rule.host) is not None:
            errors.append(FieldError.invalid(host_path, rule.host, "must be a DNS name, not an IP address"))
        problems = wildcard_dns1123_subdomain(rule.host) if "*" in rule.host else names.dns1123_subdomain(rule.host)
        errors += invalid_each(host_path, rule.host, problems)
    if rule.HasField("http"):
        http_path = child(path, "http")
        if not rule.http.paths:
            errors.append(FieldError.required(child(http_path, "paths")))
        for i, ingress_path in enumerate(rule.http.paths):
            errors += _http_path(ingress_path, index(child(http_path, "paths"), i))
    return errors


def _http_path(ingress_path: networking_pb2.HTTPIngressPath, path: str) -> list[FieldError]:
    if not ingress_path.path_type:
        return [FieldError.required(child(path, "pathType"), "pathType must be specified")]
    errors: list[FieldError] = []
    at = child(path, "path")
    value = ingress_path.path
    if ingress_path.path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errors.append(FieldError.invalid(at, value, "must be an absolute path"))
        if value:
            for sequence in INVALID_PATH_SEQUENCES:
                if sequence in value:
                    errors.append(FieldError.invalid(at, value, f"must not contain '{sequence}'"))
            for suffix in INVALID_PATH_SUFFIXES:
                if value.endswith(suffix):
                    errors.append(FieldError.invalid(at, value, f"cannot end with '{suffix}'"))
    elif ingress_path.path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errors.append(FieldError.invalid(at, value, "must be an absolute path"))
    else:
        errors.append(FieldError.unsupported(child(path, "pathType"), ingress_path.path_type, PATH_TYPES))
    errors += _backend(ingress_path.backend, child(path, "backend"))
    return errors


def _backend(backend: networking_pb2.IngressBackend, path: str) -> list[FieldError]:
    has_service, has_resource = backend.HasField("service"), backend.HasField("resource")
    if has_service and has_resource:
        return [FieldError.invalid(path, "", "cannot set both resource and service backends")]
    if has_resource:
        resource_path = child(path, "resource")
        resource = backend.resource
        errors: list[FieldError] = []
        if resource.api_group:
            errors += check_name(names.dns1123_subdomain, resource.api_group, child(resource_path, "apiGroup"))
        if not resource.kind:
            errors.append(FieldError.required(child(resource_path, "kind")))
        if not resource.name:
            errors.append(FieldError.required(child(resource_path, "name")))
        return errors
    if not has_service:
        return [FieldError.invalid(path, "", "resource or service backend is required")]
    service = backend.service
    service_path = child(path, "service")
    errors = required_name(names.dns1035_label, service.name, child(service_path, "name"))
    port_path = child(service_path, "port")
    if service.port.name and service.port.number:
        errors.append(FieldError.invalid(path, "", "cannot set both port name & port number"))
    elif service.port.name:
        errors += invalid_each(child(port_path, "name"), service.port.name, names.port_name(service.port.name))
    elif service.port.number:
        errors += port_number(service.port.number, child(port_path, "number"))
    else:
        errors.append(FieldError.required(path, "port name or number is required"))
    return errors


# ---------------------------------------------------------------------------------------- IngressClass


def validate_ingress_class(ingress_class: networking_pb2.IngressClass) -> list[FieldError]:
    spec, path = ingress_class.spec, "spec"
    controller_path = child(path, "controller")
    errors: list[FieldError] = []
    if not spec.controller:
        errors.append(FieldError.required(controller_path))
    else:
        if len(spec.controller.encode()) > MAX_CONTROLLER_LENGTH:
            errors.append(FieldError.too_long(controller_path, MAX_CONTROLLER_LENGTH))
        errors += domain_prefixed_path(spec.controller, controller_path)
    if spec.HasField("parameters"):
        parameters = spec.parameters
        at = child(path, "parameters")
        if parameters.api_group:
            errors += check_name(names.dns1123_subdomain, parameters.api_group, child(at, "apiGroup"))
        if not parameters.kind:
            errors.append(FieldError.required(child(at, "kind")))
        if not parameters.name:
            errors.append(FieldError.required(child(at, "name")))
        errors += one_of(parameters.scope, PARAMETER_SCOPES, child(at, "scope"))
        if parameters.scope == "Namespace":
            errors += required_name(names.dns1123_label, parameters.namespace, child(at, "namespace"))
        elif parameters.scope == "Cluster" and parameters.namespace:
            errors.append(FieldError.forbidden(child(at, "namespace"), "`parameters.scope` is set to 'Cluster'"))
    return errors


def validate_ingress_class_update(new: networking_pb2.IngressClass,
                                  old: networking_pb2.IngressClass) -> list[FieldError]:
    return immutable(new.spec.controller, old.spec.controller, "spec.controller") + validate_ingress_class(new)


# ---------------------------------------------------------------------------------------- Endpoints


def validate_endpoints(endpoints: core_pb2.Endpoints) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, subset in enumerate(endpoints.subsets):
        at = index("subsets", i)
        if not subset.addresses and not subset.not_ready_addresses:
            errors.append(FieldError.required(at, "must specify `addresses` or `notReadyAddresses`"))
        for field, json_name in (("addresses", "addresses"), ("not_ready_addresses", "notReadyAddresses")):
            for j, address in enumerate(getattr(subset, field)):
                errors += _endpoint_address(address, index(child(at, json_name), j))
        for j, port in enumerate(subset.ports):
            errors += _endpoint_port(port, len(subset.ports) > 1, index(child(at, "ports"), j))
    return errors


def validate_endpoints_update(new: core_pb2.Endpoints, old: core_pb2.Endpoints) -> list[FieldError]:
    return validate_endpoints(new)


def _endpoint_address(address: core_pb2.EndpointAddress, path: str) -> list[FieldError]:
    ip_path = child(path, "ip")
    errors = valid_ip(address.ip, ip_path)
    if address.hostname:
        errors += check_name(names.dns1123_label, address.hostname, child(path, "hostname"))
    if address.HasField("node_name"):
        errors += check_name(names.dns1123_subdomain, address.node_name, child(path, "nodeName"))
    errors += non_special_ip(address.ip, ip_path)
    return errors


def _endpoint_port(port: core_pb2.EndpointPort, name_required: bool, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if name_required and not port.name:
        errors.append(FieldError.required(child(path, "name")))
    elif port.name:
        errors += check_name(names.dns1123_label, port.name, child(path, "name"))
    errors += port_number(port.port, child(path, "port"))
    errors += protocol(port.protocol, child(path, "protocol"))
    if port.HasField("app_protocol"):
        errors += check_name(names.qualified_name, port.app_protocol, child(path, "appProtocol"))
    return errors


# ---------------------------------------------------------------------------------------- EndpointSlice


def validate_endpoint_slice(endpoint_slice: discovery_pb2.EndpointSlice) -> list[FieldError]:
    address_type = endpoint_slice.address_type
    errors = one_of(address_type, ADDRESS_TYPES, "addressType")
    errors += _slice_endpoints(endpoint_slice.endpoints, address_type, "endpoints")
    errors += _slice_ports(endpoint_slice.ports, "ports")
    return errors


def validate_endpoint_slice_update(new: discovery_pb2.EndpointSlice,
                                   old: discovery_pb2.EndpointSlice) -> list[FieldError]:
    return validate_endpoint_slice(new) + immutable(new.address_type, old.address_type, "addressType")


def _slice_endpoints(endpoints: Iterable[discovery_pb2.Endpoint], address_type: str, path: str) -> list[FieldError]:
    listed = list(endpoints)
    if len(listed) > MAX_ENDPOINTS:
        return [_too_many(path, len(listed), MAX_ENDPOINTS)]
    errors: list[FieldError] = []
    for i, endpoint in enumerate(listed):
        at = index(path, i)
        addresses_path = child(at, "addresses")
        if not endpoint.addresses:
            errors.append(FieldError.required(addresses_path, "must contain at least 1 address"))
        elif len(endpoint.addresses) > MAX_ADDRESSES:
            errors.append(_too_many(addresses_path, len(endpoint.addresses), MAX_ADDRESSES))
        for j, address in enumerate(endpoint.addresses):
            address_path = index(addresses_path, j)
            if address_type == "IPv4":
                errors += valid_ipv4(address, address_path) + non_special_ip(address, address_path)
            elif address_type == "IPv6":
                errors += valid_ipv6(address, address_path) + non_special_ip(address, address_path)
            elif address_type == "FQDN":
                errors += fully_qualified_domain_name(address, address_path)
        if endpoint.HasField("hostname"):
            errors += check_name(names.dns1123_label, endpoint.hostname, child(at, "hostname"))
    return errors


def _slice_ports(ports: Iterable[discovery_pb2.EndpointSlicePort], path: str) -> list[FieldError]:
    listed = list(ports)
    if len(listed) > MAX_PORTS:
        return [_too_many(path, len(listed), MAX_PORTS)]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, port in enumerate(listed):
        at = index(path, i)
        if port.name:
            errors += check_name(names.dns1123_label, port.name, child(at, "name"))
        if port.name in seen:
            errors.append(FieldError.duplicate(child(at, "name"), port.name))
        seen.add(port.name)
        if not port.HasField("protocol"):
            errors.append(FieldError.required(child(at, "protocol")))
        elif port.protocol not in ("SCTP", "TCP", "UDP"):
            errors.append(FieldError.unsupported(child(at, "protocol"), port.protocol, ("SCTP", "TCP", "UDP")))
        if port.HasField("port"):
            errors += port_number(port.port, child(at, "port"))
        if port.HasField("app_protocol"):
            errors += check_name(names.qualified_name, port.app_protocol, child(at, "appProtocol"))
    return errors
