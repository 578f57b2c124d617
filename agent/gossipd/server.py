"""`kubelab gossip`: run one member until SIGTERM, then leave the cluster gracefully."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import structlog

from agent.gossip.keyring import Keyring, follow_keyring_file
from agent.gossip.memberlist import Memberlist
from agent.gossip.transport import TransportError
from agent.gossipd.config import GossipDaemonConfig
from agent.members import MembersService
from controlplane.daemon import ConfigError

log = structlog.get_logger("gossip")


async def serve(config: GossipDaemonConfig) -> None:
    keyring = Keyring(config.keys)
    member = Memberlist(config.gossip, keyring)
    server: grpc.aio.Server | None = None
    if config.listen:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        MembersService(member).add_to(server)
        try:
            port = server.add_insecure_port(config.listen)
        except RuntimeError:
            raise ConfigError(f"--listen {config.listen}: cannot bind (address in use or not local)") from None
        await server.start()
        log.info("gossip.serving", listen=f"{config.listen.rpartition(':')[0]}:{port}")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(member.run())
            if config.keyring_file is not None:
                group.create_task(follow_keyring_file(config.keyring_file, keyring))
    except* TransportError as errors:
        raise ConfigError(f"--bind: {errors.exceptions[0]}") from None
    finally:
        if server is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await server.stop(1.0)
