"""Node selectors, required and preferred node affinity, as Kubernetes matches them."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec
from controlplane.api.v1 import core_pb2
from controlplane.scheduler.nodeaffinity import (
    preferred_score,
    required_affinity_matches,
    required_node_names,
    requirement_matches,
    term_matches,
)

LABELS = {"disktype": "ssd", "zone": "a", "cores": "16", "kubernetes.io/hostname": "n1"}


def _requirement(key: str, operator: str, *values: str) -> core_pb2.NodeSelectorRequirement:
    return core_pb2.NodeSelectorRequirement(key=key, operator=operator, values=list(values))


def _spec(spec: dict[str, Any]) -> core_pb2.PodSpec:
    pod = codec.decode_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                               "spec": {"containers": [{"name": "a", "image": "busybox"}], **spec}})
    assert isinstance(pod, core_pb2.Pod)
    return pod.spec


@pytest.mark.parametrize(("key", "operator", "values", "matches"), [
    ("disktype", "In", ["ssd", "nvme"], True),
    ("disktype", "In", ["hdd"], False),
    ("gpu", "In", ["yes"], False),
    ("disktype", "NotIn", ["hdd"], True),
    ("disktype", "NotIn", ["ssd"], False),
    ("gpu", "NotIn", ["yes"], True),  # a missing label is "not in"
    ("zone", "Exists", [], True),
    ("gpu", "Exists", [], False),
    ("gpu", "DoesNotExist", [], True),
    ("zone", "DoesNotExist", [], False),
    ("cores", "Gt", ["8"], True),
    ("cores", "Gt", ["16"], False),
    ("cores", "Lt", ["32"], True),
    ("cores", "Lt", ["16"], False),
    ("disktype", "Gt", ["1"], False),  # not an integer: no match
    ("cores", "Gt", ["eight"], False),
    ("gpu", "Lt", ["3"], False),
    ("disktype", "Near", ["ssd"], False),
])
def test_match_expression_operators(key: str, operator: str, values: list[str], matches: bool) -> None:
    assert requirement_matches(_requirement(key, operator, *values), LABELS.get(key)) is matches


@pytest.mark.parametrize(("term", "matches"), [
    (core_pb2.NodeSelectorTerm(), False),  # an empty term matches nothing
    (core_pb2.NodeSelectorTerm(match_expressions=[_requirement("disktype", "In", "ssd"),
                                                  _requirement("zone", "In", "b")]), False),  # ANDed
    (core_pb2.NodeSelectorTerm(match_expressions=[_requirement("disktype", "In", "ssd"),
                                                  _requirement("zone", "In", "a", "b")]), True),
    (core_pb2.NodeSelectorTerm(match_fields=[_requirement("metadata.name", "In", "n1")]), True),
    (core_pb2.NodeSelectorTerm(match_fields=[_requirement("metadata.name", "NotIn", "n1")]), False),
    (core_pb2.NodeSelectorTerm(match_fields=[_requirement("metadata.name", "In", "n2")]), False),
])
def test_a_terms_requirements_are_anded_and_fields_read_the_node_name(term: core_pb2.NodeSelectorTerm,
                                                                      matches: bool) -> None:
    assert term_matches(term, LABELS, "n1") is matches


def _required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}}


@pytest.mark.parametrize(("spec", "matches"), [
    ({}, True),
    ({"nodeSelector": {"disktype": "ssd"}}, True),
    ({"nodeSelector": {"disktype": "ssd", "zone": "b"}}, False),
    (_required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
               {"matchExpressions": [{"key": "disktype", "operator": "Exists"}]}), True),  # terms ORed
    (_required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}), False),
    # nodeSelector and affinity must both hold.
    ({"nodeSelector": {"disktype": "hdd"},
      **_required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]})}, False),
])
def test_required_affinity_needs_the_node_selector_and_one_term(spec: dict[str, Any], matches: bool) -> None:
    assert required_affinity_matches(_spec(spec), LABELS, "n1") is matches


@pytest.mark.parametrize(("spec", "names"), [
    ({}, None),
    (_required({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}), None),
    (_required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
               {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}),
     frozenset({"n1", "n2"})),
    # One term without a name pin: any node may match.
    (_required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]},
               {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}), None),
    (_required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]},
                                {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}), frozenset()),
])
def test_node_affinity_prefilter_narrows_to_named_nodes(spec: dict[str, Any], names: frozenset[str] | None) -> None:
    assert required_node_names(_spec(spec)) == names


def test_preferred_terms_add_the_weights_of_those_that_match() -> None:
    spec = _spec({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "disktype", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 5, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
        {"weight": 50, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}},
    ]}}})
    terms = spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
    assert preferred_score(terms, LABELS, "n1") == 15
    assert preferred_score(terms, {"zone": "b"}, "n2") == 50
    assert preferred_score(terms, {}, "n3") == 0
