"""`kubelab controller-manager`: build the enabled controllers over one set of shared informers, wait
for the caches to fill, then run every controller until SIGTERM."""

from __future__ import annotations

import asyncio

import structlog

from controlplane.client import ClientConfig, connect
from controlplane.client.informer import InformerSet
from controlplane.controllermanager.config import ControllerManagerConfig
from controlplane.controllermanager.registry import CONTROLLERS
from controlplane.controllers.base import ControllerContext

log = structlog.get_logger("controller-manager")


async def serve(config: ControllerManagerConfig) -> None:
    client = connect(ClientConfig(server=config.server), timeout=30)
    try:
        informers = InformerSet(client)
        context = ControllerContext(client, informers, config)
        controllers = [make(context) for name, make in CONTROLLERS.items() if config.enabled(name)]
        async with asyncio.TaskGroup() as group:
            group.create_task(informers.run(), name="informers")
            await informers.wait_synced()
            log.info("controller-manager.serving", server=config.server,
                     controllers=[controller.name for controller in controllers])
            for controller in controllers:
                group.create_task(controller.run(), name=f"controller-{controller.name}")
    finally:
        await client.close()
