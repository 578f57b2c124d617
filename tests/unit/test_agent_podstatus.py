"""The agent's pod status writer: a watch event of its own write is not taken for someone else's,
whichever of the event and the write's reply comes first; a stranger's rewrite is answered."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from agent.podstatus import PodStatusReporter
from controlplane.api.v1 import core_pb2


class ScriptedApi:
    """Stands in for the API server's UpdateStatus: each write gets the next resourceVersion, and its
    watch event reaches the worker before the reply does when `event_first` (as it can on a busy node)."""

    def __init__(self, worker: SimpleNamespace, *, event_first: bool) -> None:
        self.worker = worker
        self.event_first = event_first
        self.version = 10
        self.writes = 0

    async def update_status(self, pod: core_pb2.Pod) -> core_pb2.Pod:
        self.writes += 1
        self.version += 1
        stored = core_pb2.Pod()
        stored.CopyFrom(pod)
        stored.metadata.resource_version = str(self.version)
        if self.event_first:
            self.worker.update(stored)
        else:
            self.worker.later.append(stored)
        return stored


def _reporter(event_first: bool) -> tuple[PodStatusReporter, ScriptedApi, SimpleNamespace]:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace, pod.metadata.resource_version = "web", "default", "10"
    pod.spec.containers.add(name="c", image="busybox")
    worker = SimpleNamespace(pod=pod, records={}, sandbox=None, key="default/web", later=[])
    api = ScriptedApi(worker, event_first=event_first)
    context = SimpleNamespace(client=api, config=SimpleNamespace(node_ip="10.0.0.1"))
    reporter = PodStatusReporter(cast(Any, context), cast(Any, worker))

    def update(new: core_pb2.Pod) -> None:
        worker.pod = new
        reporter.observe(new)

    worker.update = update
    return reporter, api, worker


async def test_our_own_writes_are_not_written_again_whichever_arrives_first() -> None:
    for event_first in (True, False):
        reporter, api, worker = _reporter(event_first)
        await reporter.flush()
        worker.sandbox = SimpleNamespace(ip="10.244.1.5")  # a change: a second write
        await reporter.flush()
        for pod in worker.later:  # the events that came after the replies
            worker.update(pod)
        await reporter.flush()  # nothing changed since: nothing to write
        assert api.writes == 2, f"event_first={event_first}"
        assert not reporter._dirty.is_set()


async def test_a_status_rewritten_by_someone_else_is_posted_again() -> None:
    reporter, api, worker = _reporter(event_first=True)
    await reporter.flush()
    rewritten = core_pb2.Pod()
    rewritten.CopyFrom(worker.pod)
    rewritten.status.conditions.add(type="Ready", status="False", reason="NodeNotReady")
    rewritten.metadata.resource_version = "99"
    worker.update(rewritten)
    assert reporter._dirty.is_set()
    await reporter.flush()
    assert api.writes == 2
