"""The scheduling queue: order, back-off, and which cluster events move a waiting pod, with time
passed in."""

from __future__ import annotations

import pytest

from controlplane.scheduler import clusterevents, messages
from controlplane.scheduler.cache import NodeChange
from controlplane.scheduler.podinfo import PodInfo, pod_info
from controlplane.scheduler.queue import SchedulingQueue
from tests.support.scheduling import pod

CPU = frozenset({messages.NODE_RESOURCES_FIT})
TAINTS = frozenset({messages.TAINT_TOLERATION})


def _info(name: str, priority: int | None = None, labels: dict[str, str] | None = None) -> PodInfo:
    spec = {} if priority is None else {"priority": priority}
    return pod_info(pod(name, spec=spec, labels=labels))


def _popped(queue: SchedulingQueue) -> list[str]:
    names = []
    while (queued := queue.pop()) is not None:
        names.append(queued.info.name)
    return names


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (40, 10.0)])
def test_back_off_doubles_from_one_second_up_to_ten(attempts: int, seconds: float) -> None:
    assert SchedulingQueue().backoff_duration(attempts) == seconds


def test_higher_priority_first_then_first_come() -> None:
    queue = SchedulingQueue()
    queue.add(_info("late-low"), now=2)
    queue.add(_info("early"), now=1)
    queue.add(_info("urgent", priority=1000), now=3)
    assert _popped(queue) == ["urgent", "early", "late-low"]


def test_an_unschedulable_pod_waits_for_an_event_that_may_help_it() -> None:
    queue = SchedulingQueue()
    queue.add(_info("big"), now=0)
    assert queue.pop() is not None
    queue.failed("default/big", CPU, now=0)
    assert queue.where("default/big") == "unschedulable"
    queue.flush(now=100)  # no event, not yet 5 minutes: still waiting
    assert queue.where("default/big") == "unschedulable"
    assert queue.on_event(clusterevents.NODE_TAINT, now=100) == 0  # a taint change cannot give cpu
    assert queue.on_event(clusterevents.ASSIGNED_POD_DELETE, now=100) == 1  # a pod leaving can
    assert queue.where("default/big") == "active"  # its 1 s back-off ended long ago


def test_a_pod_moved_while_backing_off_waits_out_its_back_off() -> None:
    queue = SchedulingQueue()
    queue.add(_info("big"), now=0)
    queue.pop()
    queue.failed("default/big", CPU, now=10)
    queue.on_event(clusterevents.NODE_ADD, now=10.5)
    assert queue.where("default/big") == "backoff"
    assert queue.next_wakeup() == 11.0
    queue.flush(now=10.9)
    assert queue.pop() is None
    queue.flush(now=11.0)
    assert _popped(queue) == ["big"]


def test_attempts_back_off_longer_each_time() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    now = 0.0
    waits = []
    for _ in range(6):
        queued = queue.pop()
        assert queued is not None
        queue.failed("default/p", frozenset(), now, unschedulable=False)  # an error: straight to back-off
        wakeup = queue.next_wakeup()
        assert wakeup is not None
        waits.append(wakeup - now)
        now = wakeup
        queue.flush(now)
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_unschedulable_pods_are_flushed_after_five_minutes_without_an_event() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    queue.pop()
    queue.failed("default/p", TAINTS, now=0)
    assert queue.next_wakeup() == 300.0
    queue.flush(now=299.9)
    assert queue.where("default/p") == "unschedulable"
    queue.flush(now=300.0)
    assert queue.where("default/p") == "active"


def test_an_event_during_the_attempt_sends_the_pod_to_back_off_not_to_wait() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    queue.pop()
    queue.on_event(clusterevents.NODE_ADD, now=0.1)  # seen while the pod was being scheduled
    queue.failed("default/p", CPU, now=0.2)
    assert queue.where("default/p") == "backoff"


def test_an_irrelevant_event_during_the_attempt_does_not() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    queue.pop()
    queue.on_event(clusterevents.NODE_LABEL, now=0.1)
    queue.failed("default/p", CPU, now=0.2)
    assert queue.where("default/p") == "unschedulable"


def test_updating_a_waiting_pods_spec_or_labels_moves_it_but_a_status_change_does_not() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    queue.pop()
    queue.failed("default/p", TAINTS, now=0)
    status_only = pod("p")
    status_only.status.conditions.add(type="PodScheduled", status="False")
    queue.add(pod_info(status_only), now=5)
    assert queue.where("default/p") == "unschedulable"
    queue.add(_info("p", labels={"tier": "web"}), now=5)
    assert queue.where("default/p") == "active"


def test_a_pod_deleted_in_flight_is_dropped_after_its_attempt() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    queue.pop()
    queue.delete("default/p")
    queue.failed("default/p", CPU, now=0)
    assert queue.where("default/p") is None and len(queue) == 0


def test_an_update_in_flight_is_what_comes_back_after_a_failure() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    queue.pop()
    queue.add(_info("p", labels={"v": "2"}), now=0.1)
    assert queue.where("default/p") == "in-flight"
    queue.failed("default/p", CPU, now=0.2)
    assert queue.where("default/p") == "backoff"
    assert queue.info("default/p") is not None and queue.info("default/p").labels == {"v": "2"}  # type: ignore[union-attr]


def test_a_pod_that_failed_for_want_of_any_node_is_moved_by_any_event() -> None:
    queue = SchedulingQueue()
    queue.add(_info("p"), now=0)
    queue.pop()
    queue.failed("default/p", frozenset(), now=0)
    assert queue.on_event(clusterevents.NODE_LABEL, now=5) == 1


@pytest.mark.parametrize(("change", "events"), [
    (NodeChange(added=True), [clusterevents.NODE_ADD]),
    (NodeChange(labels=True, allocatable=True), [clusterevents.NODE_LABEL, clusterevents.NODE_ALLOCATABLE]),
    (NodeChange(taints=True, unschedulable=True), [clusterevents.NODE_TAINT, clusterevents.NODE_UNSCHEDULABLE]),
    (NodeChange(), []),  # a heartbeat: nothing that matters
])
def test_node_changes_become_cluster_events(change: NodeChange, events: list[str]) -> None:
    assert clusterevents.node_events(change) == events
