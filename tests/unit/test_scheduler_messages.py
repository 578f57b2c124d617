"""The FailedScheduling message, in kube-scheduler's words, reasons counted and sorted as it sorts them."""

from __future__ import annotations

import pytest

from controlplane.scheduler import messages


@pytest.mark.parametrize(("nodes", "reasons", "prefilter", "expected"), [
    (3, {messages.untolerated_taint("node-role.kubernetes.io/control-plane", ""): 1, "Insufficient cpu": 2}, "",
     "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
     "2 Insufficient cpu."),
    # A node short of two resources counts for both.
    (2, {"Insufficient cpu": 2, "Insufficient memory": 1, messages.TOO_MANY_PODS: 1}, "",
     "0/2 nodes are available: 1 Insufficient memory, 1 Too many pods, 2 Insufficient cpu."),
    # Sorted as strings, count included: "10 ..." comes before "9 ...".
    (19, {messages.UNSCHEDULABLE: 9, messages.AFFINITY_MISMATCH: 10}, "",
     "0/19 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, "
     "9 node(s) were unschedulable."),
    (5, {messages.NO_FREE_PORTS: 4, messages.VOLUME_NODE_CONFLICT: 1}, "",
     "0/5 nodes are available: 1 node(s) had volume node affinity conflict, "
     "4 node(s) didn't have free ports for the requested pod ports."),
    (3, {messages.absent_from_prefilter(["NodeAffinity"]): 2, "Too many pods": 1}, "",
     "0/3 nodes are available: 1 Too many pods, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]."),
    # A PreFilter's verdict replaces the per-node reasons.
    (3, {}, messages.claim_not_found("data"), '0/3 nodes are available: persistentvolumeclaim "data" not found.'),
    (2, {}, messages.UNBOUND_IMMEDIATE_CLAIMS,
     "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims."),
    (0, {}, "", "0/0 nodes are available:"),
])
def test_fit_error_message_counts_and_sorts_reasons_as_kube_scheduler(
        nodes: int, reasons: dict[str, int], prefilter: str, expected: str) -> None:
    assert messages.fit_error_message(nodes, reasons, prefilter) == expected


def test_scheduled_event_names_the_pod_and_the_node() -> None:
    assert messages.successfully_assigned("default", "web-1", "worker1") == \
        "Successfully assigned default/web-1 to worker1"
