"""Which pods count as "the same app" for spreading, as kube-scheduler's default spreading decides
(helper.DefaultSelector): the labels of every Service of the pod's namespace whose selector
matches the pod, merged, and the selector of the ReplicaSet, StatefulSet or ReplicationController
that controls the pod. A pod that no Service selects and no such controller owns is not spread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from controlplane.api.labels import EQUALS, Requirement, Selector, SelectorError, selector_from_label_selector
from controlplane.api.v1 import apps_pb2, core_pb2, meta_pb2
from controlplane.scheduler.podinfo import Owner

# The controllers whose selector spreading uses, by (apiVersion, kind).
SPREAD_OWNERS = frozenset({("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"), ("v1", "ReplicationController")})


def label_selector(selector: meta_pb2.LabelSelector) -> Selector | None:
    """A LabelSelector as a Selector; None when it is invalid (it then selects nothing)."""
    try:
        return selector_from_label_selector(
            selector.match_labels, [(e.key, e.operator, list(e.values)) for e in selector.match_expressions])
    except SelectorError:
        return None


def owner_selector(owner: apps_pb2.ReplicaSet | apps_pb2.StatefulSet) -> Selector | None:
    if not owner.spec.HasField("selector"):
        return None
    return label_selector(owner.spec.selector)


def default_selector(labels: Mapping[str, str], services: Iterable[core_pb2.Service],
                     owner: Owner | None, owner_spread: Selector | None) -> Selector | None:
    """The selector of the pods to spread this pod away from, or None when there are none.

    `services`: the Services of the pod's namespace; `owner`: the pod's controller reference;
    `owner_spread`: that controller's selector, when it is one of SPREAD_OWNERS and exists."""
    merged: dict[str, str] = {}
    for service in services:
        chosen = service.spec.selector
        if chosen and all(labels.get(key) == value for key, value in chosen.items()):
            merged.update(chosen)
    requirements = [Requirement(key, EQUALS, (value,)) for key, value in merged.items()]
    if owner is not None and (owner.api_version, owner.kind) in SPREAD_OWNERS and owner_spread is not None:
        requirements.extend(owner_spread.requirements)
    if not requirements:
        return None
    return Selector(tuple(requirements))
