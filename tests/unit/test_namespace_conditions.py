"""The conditions of a Terminating namespace, in Kubernetes' words."""

from __future__ import annotations

from controlplane.api.v1 import meta_pb2
from controlplane.controllers.namespace.conditions import TYPES, problems, updated_conditions

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:00:09Z"


def test_what_is_left_is_counted_per_resource_and_per_finalizer() -> None:
    found = problems({"pods.": 2, "deployments.apps": 1, "configmaps.": 0}, {"example.com/keep": 1}, [])
    assert found == {
        "NamespaceContentRemaining": ("SomeResourcesRemain",
                                      "Some resources are remaining: deployments.apps has 1 resource instances, "
                                      "pods. has 2 resource instances"),
        "NamespaceFinalizersRemaining": ("SomeFinalizersRemain", "Some content in the namespace has finalizers "
                                         "remaining: example.com/keep in 1 resource instances"),
    }


def test_delete_failures_are_reported() -> None:
    found = problems({}, {}, ["secrets.: refused", "pods.: refused"])
    assert found["NamespaceDeletionContentFailure"] == (
        "ContentDeletionFailed", "Failed to delete all resource types, 2 remaining: pods.: refused, secrets.: refused")


def test_every_condition_is_set_and_the_good_ones_say_so() -> None:
    conditions = updated_conditions([], problems({"pods.": 1}, {}, []), NOW)
    assert conditions is not None
    by_type = {c.type: c for c in conditions}
    assert [c.type for c in conditions] == list(TYPES)
    assert (by_type["NamespaceContentRemaining"].status, by_type["NamespaceContentRemaining"].reason) == (
        "True", "SomeResourcesRemain")
    assert (by_type["NamespaceDeletionDiscoveryFailure"].status, by_type["NamespaceDeletionDiscoveryFailure"].message) \
        == ("False", "All resources successfully discovered")


def test_nothing_changes_nothing_is_written_and_transition_times_move_with_status_only() -> None:
    first = updated_conditions([], problems({"pods.": 1}, {}, []), NOW)
    assert first is not None
    assert updated_conditions(first, problems({"pods.": 1}, {}, []), LATER) is None
    fewer = updated_conditions(first, problems({"pods.": 1, "secrets.": 1}, {}, []), LATER)
    assert fewer is not None
    remaining = {c.type: c for c in fewer}["NamespaceContentRemaining"]
    assert remaining.last_transition_time == NOW  # still True: only the message changed
    done = updated_conditions(fewer, problems({}, {}, []), LATER)
    assert done is not None
    assert {c.type: c for c in done}["NamespaceContentRemaining"].last_transition_time == LATER


def test_other_conditions_are_kept() -> None:
    own = meta_pb2.Condition(type="example.com/Ready", status="True")
    result = updated_conditions([own], {}, NOW)
    assert result is not None and result[0] == own
