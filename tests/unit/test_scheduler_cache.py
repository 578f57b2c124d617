"""The scheduler's cache: what counts as a change of a node, and per-node totals kept as pods come,
change and go."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.scheduler.cache import NodeChange, SchedulerCache
from controlplane.scheduler.podinfo import pod_info
from tests.support.scheduling import node, pod


@pytest.mark.parametrize(("changed", "change"), [
    ({}, NodeChange()),
    ({"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2024-05-01T12:00:10Z"}]},
     NodeChange()),  # a heartbeat
    ({"labels": {"disk": "ssd"}}, NodeChange(labels=True)),
    ({"taints": [{"key": "x", "effect": "NoSchedule"}]}, NodeChange(taints=True)),
    ({"conditions": [{"type": "Ready", "status": "False"}]}, NodeChange(taints=True)),  # not-ready, as a taint
    ({"unschedulable": True}, NodeChange(unschedulable=True)),
    ({"cpu": "8"}, NodeChange(allocatable=True)),
])
def test_only_what_filters_read_counts_as_a_node_change(changed: dict[str, Any], change: NodeChange) -> None:
    cache = SchedulerCache()
    assert cache.set_node(node("n")) == NodeChange(added=True)
    assert cache.set_node(node("n", **changed)) == change


def _totals(cache: SchedulerCache, name: str) -> tuple[int, int, int, int]:
    slot = cache.table.slots[name]
    return (int(cache.table["req_cpu"][slot]), int(cache.table["pod_count"][slot]),
            int(cache.table["free_cpu"][slot]), int(cache.table["nz_memory"][slot]) >> 20)


def test_totals_follow_pods_added_resized_moved_assumed_and_removed() -> None:
    cache = SchedulerCache()
    cache.set_node(node("a", cpu="4"))
    cache.set_node(node("b", cpu="4"))
    assert cache.set_pod(pod_info(pod("p", cpu="1", node_name="a")))
    assert _totals(cache, "a") == (1000, 1, 3000, 200)  # no memory request: 200Mi for scoring
    status_only = pod("p", cpu="1", node_name="a", phase="Running")
    assert not cache.set_pod(pod_info(status_only))
    assert cache.set_pod(pod_info(pod("p", cpu="2", node_name="a")))
    assert _totals(cache, "a") == (2000, 1, 2000, 200)
    cache.assume(pod_info(pod("q", cpu="1")), "b")
    assert cache.is_assumed("default/q") and _totals(cache, "b") == (1000, 1, 3000, 200)
    assert not cache.set_pod(pod_info(pod("q", cpu="1", node_name="b")))  # the binding seen: confirmed
    assert not cache.is_assumed("default/q")
    cache.assume(pod_info(pod("r", cpu="1")), "b")
    cache.forget("default/r")
    assert _totals(cache, "b") == (1000, 1, 3000, 200)
    assert cache.remove_pod("default/p") is not None
    assert _totals(cache, "a") == (0, 0, 4000, 0)
