"""From the endpoints a Service should have to the EndpointSlice writes that get there (pure).

Endpoints are grouped by (addressType, ports): every endpoint of one slice serves the same ports, as
a named targetPort may resolve to different numbers on different pods. Like Kubernetes' reconciler,
the plan changes as few slices as it can: an endpoint stays in the slice that holds it (updated in
place when its conditions change), new endpoints first go to slices that change anyway, then to
slices emptied meanwhile (recycled rather than deleted and created again), then to one slice that
can take them all, and only then to new slices of at most `max_per_slice` endpoints. A slice whose
labels, annotations or owner are not the wanted ones is updated too. With `placeholder`, a Service
without any endpoint keeps one empty slice (no ports, no endpoints), as Kubernetes' controller does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from controlplane.api.v1 import discovery_pb2, meta_pb2

MAX_ENDPOINTS_PER_SLICE = 100  # Kubernetes' default --max-endpoints-per-slice

# (name, port, protocol, appProtocol)
PortTuple = tuple[str, int, str, str | None]
# (addressType, ports): the slices an endpoint may live in.
GroupKey = tuple[str, tuple[PortTuple, ...]]
EndpointId = tuple[str, tuple[str, ...]]  # (target uid, addresses)


@dataclass(frozen=True)
class SliceTemplate:
    """What every slice of the Service carries besides endpoints and ports."""

    namespace: str
    generate_name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    owner: meta_pb2.OwnerReference | None = None


@dataclass
class SlicePlan:
    create: list[discovery_pb2.EndpointSlice] = field(default_factory=list)
    update: list[discovery_pb2.EndpointSlice] = field(default_factory=list)
    delete: list[discovery_pb2.EndpointSlice] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete)


def port_tuple(port: discovery_pb2.EndpointSlicePort) -> PortTuple:
    return (port.name, port.port, port.protocol or "TCP", port.app_protocol if port.HasField("app_protocol") else None)


def slice_port(port: PortTuple) -> discovery_pb2.EndpointSlicePort:
    name, number, protocol, app_protocol = port
    made = discovery_pb2.EndpointSlicePort(name=name, port=number, protocol=protocol)
    if app_protocol is not None:
        made.app_protocol = app_protocol
    return made


def group_of(eps: discovery_pb2.EndpointSlice) -> GroupKey:
    return (eps.address_type, tuple(port_tuple(port) for port in eps.ports))


def endpoint_id(endpoint: discovery_pb2.Endpoint) -> EndpointId:
    return (endpoint.target_ref.uid, tuple(endpoint.addresses))


def is_placeholder(eps: discovery_pb2.EndpointSlice) -> bool:
    return not eps.endpoints and not eps.ports


def _stamp(eps: discovery_pb2.EndpointSlice, template: SliceTemplate) -> bool:
    """Give the slice the template's labels, annotations and owner; True when that changed it."""
    changed = False
    if dict(eps.metadata.labels) != dict(template.labels):
        eps.metadata.labels.clear()
        eps.metadata.labels.update(template.labels)
        changed = True
    if dict(eps.metadata.annotations) != dict(template.annotations):
        eps.metadata.annotations.clear()
        eps.metadata.annotations.update(template.annotations)
        changed = True
    owners = [template.owner] if template.owner is not None else []
    if list(eps.metadata.owner_references) != owners:
        del eps.metadata.owner_references[:]
        eps.metadata.owner_references.extend(owners)
        changed = True
    return changed


def _new_slice(template: SliceTemplate, key: GroupKey) -> discovery_pb2.EndpointSlice:
    eps = discovery_pb2.EndpointSlice(api_version="discovery.k8s.io/v1", kind="EndpointSlice",
                                      address_type=key[0])
    eps.metadata.namespace = template.namespace
    eps.metadata.generate_name = template.generate_name
    eps.ports.extend(slice_port(port) for port in key[1])
    _stamp(eps, template)
    return eps


def _set_group(eps: discovery_pb2.EndpointSlice, key: GroupKey) -> None:
    del eps.ports[:]
    eps.ports.extend(slice_port(port) for port in key[1])


def plan_slices(existing: Iterable[discovery_pb2.EndpointSlice],
                desired: Mapping[GroupKey, Sequence[discovery_pb2.Endpoint]], template: SliceTemplate, *,
                max_per_slice: int = MAX_ENDPOINTS_PER_SLICE, placeholder: bool = False) -> SlicePlan:
    """The writes that turn `existing` (the Service's slices, as read) into slices holding `desired`."""
    plan = SlicePlan()
    current = sorted(existing, key=lambda eps: eps.metadata.name)
    desired = {key: endpoints for key, endpoints in desired.items() if endpoints}
    if not desired:
        return _placeholder_plan(current, template, placeholder)

    # Slices in work: a copy of each existing slice, and whether the plan changed it.
    work = {eps.metadata.name: _copy(eps) for eps in current}
    changed: set[str] = set()
    recyclable: list[str] = []  # emptied slices, by name
    leftovers: dict[GroupKey, list[discovery_pb2.Endpoint]] = {}
    for key, endpoints in desired.items():
        wanted = {endpoint_id(endpoint): endpoint for endpoint in endpoints}
        placed: set[EndpointId] = set()
        for name, eps in work.items():
            if group_of(eps) != key:
                continue
            kept = []
            for endpoint in eps.endpoints:
                identity = endpoint_id(endpoint)
                if identity in wanted and identity not in placed:
                    kept.append(wanted[identity])
                    placed.add(identity)
            if kept != list(eps.endpoints):
                del eps.endpoints[:]
                eps.endpoints.extend(kept)
                changed.add(name)
        leftovers[key] = [endpoint for identity, endpoint in wanted.items() if identity not in placed]
    for name, eps in work.items():
        if group_of(eps) not in desired:
            del eps.endpoints[:]
        if not eps.endpoints:
            recyclable.append(name)
            changed.discard(name)

    for key, remaining in leftovers.items():
        remaining = list(remaining)
        # 1. slices of this group that change anyway, with room
        for name in sorted(changed):
            eps = work[name]
            if group_of(eps) == key and remaining:
                room = max_per_slice - len(eps.endpoints)
                eps.endpoints.extend(remaining[:room])
                remaining = remaining[room:]
        # 2. emptied slices of the same address type, recycled for this group
        for name in list(recyclable):
            if not remaining:
                break
            eps = work[name]
            if eps.address_type != key[0]:
                continue
            recyclable.remove(name)
            _set_group(eps, key)
            eps.endpoints.extend(remaining[:max_per_slice])
            remaining = remaining[max_per_slice:]
            changed.add(name)
        # 3. one unchanged slice of this group that can take all the rest (the fullest such)
        if remaining:
            fits = [name for name, eps in work.items() if name not in changed and name not in recyclable
                    and group_of(eps) == key and len(eps.endpoints) + len(remaining) <= max_per_slice]
            if fits:
                name = max(fits, key=lambda n: len(work[n].endpoints))
                work[name].endpoints.extend(remaining)
                remaining = []
                changed.add(name)
        # 4. new slices
        while remaining:
            eps = _new_slice(template, key)
            eps.endpoints.extend(remaining[:max_per_slice])
            remaining = remaining[max_per_slice:]
            plan.create.append(eps)

    for name, eps in work.items():
        if name in recyclable:
            plan.delete.append(eps)
            continue
        stamped = _stamp(eps, template)
        if name in changed or stamped:
            plan.update.append(eps)
    return plan


def _placeholder_plan(current: list[discovery_pb2.EndpointSlice], template: SliceTemplate,
                      placeholder: bool) -> SlicePlan:
    plan = SlicePlan()
    if not placeholder:
        plan.delete.extend(current)
        return plan
    # Keep an existing placeholder; else empty the first slice into one (rather than delete and create).
    keep = next((eps for eps in current if is_placeholder(eps)), current[0] if current else None)
    for eps in current:
        if eps is not keep:
            plan.delete.append(eps)
    if keep is None:
        plan.create.append(_new_slice(template, ("IPv4", ())))
        return plan
    made = _copy(keep)
    del made.endpoints[:]
    del made.ports[:]
    if _stamp(made, template) or made != keep:
        plan.update.append(made)
    return plan


def _copy(eps: discovery_pb2.EndpointSlice) -> discovery_pb2.EndpointSlice:
    made = discovery_pb2.EndpointSlice()
    made.CopyFrom(eps)
    return made
