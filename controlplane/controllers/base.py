"""What every controller is given and what it must offer the controller manager."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from controlplane.client.api import ApiClient
from controlplane.client.events import EventRecorder
from controlplane.client.informer import InformerSet
from controlplane.controllers.runner import run_workers
from controlplane.controllers.workqueue import WorkQueue

if TYPE_CHECKING:
    from controlplane.controllermanager.config import ControllerManagerConfig


@dataclass
class ControllerContext:
    client: ApiClient
    informers: InformerSet
    config: ControllerManagerConfig

    def recorder(self, component: str) -> EventRecorder:
        return EventRecorder(self.client, component)


class Controller(Protocol):
    """Built with a ControllerContext (asking for informers and adding handlers there); `run` is
    awaited once every informer has synced, until cancelled."""

    name: str

    async def run(self) -> None: ...


class QueueController(ABC):
    """A controller that is one work queue of keys and a `reconcile(key)`: handlers add keys, workers
    reconcile them (see controllers/runner.py)."""

    name = "controller"

    def __init__(self, context: ControllerContext, workers: int = 1) -> None:
        self.context = context
        self.client = context.client
        self.workers = workers
        self.queue = WorkQueue()

    @abstractmethod
    async def reconcile(self, key: str) -> float | None:
        """One step toward the desired state of `key`; seconds after which to look again, or None."""

    async def run(self) -> None:
        await run_workers(self.name, self.queue, self.reconcile, self.workers)
