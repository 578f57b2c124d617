"""Services (Kubernetes' ValidateService and ValidateServiceUpdate).

Whether a nodePort is in range and free, and which cluster IP a Service gets, is the allocator's
business (service_alloc.py): this module checks the shape of what the user wrote.
"""

from __future__ import annotations

from collections.abc import Sequence

from controlplane.api import names
from controlplane.api.errors import FieldError
from controlplane.api.v1 import core_pb2
from controlplane.apiserver.defaults import externally_accessible
from controlplane.apiserver.validation.common import (
    GoLiteral,
    check_name,
    child,
    index,
    non_special_ip,
    one_of,
    parse_ip,
    port_num_or_name,
    port_number,
    protocol,
    valid_cidr,
    valid_ip,
    validate_labels,
)

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
SESSION_AFFINITIES = ("ClientIP", "None")
EXTERNAL_TRAFFIC_POLICIES = ("Cluster", "Local")
INTERNAL_TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
MAX_CLIENT_IP_AFFINITY_SECONDS = 86400
HEADLESS = "None"


def _cluster_ips(spec: core_pb2.ServiceSpec) -> list[str]:
    """clusterIPs as Kubernetes' strategy keeps them: clusterIPs, else [clusterIP] when set."""
    if spec.cluster_ips:
        return list(spec.cluster_ips)
    return [spec.cluster_ip] if spec.cluster_ip else []


def is_headless(spec: core_pb2.ServiceSpec) -> bool:
    return _cluster_ips(spec) == [HEADLESS]


def validate_service(service: core_pb2.Service) -> list[FieldError]:
    spec = service.spec
    path = "spec"
    errors: list[FieldError] = []
    headless = is_headless(spec)
    if not spec.ports and not headless and spec.type != "ExternalName":
        errors.append(FieldError.required(child(path, "ports")))
    if spec.type in ("LoadBalancer", "NodePort") and headless:
        errors.append(FieldError.invalid(index(child(path, "clusterIPs"), 0), HEADLESS,
                                         f"may not be set to 'None' for {spec.type} services"))
    elif spec.type == "ExternalName":
        errors += _external_name(spec, path)
    names_seen: set[str] = set()
    for i, port in enumerate(spec.ports):
        errors += _service_port(port, len(spec.ports) > 1, names_seen, index(child(path, "ports"), i))
    errors += validate_labels(spec.selector, child(path, "selector"))
    errors += _session_affinity(spec, path)
    if spec.type != "ExternalName":
        errors += _cluster_ip_fields(spec, path)
    for i, ip in enumerate(spec.external_ips):
        at = index(child(path, "externalIPs"), i)
        errors += valid_ip(ip, at) or non_special_ip(ip, at)
    errors += one_of(spec.type, SERVICE_TYPES, child(path, "type"))
    if spec.type in ("ClusterIP", "ExternalName"):
        for i, port in enumerate(spec.ports):
            if port.node_port:
                errors.append(FieldError.forbidden(child(index(child(path, "ports"), i), "nodePort"),
                                                   f"may not be used when `type` is '{spec.type}'"))
    errors += _duplicate_ports(spec.ports, child(path, "ports"))
    if spec.load_balancer_source_ranges:
        ranges_path = child(path, "loadBalancerSourceRanges")
        if spec.type != "LoadBalancer":
            errors.append(FieldError.forbidden(ranges_path, "may only be used when `type` is 'LoadBalancer'"))
        for i, cidr in enumerate(spec.load_balancer_source_ranges):
            errors += valid_cidr(cidr.strip(), index(ranges_path, i))
    if spec.HasField("allocate_load_balancer_node_ports") and spec.type != "LoadBalancer":
        errors.append(FieldError.forbidden(child(path, "allocateLoadBalancerNodePorts"),
                                           "may only be used when `type` is 'LoadBalancer'"))
    if spec.type == "LoadBalancer" and not spec.HasField("allocate_load_balancer_node_ports"):
        errors.append(FieldError.required(child(path, "allocateLoadBalancerNodePorts")))
    errors += _traffic_policies(spec, path)
    return errors


def validate_service_update(new: core_pb2.Service, old: core_pb2.Service) -> list[FieldError]:
    """A Service's cluster IP never changes once set, except when it becomes or stops being an
    ExternalName; nor does its health-check node port while it needs one."""
    errors = _cluster_ip_update(new.spec, old.spec)
    if _needs_health_check(new.spec) and _needs_health_check(old.spec) and \
            new.spec.health_check_node_port != old.spec.health_check_node_port:
        errors.append(FieldError.forbidden("spec.healthCheckNodePort", "field is immutable"))
    return errors + validate_service(new)


def _external_name(spec: core_pb2.ServiceSpec, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if _cluster_ips(spec):
        errors.append(FieldError.forbidden(child(path, "clusterIPs"), "may not be set for ExternalName services"))
    if spec.ip_families:
        errors.append(FieldError.forbidden(child(path, "ipFamilies"), "may not be set for ExternalName services"))
    if spec.ip_family_policy:
        errors.append(FieldError.forbidden(child(path, "ipFamilyPolicy"), "may not be set for ExternalName services"))
    cname = spec.external_name.removesuffix(".")
    if cname:
        errors += check_name(names.dns1123_subdomain, cname, child(path, "externalName"))
    else:
        errors.append(FieldError.required(child(path, "externalName")))
    return errors


def _service_port(port: core_pb2.ServicePort, name_required: bool, seen: set[str], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if name_required and not port.name:
        errors.append(FieldError.required(child(path, "name")))
    elif port.name:
        errors += check_name(names.dns1123_label, port.name, child(path, "name"))
        if port.name in seen:
            errors.append(FieldError.duplicate(child(path, "name"), port.name))
        seen.add(port.name)
    errors += port_number(port.port, child(path, "port"))
    errors += protocol(port.protocol, child(path, "protocol"))
    errors += port_num_or_name(port.target_port, child(path, "targetPort"))
    if port.app_protocol:
        errors += check_name(names.qualified_name, port.app_protocol, child(path, "appProtocol"))
    return errors


def _session_affinity(spec: core_pb2.ServiceSpec, path: str) -> list[FieldError]:
    errors = one_of(spec.session_affinity, SESSION_AFFINITIES, child(path, "sessionAffinity"))
    config_path = child(path, "sessionAffinityConfig")
    if spec.session_affinity == "ClientIP":
        client_ip_path = child(config_path, "clientIP")
        timeout_path = child(client_ip_path, "timeoutSeconds")
        reason = "when session affinity type is ClientIP"
        if not spec.HasField("session_affinity_config"):
            errors.append(FieldError.required(config_path, reason))
        elif not spec.session_affinity_config.HasField("client_ip"):
            errors.append(FieldError.required(client_ip_path, reason))
        elif not spec.session_affinity_config.client_ip.HasField("timeout_seconds"):
            errors.append(FieldError.required(timeout_path, reason))
        else:
            timeout = spec.session_affinity_config.client_ip.timeout_seconds
            if not 0 < timeout <= MAX_CLIENT_IP_AFFINITY_SECONDS:
                errors.append(FieldError.invalid(
                    timeout_path, timeout, f"must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}"))
    elif spec.session_affinity == "None" and spec.HasField("session_affinity_config"):
        errors.append(FieldError.forbidden(config_path, "must not be set when session affinity is None"))
    return errors


def _cluster_ip_fields(spec: core_pb2.ServiceSpec, path: str) -> list[FieldError]:
    """clusterIP, clusterIPs, ipFamilies and ipFamilyPolicy (Kubernetes' ValidateServiceClusterIPsRelatedFields,
    with clusterIP checked on its own since kubelab fills clusterIPs only when allocating)."""
    errors: list[FieldError] = []
    ips_path = child(path, "clusterIPs")
    if spec.cluster_ip and spec.cluster_ip != HEADLESS:
        errors += valid_ip(spec.cluster_ip, child(path, "clusterIP"))
    if spec.cluster_ips and spec.cluster_ip and spec.cluster_ips[0] != spec.cluster_ip:
        errors.append(FieldError.invalid(ips_path, list(spec.cluster_ips), "first value must match `clusterIP`"))
    seen: set[str] = set()
    for i, family in enumerate(spec.ip_families):
        at = index(child(path, "ipFamilies"), i)
        if family not in IP_FAMILIES:
            errors.append(FieldError.unsupported(at, family, IP_FAMILIES))
        if family in seen:
            errors.append(FieldError.duplicate(at, family))
        seen.add(family)
    if spec.ip_family_policy:
        errors += one_of(spec.ip_family_policy, IP_FAMILY_POLICIES, child(path, "ipFamilyPolicy"))
    bad_ips = False
    for i, ip in enumerate(spec.cluster_ips):
        if i == 0 and ip == HEADLESS:
            if len(spec.cluster_ips) > 1:
                bad_ips = True
                errors.append(FieldError.invalid(ips_path, list(spec.cluster_ips),
                                                 "'None' must be the first and only value"))
            continue
        found = valid_ip(ip, index(ips_path, i))
        bad_ips = bad_ips or bool(found)
        errors += found
    if len(spec.cluster_ips) > 2:
        errors.append(FieldError.invalid(ips_path, list(spec.cluster_ips), "may only hold up to 2 values"))
    if bad_ips:
        return errors
    ips = _cluster_ips(spec)
    versions = {parsed.version for parsed in map(parse_ip, ips) if parsed is not None}
    if len(ips) > 1 and len(versions) != len(ips):
        errors.append(FieldError.invalid(ips_path, ips, "may specify no more than one IP for each IP family"))
    if ips and ips != [HEADLESS]:
        for i, (ip, family) in enumerate(zip(ips, spec.ip_families, strict=False)):
            parsed = parse_ip(ip)
            if parsed is None:
                continue
            at = index(ips_path, i) if spec.cluster_ips else child(path, "clusterIP")
            if family == "IPv4" and parsed.version == 6:
                errors.append(FieldError.invalid(at, ip, f"expected an IPv4 value as indicated by `ipFamilies[{i}]`"))
            if family == "IPv6" and parsed.version == 4:
                errors.append(FieldError.invalid(at, ip, f"expected an IPv6 value as indicated by `ipFamilies[{i}]`"))
    return errors


def _duplicate_ports(ports: Sequence[core_pb2.ServicePort], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    node_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        if not port.node_port:
            continue
        claim = (port.protocol, port.node_port)
        if claim in node_ports:
            errors.append(FieldError.duplicate(child(index(path, i), "nodePort"), port.node_port))
        node_ports.add(claim)
    service_ports: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        claim = (port.protocol, port.port)
        if claim in service_ports:
            errors.append(FieldError.duplicate(
                index(path, i), GoLiteral(f'core.ServicePort{{Protocol:"{port.protocol}", Port:{port.port}}}')))
        service_ports.add(claim)
    return errors


def _needs_health_check(spec: core_pb2.ServiceSpec) -> bool:
    return spec.type == "LoadBalancer" and spec.external_traffic_policy == "Local"


def _traffic_policies(spec: core_pb2.ServiceSpec, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    external_path = child(path, "externalTrafficPolicy")
    if not externally_accessible(spec):
        if spec.external_traffic_policy:
            errors.append(FieldError.invalid(external_path, spec.external_traffic_policy,
                                             "may only be set for externally-accessible services"))
    else:
        errors += one_of(spec.external_traffic_policy, EXTERNAL_TRAFFIC_POLICIES, external_path)
    # The health-check node port is allocated after validation, so only a misplaced one is refused.
    if not _needs_health_check(spec) and spec.health_check_node_port:
        errors.append(FieldError.invalid(child(path, "healthCheckNodePort"), spec.health_check_node_port,
                                         "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` "
                                         "is 'Local'"))
    elif spec.health_check_node_port:
        errors += port_number(spec.health_check_node_port, child(path, "healthCheckNodePort"))
    internal_path = child(path, "internalTrafficPolicy")
    if not spec.internal_traffic_policy:
        if spec.type in ("ClusterIP", "NodePort", "LoadBalancer"):
            errors.append(FieldError.required(internal_path))
    else:
        errors += one_of(spec.internal_traffic_policy, INTERNAL_TRAFFIC_POLICIES, internal_path)
    return errors


def _cluster_ip_update(new: core_pb2.ServiceSpec, old: core_pb2.ServiceSpec) -> list[FieldError]:
    """Kubernetes' validateUpgradeDowngradeClusterIPs for kubelab's single-stack services."""
    if new.type == "ExternalName" or old.type == "ExternalName":
        return []
    new_ips, old_ips = _cluster_ips(new), _cluster_ips(old)
    if new_ips == [HEADLESS] and old_ips == [HEADLESS]:
        return []
    path = "spec.clusterIPs"
    errors: list[FieldError] = []
    if len(new_ips) == len(old_ips):
        for i, ip in enumerate(old_ips):
            if new_ips[i] != ip:
                errors.append(FieldError.invalid(index(path, i), new_ips, "may not change once set"))
    elif len(old_ips) > len(new_ips):
        if not new_ips:
            errors.append(FieldError.invalid(index(path, 0), new_ips, "primary clusterIP can not be unset"))
        elif new_ips[0] != old_ips[0]:
            errors.append(FieldError.invalid(index(path, 0), new_ips, "may not change once set"))
    elif old_ips and new_ips[0] != old_ips[0]:
        errors.append(FieldError.invalid(index(path, 0), new_ips, "may not change once set"))
    return errors
