"""A container's environment and command line, resolved as the kubelet does. Pure.

Order (later wins): service links, then `envFrom` sources in order, then `env` in order. `$(VAR)`
in env values, command and args expands to a variable defined before it; `$$(VAR)` is a literal
`$(VAR)`; an unknown `$(VAR)` stays as written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from controlplane.api.names import env_var_name
from controlplane.api.quantity import QuantityError, parse_quantity
from controlplane.api.v1 import core_pb2


class ConfigError(Exception):
    """The container cannot start yet: Kubernetes shows CreateContainerConfigError with this message."""


@dataclass(frozen=True)
class EnvSources:
    """What a container's environment may refer to, looked up by name in the pod's namespace."""

    config_maps: Mapping[str, core_pb2.ConfigMap]
    secrets: Mapping[str, core_pb2.Secret]
    node_allocatable_cpu_millis: int = 0
    node_allocatable_memory: int = 0
    service_env: Sequence[tuple[str, str]] = ()


@dataclass
class ResolvedEnv:
    env: list[tuple[str, str]]
    # Notes for Events, e.g. envFrom keys skipped for being invalid variable names.
    warnings: list[str] = field(default_factory=list)


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")


MASTER_SERVICE_NAMESPACE = "default"
MASTER_SERVICES = frozenset({"kubernetes"})


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _service_ip_set(service: core_pb2.Service) -> bool:
    return bool(service.spec.cluster_ip) and service.spec.cluster_ip != "None"


def linked_services(namespace: str, enable_service_links: bool,
                    services: Iterable[core_pb2.Service]) -> list[core_pb2.Service]:
    """The Services whose variables a pod gets, as the kubelet picks them: those with a cluster IP in
    the pod's namespace (with enableServiceLinks), and `kubernetes` from `default` always."""
    chosen: dict[str, core_pb2.Service] = {}
    for service in services:
        if not _service_ip_set(service):
            continue
        name = service.metadata.name
        if service.metadata.namespace == MASTER_SERVICE_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif service.metadata.namespace == namespace and enable_service_links:
            chosen[name] = service
    return [chosen[name] for name in sorted(chosen)]


def service_env(services: Iterable[core_pb2.Service]) -> list[tuple[str, str]]:
    """Kubernetes' service environment variables (and the Docker links ones) for these Services:
    NAME_SERVICE_HOST, NAME_SERVICE_PORT (the first port), NAME_SERVICE_PORT_<PORTNAME> per named
    port, NAME_PORT (the first port's URL), and per port NAME_PORT_<port>_<PROTO> with _PROTO, _PORT
    and _ADDR. NAME is the Service's name upper-cased with - as _."""
    env: list[tuple[str, str]] = []
    for service in services:
        if not _service_ip_set(service) or not service.spec.ports:
            continue
        prefix = _env_name(service.metadata.name)
        ip = service.spec.cluster_ip
        ports = service.spec.ports
        env.append((f"{prefix}_SERVICE_HOST", ip))
        env.append((f"{prefix}_SERVICE_PORT", str(ports[0].port)))
        env.extend((f"{prefix}_SERVICE_PORT_{_env_name(port.name)}", str(port.port)) for port in ports if port.name)
        for index, port in enumerate(ports):
            protocol = port.protocol or "TCP"
            host_port = f"[{ip}]:{port.port}" if ":" in ip else f"{ip}:{port.port}"
            url = f"{protocol.lower()}://{host_port}"
            if index == 0:
                env.append((f"{prefix}_PORT", url))
            port_prefix = f"{prefix}_PORT_{port.port}_{protocol.upper()}"
            env.extend([(port_prefix, url), (f"{port_prefix}_PROTO", protocol.lower()),
                        (f"{port_prefix}_PORT", str(port.port)), (f"{port_prefix}_ADDR", ip)])
    return env


def pod_service_env(pod: core_pb2.Pod, services: Iterable[core_pb2.Service]) -> list[tuple[str, str]]:
    """The service variables of a pod's containers (enableServiceLinks is true unless set false)."""
    spec = pod.spec
    enabled = spec.enable_service_links if spec.HasField("enable_service_links") else True
    return service_env(linked_services(pod.metadata.namespace, enabled, services))


def expand(text: str, variables: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return variables[name] if name in variables else match.group(0)

    return _REFERENCE.sub(replace, text)


def field_value(pod: core_pb2.Pod, path: str) -> str:
    meta = pod.metadata
    simple: dict[str, Callable[[], str]] = {
        "metadata.name": lambda: meta.name,
        "metadata.namespace": lambda: meta.namespace,
        "metadata.uid": lambda: meta.uid,
        "spec.nodeName": lambda: pod.spec.node_name,
        "spec.serviceAccountName": lambda: pod.spec.service_account_name,
        "status.hostIP": lambda: pod.status.host_ip,
        "status.podIP": lambda: pod.status.pod_ip,
        "status.podIPs": lambda: ",".join(ip.ip for ip in pod.status.pod_ips) or pod.status.pod_ip,
        "status.hostIPs": lambda: ",".join(ip.ip for ip in pod.status.host_ips) or pod.status.host_ip,
    }
    if path in simple:
        return simple[path]()
    keyed = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if keyed:
        source = meta.labels if keyed.group(1) == "labels" else meta.annotations
        return source.get(keyed.group(2), "")
    if path in ("metadata.labels", "metadata.annotations"):
        source = meta.labels if path == "metadata.labels" else meta.annotations
        return "\n".join(f'{k}="{v}"' for k, v in sorted(source.items()))
    raise ConfigError(f'unsupported fieldPath: "{path}"')


def _resource_value(container: core_pb2.Container, ref: core_pb2.ResourceFieldSelector,
                    sources: EnvSources) -> str:
    kind, _, resource = ref.resource.partition(".")
    limits = container.resources.limits
    requests = container.resources.requests
    table = limits if kind == "limits" else requests
    divisor = parse_quantity(ref.divisor.string) if ref.HasField("divisor") and ref.divisor.string else None
    try:
        if resource == "cpu":
            amount = parse_quantity(table["cpu"].string) if "cpu" in table else (
                parse_quantity(limits["cpu"].string) if kind == "requests" and "cpu" in limits else
                parse_quantity(str(sources.node_allocatable_cpu_millis)) / 1000)
            return str(max(1, math.ceil(amount / (divisor or 1))))
        if resource in ("memory", "ephemeral-storage"):
            amount = parse_quantity(table[resource].string) if resource in table else (
                parse_quantity(str(sources.node_allocatable_memory)))
            return str(math.ceil(amount / (divisor or 1)))
    except QuantityError as error:
        raise ConfigError(f"{ref.resource}: {error}") from None
    raise ConfigError(f'unsupported container resource: "{ref.resource}"')


def _config_map(sources: EnvSources, name: str, optional: bool, namespace: str) -> core_pb2.ConfigMap | None:
    found = sources.config_maps.get(name)
    if found is None and not optional:
        raise ConfigError(f'configmap "{name}" not found')
    return found


def _secret(sources: EnvSources, name: str, optional: bool, namespace: str) -> core_pb2.Secret | None:
    found = sources.secrets.get(name)
    if found is None and not optional:
        raise ConfigError(f'secret "{name}" not found')
    return found


def resolve_env(pod: core_pb2.Pod, container: core_pb2.Container, sources: EnvSources) -> ResolvedEnv:
    """The container's environment in order, or ConfigError (CreateContainerConfigError)."""
    namespace = pod.metadata.namespace
    variables: dict[str, str] = dict(sources.service_env)
    warnings: list[str] = []
    for source in container.env_from:
        if source.HasField("config_map_ref"):
            ref = source.config_map_ref
            config_map = _config_map(sources, ref.name, ref.optional, namespace)
            data: Mapping[str, str] = dict(config_map.data) if config_map else {}
            what = f"configMap {namespace}/{ref.name}"
        else:
            secret_ref = source.secret_ref
            secret = _secret(sources, secret_ref.name, secret_ref.optional, namespace)
            data = {k: v.decode(errors="replace") for k, v in secret.data.items()} if secret else {}
            what = f"secret {namespace}/{secret_ref.name}"
        skipped = []
        for key in sorted(data):
            name = source.prefix + key
            if env_var_name(name):
                skipped.append(name)
                continue
            variables[name] = data[key]
        if skipped:
            warnings.append(f"Keys [{', '.join(skipped)}] from the EnvFrom {what} were skipped since they are "
                            "considered invalid environment variable names.")
    for var in container.env:
        if var.HasField("value_from"):
            value = _value_from(pod, container, var.value_from, sources)
            if value is None:
                continue
            variables[var.name] = value
        else:
            variables[var.name] = expand(var.value, variables)
    return ResolvedEnv(list(variables.items()), warnings)


def _value_from(pod: core_pb2.Pod, container: core_pb2.Container, source: core_pb2.EnvVarSource,
                sources: EnvSources) -> str | None:
    namespace = pod.metadata.namespace
    if source.HasField("config_map_key_ref"):
        ref = source.config_map_key_ref
        config_map = _config_map(sources, ref.name, ref.optional, namespace)
        if config_map is None:
            return None
        if ref.key not in config_map.data:
            if ref.optional:
                return None
            raise ConfigError(f"couldn't find key {ref.key} in ConfigMap {namespace}/{ref.name}")
        return config_map.data[ref.key]
    if source.HasField("secret_key_ref"):
        secret_ref = source.secret_key_ref
        secret = _secret(sources, secret_ref.name, secret_ref.optional, namespace)
        if secret is None:
            return None
        if secret_ref.key not in secret.data:
            if secret_ref.optional:
                return None
            raise ConfigError(f"couldn't find key {secret_ref.key} in Secret {namespace}/{secret_ref.name}")
        return secret.data[secret_ref.key].decode(errors="replace")
    if source.HasField("field_ref"):
        return field_value(pod, source.field_ref.field_path)
    if source.HasField("resource_field_ref"):
        return _resource_value(container, source.resource_field_ref, sources)
    return None


def command_line(container: core_pb2.Container, env: Sequence[tuple[str, str]]) -> tuple[tuple[str, ...],
                                                                                      tuple[str, ...]]:
    """`command` and `args` with $(VAR) expanded against the container's final environment."""
    variables = dict(env)
    return (tuple(expand(part, variables) for part in container.command),
            tuple(expand(part, variables) for part in container.args))
