"""The ReplicaSet controller's pure parts by tables: which pods go first, pod availability,
expectations, claiming by ownerReferences, the pod-template hash, slow-start batches, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controlplane.api.v1 import apps_pb2, core_pb2, meta_pb2
from controlplane.controllers import podfacts, podranking
from controlplane.controllers.expectations import Expectations
from controlplane.controllers.ownership import Claim, claim_action
from controlplane.controllers.replicaset import next_availability, pod_from_template, replica_set_status
from controlplane.controllers.slowstart import slow_start
from controlplane.controllers.templatehash import equal_ignoring_hash, fnv32a, safe_encode, template_hash

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True, ready_for: float = 600,
        created: float = 3600, restarts: int = 0, cost: str | None = None) -> core_pb2.Pod:
    result = core_pb2.Pod()
    result.metadata.name = name
    result.metadata.uid = f"uid-{name}"
    result.metadata.creation_timestamp = ago(created)
    result.spec.node_name = node
    result.status.phase = phase
    result.status.conditions.add(type="Ready", status="True" if ready else "False",
                                 last_transition_time=ago(ready_for))
    result.status.container_statuses.add(name="web", restart_count=restarts)
    if cost is not None:
        result.metadata.annotations["controller.kubernetes.io/pod-deletion-cost"] = cost
    return result


# ---------------------------------------------------------------------------------------- deletion order

@pytest.mark.parametrize(("case", "first", "second"), [
    ("unscheduled before scheduled", pod("a", node=""), pod("b")),
    ("pending before running", pod("a", phase="Pending", ready=False), pod("b")),
    ("unknown before running", pod("a", phase="Unknown"), pod("b")),
    ("not ready before ready", pod("a", ready=False), pod("b")),
    ("a lower deletion cost first", pod("a", cost="-5"), pod("b")),
    ("ready for less time first (another log2 bucket)", pod("a", ready_for=10), pod("b", ready_for=1000)),
    ("more restarts first", pod("a", restarts=3), pod("b", restarts=1)),
    ("newer first", pod("a", created=10), pod("b", created=5000)),
    ("scheduling beats readiness", pod("a", node="", ready=True), pod("b", ready=False)),
    ("readiness beats restarts", pod("a", ready=False), pod("b", restarts=9)),
    ("ready time beats restarts", pod("a", ready_for=5), pod("b", ready_for=5000, restarts=9)),
    ("a cost that is not a number counts as 0", pod("a", cost="0"), pod("b", cost="7")),
])
def test_pods_are_deleted_in_kubernetes_order(case: str, first: core_pb2.Pod, second: core_pb2.Pod) -> None:
    for pods in ([first, second], [second, first]):
        ordered = podranking.deletion_order(pods, [0, 0], NOW)
        assert [p.metadata.name for p in ordered] == ["a", "b"], case


def test_pods_on_a_crowded_node_go_first() -> None:
    lonely, crowded = pod("a", node="n1"), pod("b", node="n2")
    related = [lonely, crowded, pod("c", node="n2"), pod("d", node="n2")]
    assert podranking.ranks_by_node([lonely, crowded], related) == [1, 3]
    assert [p.metadata.name for p in podranking.pods_to_delete([lonely, crowded], related, 1, NOW)] == ["b"]


def test_ready_times_in_the_same_log2_bucket_tie_and_the_uid_decides() -> None:
    # 100 s and 120 s ago are both in floor(log2(ns)) = 36: the UIDs decide, not the ready time.
    earlier, later = pod("z-later", ready_for=100, restarts=0), pod("a-earlier", ready_for=120, restarts=5)
    ordered = podranking.deletion_order([earlier, later], [0, 0], NOW)
    assert [p.metadata.name for p in ordered] == ["a-earlier", "z-later"]


def test_deleting_every_pod_needs_no_order() -> None:
    pods = [pod("a"), pod("b")]
    assert podranking.pods_to_delete(pods, pods, 2, NOW) == pods


# ---------------------------------------------------------------------------------------- availability

@pytest.mark.parametrize(("ready", "ready_for", "min_ready", "available"), [
    (True, 0, 0, True),
    (True, 5, 10, False),
    (True, 11, 10, True),
    (True, 10, 10, False),  # exactly minReadySeconds: not yet (strictly after)
    (False, 100, 0, False),
])
def test_a_pod_is_available_when_ready_for_longer_than_min_ready_seconds(ready: bool, ready_for: float,
                                                                        min_ready: int, available: bool) -> None:
    assert podfacts.is_available(pod("a", ready=ready, ready_for=ready_for), min_ready, NOW) is available


def test_terminating_and_finished_pods_are_not_active() -> None:
    terminating = pod("a")
    terminating.metadata.deletion_timestamp = ago(1)
    assert not podfacts.is_active(terminating)
    assert not podfacts.is_active(pod("b", phase="Succeeded"))
    assert not podfacts.is_active(pod("c", phase="Failed"))
    assert podfacts.is_active(pod("d", phase="Pending"))


def _replica_set(replicas: int = 2, min_ready: int = 0) -> apps_pb2.ReplicaSet:
    rs = apps_pb2.ReplicaSet()
    rs.metadata.name, rs.metadata.namespace, rs.metadata.uid, rs.metadata.generation = "web", "default", "u", 4
    rs.spec.replicas = replicas
    rs.spec.min_ready_seconds = min_ready
    rs.spec.template.metadata.labels.update({"app": "web", "tier": "front"})
    rs.spec.template.metadata.annotations["note"] = "x"
    rs.spec.template.spec.containers.add(name="web", image="kubelab/demo:1")
    return rs


def test_status_counts_labelled_ready_and_available_pods() -> None:
    rs = _replica_set(min_ready=30)
    pods = [pod("a", ready_for=60), pod("b", ready_for=10), pod("c", ready=False)]
    pods[0].metadata.labels.update({"app": "web", "tier": "front"})
    pods[1].metadata.labels.update({"app": "web"})  # adopted by the selector, not fully labelled
    status = replica_set_status(rs, pods, None, NOW)
    assert (status.replicas, status.fully_labeled_replicas, status.ready_replicas,
            status.available_replicas) == (3, 1, 2, 1)
    assert next_availability(rs, pods, NOW) == 21.0  # b turns available 20 s from now (+1 s, strictly after)
    failed = replica_set_status(rs, pods, ("FailedCreate", "quota"), NOW)
    assert [(c.type, c.reason, c.message) for c in failed.conditions] == [("ReplicaFailure", "FailedCreate", "quota")]
    rs.status.CopyFrom(failed)
    assert list(replica_set_status(rs, pods, None, NOW).conditions) == []


def test_a_pod_from_the_template_carries_its_labels_and_a_controller_reference() -> None:
    rs = _replica_set()
    made = pod_from_template(rs)
    assert (made.metadata.generate_name, made.metadata.namespace) == ("web-", "default")
    assert dict(made.metadata.labels) == {"app": "web", "tier": "front"}
    assert dict(made.metadata.annotations) == {"note": "x"}
    assert made.metadata.owner_references[0] == meta_pb2.OwnerReference(
        api_version="apps/v1", kind="ReplicaSet", name="web", uid="u", controller=True, block_owner_deletion=True)
    assert made.spec == rs.spec.template.spec


# ---------------------------------------------------------------------------------------- expectations

def test_expectations_wait_for_every_creation_and_deletion_or_the_timeout() -> None:
    expected = Expectations(timeout=300)
    assert expected.satisfied("rs", 0)
    expected.expect_creations("rs", 2, now=0)
    assert not expected.satisfied("rs", 1)
    expected.creation_observed("rs")
    assert not expected.satisfied("rs", 1)
    expected.creation_observed("rs")
    assert expected.satisfied("rs", 1)
    expected.expect_deletions("rs", ["ns/a", "ns/b"], now=10)
    expected.deletion_observed("rs", "ns/a")
    expected.deletion_observed("rs", "ns/a")  # seen twice (terminating, then gone): counted once
    assert expected.pending("rs") == (0, 1)
    assert not expected.satisfied("rs", 11)
    assert expected.satisfied("rs", 311)  # a lost event does not block the controller forever
    expected.forget("rs")
    assert expected.satisfied("rs", 12)


# ---------------------------------------------------------------------------------------- claiming

def _meta(uid: str = "", owner: str | None = None, deleting: bool = False,
          namespace: str = "default") -> meta_pb2.ObjectMeta:
    meta = meta_pb2.ObjectMeta(uid=uid, namespace=namespace)
    if owner is not None:
        meta.owner_references.add(kind="ReplicaSet", name="x", uid=owner, controller=True)
    if deleting:
        meta.deletion_timestamp = ago(1)
    return meta


@pytest.mark.parametrize(("case", "owner", "dependent", "matches", "expected"), [
    ("ours and matching", _meta("me"), _meta(owner="me"), True, Claim.OWNED),
    ("ours, no longer matching", _meta("me"), _meta(owner="me"), False, Claim.RELEASE),
    ("ours, not matching, while we are deleted", _meta("me", deleting=True), _meta(owner="me"), False, Claim.IGNORE),
    ("ours and matching while we are deleted", _meta("me", deleting=True), _meta(owner="me"), True, Claim.OWNED),
    ("someone else's", _meta("me"), _meta(owner="other"), True, Claim.IGNORE),
    ("an orphan that matches", _meta("me"), _meta(), True, Claim.ADOPT),
    ("an orphan that does not match", _meta("me"), _meta(), False, Claim.IGNORE),
    ("a terminating orphan", _meta("me"), _meta(deleting=True), True, Claim.IGNORE),
    ("an orphan while we are deleted", _meta("me", deleting=True), _meta(), True, Claim.IGNORE),
    ("an orphan of another namespace", _meta("me"), _meta(namespace="other"), True, Claim.IGNORE),
])
def test_claiming_adopts_orphans_releases_strays_and_leaves_others_alone(
        case: str, owner: meta_pb2.ObjectMeta, dependent: meta_pb2.ObjectMeta, matches: bool,
        expected: Claim) -> None:
    assert claim_action(owner, dependent, matches) is expected, case


# ---------------------------------------------------------------------------------------- the hash

@pytest.mark.parametrize(("data", "expected"), [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)])
def test_fnv32a_matches_the_published_vectors(data: bytes, expected: int) -> None:
    assert fnv32a(data) == expected


def test_safe_encoding_maps_digits_to_kubernetes_alphabet() -> None:
    assert safe_encode("0123456789") == "456789bcdf"  # "0" is 48, 48 % 27 = 21: "4"


def test_the_template_hash_is_stable_and_changes_with_the_template_and_the_collision_count() -> None:
    template = _replica_set().spec.template
    first = template_hash(template, None)
    assert first == template_hash(template, None)
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789") and 5 <= len(first) <= 10
    assert template_hash(template, 0) != first  # a count of 0 still feeds 8 bytes
    assert template_hash(template, 1) != template_hash(template, 0)
    changed = core_pb2.PodTemplateSpec()
    changed.CopyFrom(template)
    changed.spec.containers[0].image = "kubelab/demo:2"
    assert template_hash(changed, None) != first
    labelled = core_pb2.PodTemplateSpec()
    labelled.CopyFrom(template)
    labelled.metadata.labels["pod-template-hash"] = first
    assert equal_ignoring_hash(labelled, template) and not equal_ignoring_hash(changed, template)


# ---------------------------------------------------------------------------------------- slow start

@pytest.mark.parametrize(("count", "fail_at", "expected_calls", "expected_successes"), [
    (10, None, 10, 10),  # batches 1, 2, 4, 3
    (10, 1, 1, 0),  # the first call fails: nothing more is tried
    (10, 3, 3, 2),  # in the second batch (calls 2-3): that batch finishes, no third
    (10, 5, 7, 6),  # in the third batch (calls 4-7)
    (0, None, 0, 0),
])
async def test_slow_start_stops_after_the_batch_where_a_call_failed(count: int, fail_at: int | None,
                                                                    expected_calls: int,
                                                                    expected_successes: int) -> None:
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise RuntimeError("refused")

    successes, error = await slow_start(count, call)
    assert (calls, successes, error is not None) == (expected_calls, expected_successes, fail_at is not None)
