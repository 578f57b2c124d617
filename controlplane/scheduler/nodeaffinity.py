"""Node selectors as Kubernetes matches them (component-helpers nodeaffinity): a pod's nodeSelector
and required node affinity, its preferred terms' weights, and a PersistentVolume's node affinity.

- Terms are ORed; the requirements inside a term are ANDed; a term with no requirement at all
  matches no node.
- matchExpressions look at the node's labels: In, NotIn, Exists, DoesNotExist, and Gt/Lt, which
  compare the label's value and the single given value as integers (a value that is not an integer
  does not match). NotIn and DoesNotExist match a node without the label.
- matchFields look at the node's fields; `metadata.name` is the only one (In, NotIn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controlplane.api.v1 import core_pb2

NAME_FIELD = "metadata.name"


def _integer(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None


def requirement_matches(requirement: core_pb2.NodeSelectorRequirement, value: str | None) -> bool:
    """One requirement against the value the node has for its key (None: the node has no such label)."""
    operator = requirement.operator
    if operator == "In":
        return value is not None and value in requirement.values
    if operator == "NotIn":
        return value is None or value not in requirement.values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt"):
        if value is None or len(requirement.values) != 1:
            return False
        have, want = _integer(value), _integer(requirement.values[0])
        if have is None or want is None:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def term_matches(term: core_pb2.NodeSelectorTerm, labels: Mapping[str, str], name: str) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False
    for requirement in term.match_expressions:
        if not requirement_matches(requirement, labels.get(requirement.key)):
            return False
    for requirement in term.match_fields:
        field_value = name if requirement.key == NAME_FIELD else None
        if not requirement_matches(requirement, field_value):
            return False
    return True


def terms_match(terms: Sequence[core_pb2.NodeSelectorTerm], labels: Mapping[str, str], name: str) -> bool:
    return any(term_matches(term, labels, name) for term in terms)


def node_selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def required_affinity_matches(spec: core_pb2.PodSpec, labels: Mapping[str, str], name: str) -> bool:
    """The pod's nodeSelector and required node affinity both hold for the node."""
    if not node_selector_matches(spec.node_selector, labels):
        return False
    affinity = spec.affinity.node_affinity
    if affinity.HasField("required_during_scheduling_ignored_during_execution"):
        return terms_match(affinity.required_during_scheduling_ignored_during_execution.node_selector_terms,
                           labels, name)
    return True


def required_node_names(spec: core_pb2.PodSpec) -> frozenset[str] | None:
    """The only nodes the pod's required affinity can match when every term pins `metadata.name In`
    (NodeAffinity's PreFilter); None when any node may match. An empty set: the terms conflict."""
    affinity = spec.affinity.node_affinity
    if not affinity.HasField("required_during_scheduling_ignored_during_execution"):
        return None
    terms = affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    if not terms:
        return None
    names: set[str] = set()
    for term in terms:
        in_term: set[str] | None = None
        for requirement in term.match_fields:
            if requirement.key == NAME_FIELD and requirement.operator == "In":
                values = set(requirement.values)
                in_term = values if in_term is None else in_term & values
        if in_term is None:
            return None
        names |= in_term
    return frozenset(names)


def preferred_score(terms: Sequence[core_pb2.PreferredSchedulingTerm], labels: Mapping[str, str],
                    name: str) -> int:
    """The sum of the weights of the preferred terms the node matches (NodeAffinity's raw score)."""
    return sum(term.weight for term in terms if term.weight and term_matches(term.preference, labels, name))
