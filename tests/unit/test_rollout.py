"""The Deployment arithmetic (controllers/rollout.py) by tables: rounding of maxSurge/maxUnavailable,
the rolling-update steps, proportional scaling, status and conditions, history cleanup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.api import codec
from controlplane.api.v1 import apps_pb2
from controlplane.controllers import rollout
from controlplane.controllers.rollout import Scale

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment(replicas: int = 10, surge: int | str | None = "25%", unavailable: int | str | None = "25%",
               strategy: str = "RollingUpdate", **spec: object) -> apps_pb2.Deployment:
    document: dict[str, object] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "uid": "d-uid", "generation": 1},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "kubelab/demo:1"}]}},
                 "strategy": {"type": strategy}, **spec}}
    if strategy == "RollingUpdate":
        rolling: dict[str, object] = {}
        if surge is not None:
            rolling["maxSurge"] = surge
        if unavailable is not None:
            rolling["maxUnavailable"] = unavailable
        document["spec"]["strategy"]["rollingUpdate"] = rolling  # type: ignore[index]
    d = codec.decode_object(document)
    assert isinstance(d, apps_pb2.Deployment)
    return d


def rs(name: str, replicas: int, available: int | None = None, created: int = 0, *, revision: int | None = None,
       max_replicas: int | None = None, desired: int | None = None, image: str = "kubelab/demo:1",
       status_replicas: int | None = None) -> apps_pb2.ReplicaSet:
    result = apps_pb2.ReplicaSet()
    result.metadata.name = name
    result.metadata.uid = f"{name}-uid"
    result.metadata.creation_timestamp = at(created)
    result.metadata.generation = 1
    result.spec.replicas = replicas
    result.spec.template.metadata.labels["app"] = "web"
    result.spec.template.spec.containers.add(name="web", image=image)
    result.status.replicas = replicas if status_replicas is None else status_replicas
    result.status.available_replicas = replicas if available is None else available
    result.status.ready_replicas = result.status.available_replicas
    result.status.observed_generation = 1
    if revision is not None:
        result.metadata.annotations[rollout.REVISION] = str(revision)
    if max_replicas is not None:
        result.metadata.annotations[rollout.MAX_REPLICAS] = str(max_replicas)
    if desired is not None:
        result.metadata.annotations[rollout.DESIRED_REPLICAS] = str(desired)
    return result


# ---------------------------------------------------------------------------------------- rounding

@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), [
    ("25%", "25%", 10, (3, 2)),  # surge rounds up (2.5 -> 3), unavailable down (2.5 -> 2)
    ("25%", "25%", 4, (1, 1)),
    ("25%", "25%", 1, (1, 0)),  # 0.25 -> surge 1, unavailable 0
    ("10%", "20%", 6, (1, 1)),  # S1.1: 0.6 -> 1, 1.2 -> 1
    ("10%", "20%", 4, (1, 0)),  # 0.4 -> 1, 0.8 -> 0: surge is 1, so no pod need be unavailable
    ("50%", "50%", 5, (3, 2)),
    ("100%", "100%", 3, (3, 3)),
    (1, 0, 3, (1, 0)),
    (0, "10%", 5, (0, 1)),  # both resolve to 0: one pod may be unavailable, or nothing could move
    ("0%", "0%", 7, (0, 1)),
    (None, None, 4, (0, 1)),  # both left out (nil): 0, then the same rule
    (2, 3, 1, (2, 3)),  # numbers are taken as they are
])
def test_surge_rounds_up_and_unavailable_rounds_down(surge: int | str | None, unavailable: int | str | None,
                                                     desired: int, expected: tuple[int, int]) -> None:
    assert rollout.resolve_fenceposts(surge if surge is not None else 0,
                                      unavailable if unavailable is not None else 0, desired) == expected
    d = deployment(desired, surge, unavailable)
    assert rollout.max_surge(d) == expected[0]
    assert rollout.max_unavailable(d) == min(expected[1], desired)


def test_recreate_and_zero_replicas_have_no_surge_and_no_unavailability() -> None:
    assert rollout.max_surge(deployment(strategy="Recreate")) == 0
    assert rollout.max_unavailable(deployment(strategy="Recreate")) == 0
    assert rollout.max_unavailable(deployment(0)) == 0
    assert rollout.max_unavailable(deployment(1, 2, 3)) == 1  # never more than the replicas


# ---------------------------------------------------------------------------------------- the new ReplicaSet

@pytest.mark.parametrize(("desired", "surge", "others", "new", "expected"), [
    (10, "25%", 10, 0, 3),  # room for 13: 3 more
    (10, "25%", 8, 3, 5),  # 11 of 13: 2 more
    (10, "25%", 10, 3, 3),  # 13 already: no room
    (10, "25%", 0, 8, 10),  # room for 5 more but only 2 are wanted
    (4, 0, 3, 0, 1),  # maxSurge 0: only what an old pod made room for
    (4, 0, 4, 0, 0),
])
def test_the_new_replica_set_grows_as_far_as_the_surge_allows(desired: int, surge: int | str, others: int,
                                                              new: int, expected: int) -> None:
    d = deployment(desired, surge, 1)
    every = [rs("old", others), rs("new", new)]
    assert rollout.new_rs_new_replicas(d, every, new) == expected


def test_recreate_sizes_the_new_replica_set_to_the_replicas_at_once() -> None:
    assert rollout.new_rs_new_replicas(deployment(5, strategy="Recreate"), [rs("old", 5)], 0) == 5


def test_a_new_replica_set_bigger_than_wanted_is_scaled_down() -> None:
    d = deployment(3)
    assert rollout.reconcile_new(d, [rs("new", 5)], rs("new", 5)) == Scale("new", 3)
    assert rollout.reconcile_new(d, [rs("new", 3)], rs("new", 3)) is None


# ---------------------------------------------------------------------------------------- the old ones

@pytest.mark.parametrize(("case", "desired", "surge", "unavailable", "olds", "new", "expected"), [
    ("the surge pod is not ready: one old pod may go",
     10, 3, 1, [("old", 10, 10, 0)], (3, 0), [Scale("old", 9)]),
    ("at the availability floor: nothing goes",
     10, 3, 1, [("old", 9, 9, 0)], (3, 0), []),
    ("unavailable old pods go first, within the budget",
     10, 3, 1, [("old1", 5, 2, 0), ("old2", 5, 5, 1)], (3, 0), [Scale("old1", 4)]),
    ("unhealthy pods are cleaned up without spending availability",
     4, 1, 1, [("old", 4, 1, 0)], (1, 1), [Scale("old", 2)]),
    ("new pods ready: the budget is spent on the oldest ReplicaSet first",
     6, 1, 1, [("older", 2, 2, 0), ("newer", 2, 2, 5)], (3, 3), [Scale("older", 0)]),
    ("a budget wider than one ReplicaSet reaches the next",
     10, 3, 2, [("older", 3, 3, 0), ("newer", 4, 4, 5)], (6, 6), [Scale("older", 0), Scale("newer", 2)]),
    ("no old pods: nothing to do",
     3, 1, 1, [], (3, 3), []),
])
def test_old_replica_sets_shrink_only_as_far_as_max_unavailable_allows(
        case: str, desired: int, surge: int, unavailable: int, olds: list[tuple[str, int, int, int]],
        new: tuple[int, int], expected: list[Scale]) -> None:
    d = deployment(desired, surge, unavailable)
    old_sets = [rs(name, size, available, created) for name, size, available, created in olds]
    new_set = rs("new", new[0], new[1], created=100)
    assert rollout.reconcile_old(d, old_sets, new_set) == expected, case


def _simulate(d: apps_pb2.Deployment, old_size: int) -> list[tuple[int, int]]:
    """Sync after sync, every pod turning ready at once: the (old, new) sizes after each step."""
    sets = {"old": rs("old", old_size, created=0), "new": rs("new", 0, created=100, image="kubelab/demo:2")}
    sizes: list[tuple[int, int]] = []
    for _ in range(50):
        olds, new = [sets["old"]], sets["new"]
        step = rollout.reconcile_new(d, [*olds, new], new)
        steps = [step] if step is not None else rollout.reconcile_old(d, rollout.active(olds), new)
        if not steps:
            break
        for scale in steps:
            sets[scale.name] = rs(scale.name, scale.to, scale.to, 0 if scale.name == "old" else 100,
                                  image=sets[scale.name].spec.template.spec.containers[0].image)
            sizes.append((sets["old"].spec.replicas, sets["new"].spec.replicas))
    return sizes


@pytest.mark.parametrize(("desired", "surge", "unavailable", "expected"), [
    (4, 1, 0, [(4, 1), (3, 1), (3, 2), (2, 2), (2, 3), (1, 3), (1, 4), (0, 4)]),  # surge only: +1 then -1
    (4, 0, 1, [(3, 0), (3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3), (0, 4)]),  # unavailable only: -1 then +1
    (10, "25%", "25%", [(10, 3), (5, 3), (5, 8), (0, 8), (0, 10)]),  # the defaults: big strides
    # S1.1's strategy: 1 surge pod, 1 unavailable; a ready surge pod lets 2 old ones go at once.
    (6, "10%", "20%", [(6, 1), (4, 1), (4, 3), (2, 3), (2, 5), (0, 5), (0, 6)]),
])
def test_rolling_steps_when_every_pod_turns_ready_at_once(desired: int, surge: int | str,
                                                         unavailable: int | str,
                                                         expected: list[tuple[int, int]]) -> None:
    d = deployment(desired, surge, unavailable)
    d.spec.template.spec.containers[0].image = "kubelab/demo:2"
    assert _simulate(d, desired) == expected


def test_recreate_scales_every_active_old_replica_set_to_zero() -> None:
    assert rollout.recreate_scale_down([rs("a", 2), rs("b", 0), rs("c", 1)]) == [Scale("a", 0), Scale("c", 0)]


def test_recreate_waits_while_an_old_pod_has_not_finished() -> None:
    new = rs("new", 0)
    gone = rs("old", 0, status_replicas=0)
    assert rollout.old_pods_running(new, [rs("old", 0, status_replicas=1)], {})
    assert rollout.old_pods_running(new, [gone], {"old-uid": ["Running"]})  # terminating, still there
    assert not rollout.old_pods_running(new, [gone], {"old-uid": ["Succeeded", "Failed"]})
    assert not rollout.old_pods_running(new, [gone], {"new-uid": ["Running"]})


# ---------------------------------------------------------------------------------------- scaling

@pytest.mark.parametrize(("case", "desired", "surge", "sets", "expected"), [
    ("5 -> 10 in proportion (3 new, 2 old)",
     10, 0, [("old", 2, 5, 0), ("new", 3, 5, 10)], {"new": 6, "old": 4}),
    ("10 -> 5 in proportion",
     5, 0, [("old", 4, 10, 0), ("new", 6, 10, 10)], {"new": 3, "old": 2}),
    ("the rounding leftover goes to the first (biggest, then newest when scaling up)",
     4, 0, [("a", 1, 3, 0), ("b", 1, 3, 10), ("c", 1, 3, 20)], {"c": 2, "b": 1, "a": 1}),
    ("with a surge: 10 -> 20 with maxSurge 25%",
     20, "25%", [("old", 10, 13, 0), ("new", 3, 13, 10)], {"old": 19, "new": 6}),
    ("to zero: everything goes",
     0, 0, [("old", 4, 10, 0), ("new", 6, 10, 10)], {"new": 0, "old": 0}),
    ("down to 1 with ties: older ones first",
     1, 0, [("a", 1, 2, 0), ("b", 1, 2, 10)], {"a": 0, "b": 1}),
])
def test_a_scale_during_a_rollout_is_shared_in_proportion(case: str, desired: int, surge: int | str,
                                                          sets: list[tuple[str, int, int, int]],
                                                          expected: dict[str, int]) -> None:
    d = deployment(desired, surge, 1)
    made = [rs(name, size, size, created, max_replicas=annotated) for name, size, annotated, created in sets]
    new = next((s for s in made if s.metadata.name == "new"), None)
    olds = [s for s in made if s is not new]
    if new is None:  # all are old (a template that matches none)
        d.spec.template.spec.containers[0].image = "kubelab/demo:9"
    steps = rollout.scale(d, new, olds)
    assert {step.name: step.to for step in steps} == expected, case
    assert all(not step.only_if_resized for step in steps)


def test_one_active_replica_set_simply_takes_the_new_size() -> None:
    d = deployment(7)
    assert rollout.scale(d, rs("new", 3), [rs("old", 0)]) == [Scale("new", 7)]
    assert rollout.scale(d, None, [rs("older", 0, created=0), rs("old", 0, created=5)]) == [Scale("old", 7)]
    assert rollout.scale(d, rs("new", 7), []) == []


def test_a_saturated_new_replica_set_takes_the_old_ones_to_zero() -> None:
    d = deployment(3)
    new = rs("new", 3, 3, desired=3)
    assert rollout.scale(d, new, [rs("old", 2)]) == [Scale("old", 0)]


def test_a_changed_replicas_is_a_scaling_event_only_against_active_annotated_sets() -> None:
    d = deployment(5)
    assert rollout.is_scaling_event(d, rs("new", 3, desired=3), [])
    assert not rollout.is_scaling_event(d, rs("new", 5, desired=5), [rs("old", 0, desired=3)])
    assert not rollout.is_scaling_event(d, rs("new", 3), [])  # not annotated: not told


@pytest.mark.parametrize(("numerator", "denominator", "expected"), [
    (5, 2, 3), (-5, 2, -3), (7, 3, 2), (-7, 3, -2), (4, 2, 2), (1, 3, 0), (3, 2, 2),
])
def test_proportions_round_half_away_from_zero_as_go_does(numerator: int, denominator: int, expected: int) -> None:
    assert rollout._round_half_away(numerator, denominator) == expected


# ---------------------------------------------------------------------------------------- annotations

def test_a_new_replica_set_gets_the_deployment_annotations_and_the_next_revision() -> None:
    d = deployment(4, 1, 1)
    d.metadata.annotations.update({rollout.CHANGE_CAUSE: "image 2", rollout.LAST_APPLIED: "{}",
                                   rollout.REVISION: "3", "team": "a"})
    assert rollout.new_rs_annotations(d, {}, 4, exists=False) == {
        rollout.CHANGE_CAUSE: "image 2", "team": "a", rollout.REVISION: "4",
        rollout.DESIRED_REPLICAS: "4", rollout.MAX_REPLICAS: "5"}


def test_a_replica_set_brought_back_by_a_rollback_keeps_its_old_revisions_in_history() -> None:
    d = deployment(2)
    current = {rollout.REVISION: "1"}
    assert rollout.new_rs_annotations(d, current, 3, exists=True) == {
        rollout.REVISION: "3", rollout.REVISION_HISTORY: "1"}
    again = {rollout.REVISION: "3", rollout.REVISION_HISTORY: "1"}
    assert rollout.new_rs_annotations(d, again, 5, exists=True)[rollout.REVISION_HISTORY] == "1,3"
    assert rollout.new_rs_annotations(d, again, 3, exists=True) == again  # not above: unchanged


# ---------------------------------------------------------------------------------------- status

def test_status_counts_come_from_the_replica_sets() -> None:
    d = deployment(4, 1, 1)
    d.metadata.generation = 3
    new = rs("new", 3, 1, status_replicas=3)
    old = rs("old", 2, 2, status_replicas=2)
    status = rollout.calculate_status(d, [old, new], new, at(0))
    assert (status.replicas, status.updated_replicas, status.ready_replicas, status.available_replicas,
            status.unavailable_replicas, status.observed_generation) == (5, 3, 3, 3, 2, 3)
    available = {c.type: (c.status, c.reason, c.message) for c in status.conditions}["Available"]
    assert available == ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    short = rollout.calculate_status(d, [rs("old", 4, 2)], None, at(0))
    assert {c.type: (c.status, c.reason) for c in short.conditions}["Available"] == (
        "False", "MinimumReplicasUnavailable")


def _progressing(status: apps_pb2.DeploymentStatus) -> tuple[str, str, str]:
    condition = next(c for c in status.conditions if c.type == "Progressing")
    return condition.status, condition.reason, condition.message


def test_progressing_tells_progress_completion_and_the_deadline() -> None:
    d = deployment(2, 1, 0, progressDeadlineSeconds=30)
    d.status.conditions.add(type="Progressing", status="True", reason="NewReplicaSetCreated",
                            last_update_time=at(0), last_transition_time=at(0))
    d.status.updated_replicas, d.status.replicas = 1, 3
    new = rs("web-abc", 2, 0, status_replicas=2)
    old = rs("old", 1, 1)
    moved = rollout.rollout_status(d, [old, new], new, T0 + timedelta(seconds=5), at(5))
    assert _progressing(moved) == ("True", "ReplicaSetUpdated", 'ReplicaSet "web-abc" is progressing.')
    d.status.CopyFrom(moved)
    stuck = rollout.rollout_status(d, [old, new], new, T0 + timedelta(seconds=20), at(20))
    assert stuck == d.status  # nothing moved, deadline not reached: nothing to write
    assert rollout.stuck_recheck_after(d, stuck, T0 + timedelta(seconds=20)) == 16.0  # 5 + 30 - 20, +1
    late = rollout.rollout_status(d, [old, new], new, T0 + timedelta(seconds=36), at(36))
    assert _progressing(late) == ("False", "ProgressDeadlineExceeded",
                                  'ReplicaSet "web-abc" has timed out progressing.')
    done_new = rs("web-abc", 2, 2)
    complete = rollout.rollout_status(d, [rs("old", 0, 0), done_new], done_new, T0 + timedelta(seconds=40), at(40))
    assert _progressing(complete) == ("True", "NewReplicaSetAvailable",
                                      'ReplicaSet "web-abc" has successfully progressed.')


def test_without_a_deadline_there_is_no_progressing_condition() -> None:
    d = deployment(1, 1, 0, progressDeadlineSeconds=2**31 - 1)
    d.status.conditions.add(type="Progressing", status="True", reason="NewReplicaSetCreated")
    status = rollout.rollout_status(d, [rs("new", 1)], rs("new", 1), T0, at(0))
    assert [c.type for c in status.conditions] == ["Available"]


def test_pause_and_resume_show_in_progressing_but_never_hide_a_timeout() -> None:
    d = deployment(1, progressDeadlineSeconds=600, paused=True)
    assert (rollout.paused_condition(d, at(0)).reason, rollout.paused_condition(d, at(0)).status) == (  # type: ignore[union-attr]
        "DeploymentPaused", "Unknown")
    d.status.conditions.add(type="Progressing", status="Unknown", reason="DeploymentPaused")
    assert rollout.paused_condition(d, at(0)) is None
    d.spec.paused = False
    assert rollout.paused_condition(d, at(0)).message == "Deployment is resumed"  # type: ignore[union-attr]
    d.status.conditions[0].reason = "ProgressDeadlineExceeded"
    d.spec.paused = True
    assert rollout.paused_condition(d, at(0)) is None


def test_replica_failures_of_the_new_replica_set_come_first() -> None:
    new, old = rs("new", 1), rs("old", 1)
    old.status.conditions.add(type="ReplicaFailure", status="True", reason="FailedDelete", message="old")
    assert [c.message for c in rollout.replica_failures([old, new], new)] == ["old"]
    new.status.conditions.add(type="ReplicaFailure", status="True", reason="FailedCreate", message="new")
    assert [c.message for c in rollout.replica_failures([old, new], new)] == ["new"]


# ---------------------------------------------------------------------------------------- history

def test_cleanup_deletes_the_oldest_empty_revisions_beyond_the_limit() -> None:
    d = deployment(1, revisionHistoryLimit=2)
    olds = [rs("r1", 0, revision=1, created=0), rs("r2", 0, revision=2, created=1),
            rs("r3", 1, revision=3, created=2), rs("r4", 0, revision=4, created=3),
            rs("r5", 0, revision=5, created=4)]
    assert [s.metadata.name for s in rollout.cleanup(d, olds)] == ["r1", "r2"]
    d.spec.revision_history_limit = 0
    # r3 still has a pod wanted: it stays, whatever the limit.
    assert [s.metadata.name for s in rollout.cleanup(d, olds)] == ["r1", "r2", "r4", "r5"]
    olds[0].status.replicas = 1  # a pod still terminating
    assert [s.metadata.name for s in rollout.cleanup(d, olds)] == ["r2", "r4", "r5"]


def test_the_new_replica_set_is_the_oldest_with_the_deployment_template() -> None:
    d = deployment(1)
    twin_old = rs("first", 1, created=0)
    twin_new = rs("second", 1, created=5)
    other = rs("other", 1, created=1, image="kubelab/demo:2")
    twin_old.spec.template.metadata.labels["pod-template-hash"] = "abc"  # the hash label does not count
    assert rollout.find_new(d, [other, twin_new, twin_old]) is twin_old
    with_pods, every = rollout.find_old(d, [other, twin_new, twin_old, rs("empty", 0, created=2)])
    assert [s.metadata.name for s in with_pods] == ["other", "second"]
    assert [s.metadata.name for s in every] == ["other", "second", "empty"]
