"""What the scheduler tells users, written in the background so that scheduling never waits on it:

- a `Scheduled` Event for each binding (`Successfully assigned default/web to worker1`),
- a `FailedScheduling` Warning Event for each failed attempt (repeats of one message are counted
  on one Event by the recorder), and the pod's PodScheduled condition False with the reason
  (Unschedulable, or SchedulerError when the binding failed) and the same message, written only
  when it changes.

Events go through a bounded queue and are dropped when it is full, as Kubernetes' event broadcaster
drops them (its queue holds 1,000): events are best effort, binding is not. Conditions are never
dropped: the latest one per pod is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import now_text
from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.client.api import ApiClient
from controlplane.client.events import EventRecorder
from controlplane.scheduler import messages
from controlplane.scheduler.podinfo import PodInfo

log = structlog.get_logger("scheduler.reporter")

POD = kinds.by_kind("Pod")
EVENT_QUEUE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class _Event:
    pod: core_pb2.Pod
    type: str
    reason: str
    message: str


def with_condition(status: core_pb2.PodStatus, reason: str, message: str, now: str) -> bool:
    """Set PodScheduled False with `reason` and `message` in `status`; False when it already says so
    (Kubernetes' UpdatePodCondition: the transition time moves only when the status flips)."""
    for condition in status.conditions:
        if condition.type == messages.POD_SCHEDULED:
            if condition.status == "False" and condition.reason == reason and condition.message == message:
                return False
            if condition.status != "False":
                condition.last_transition_time = now
            condition.status, condition.reason, condition.message = "False", reason, message
            return True
    status.conditions.append(meta_pb2.Condition(type=messages.POD_SCHEDULED, status="False", reason=reason,
                                                message=message, last_transition_time=now))
    return True


class Reporter:
    def __init__(self, client: ApiClient, recorder: EventRecorder, event_workers: int = 4,
                 condition_workers: int = 4) -> None:
        self.client = client
        self.recorder = recorder
        self.event_workers = event_workers
        self.condition_workers = condition_workers
        self.dropped_events = 0
        self._events: asyncio.Queue[_Event] = asyncio.Queue(maxsize=EVENT_QUEUE_SIZE)
        self._conditions: dict[str, tuple[core_pb2.Pod, str, str]] = {}  # key -> (pod, reason, message)
        self._condition_keys: asyncio.Queue[str] = asyncio.Queue()

    def scheduled(self, info: PodInfo, node: str) -> None:
        self._event(_Event(info.pod, "Normal", messages.EVENT_SCHEDULED,
                           messages.successfully_assigned(info.namespace, info.name, node)))

    def failed(self, info: PodInfo, message: str, reason: str = messages.REASON_UNSCHEDULABLE) -> None:
        self._event(_Event(info.pod, "Warning", messages.EVENT_FAILED_SCHEDULING, message))
        if info.key not in self._conditions:
            self._condition_keys.put_nowait(info.key)
        self._conditions[info.key] = (info.pod, reason, message)

    def _event(self, event: _Event) -> None:
        try:
            self._events.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped_events += 1

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for number in range(self.event_workers):
                group.create_task(self._write_events(), name=f"events-{number}")
            for number in range(self.condition_workers):
                group.create_task(self._write_conditions(), name=f"conditions-{number}")

    async def _write_events(self) -> None:
        while True:
            event = await self._events.get()
            await self.recorder.record(event.pod, event.type, event.reason, event.message)

    async def _write_conditions(self) -> None:
        while True:
            key = await self._condition_keys.get()
            pod, reason, message = self._conditions.pop(key)
            try:
                await self._write_condition(pod, reason, message)
            except ApiError as error:
                if error.reason is not Reason.NOT_FOUND:
                    log.warning("pod.condition_not_written", pod=key, error=error.message)

    async def _write_condition(self, pod: core_pb2.Pod, reason: str, message: str) -> None:
        current = core_pb2.Pod()
        current.CopyFrom(pod)
        for _ in range(5):
            if current.spec.node_name or current.metadata.uid != pod.metadata.uid:
                return  # bound meanwhile, or another pod of the same name
            if not with_condition(current.status, reason, message, now_text()):
                return
            try:
                await self.client.update_status(current)
                return
            except ApiError as error:
                if error.reason is not Reason.CONFLICT:
                    raise
            fresh = await self.client.get(POD, pod.metadata.namespace, pod.metadata.name)
            assert isinstance(fresh, core_pb2.Pod)
            current = fresh
