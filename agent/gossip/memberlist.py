"""One member of the gossip cluster, running: the state machine (state.py) fed by the transport
and the clock, its outputs sent, its events handed to whoever listens.

    member = Memberlist(GossipConfig(name="worker1", bind_address="10.240.0.11", join=("10.240.0.10",)),
                        Keyring([key]))
    async with asyncio.TaskGroup() as group:
        group.create_task(member.run())          # until cancelled; then it leaves the cluster
        events = member.subscribe()              # MemberEvent: join, failed, leave, ...
        print(member.members())                  # the current view

One task runs the loop: drain the UDP socket, let the state machine handle what came and what is
due, send what it produced, sleep until its next deadline or the next packet. TCP exchanges
(push-pull, large messages) run as child tasks of the member's own task group.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import replace

import structlog

from agent.gossip import messages as wire
from agent.gossip.config import DEFAULT_PORT, GossipConfig
from agent.gossip.keyring import Keyring, SealError
from agent.gossip.state import Address, EventKind, Exchange, GossipState, Member, MemberEvent, Send, Tags
from agent.gossip.transport import Transport

log = structlog.get_logger("gossip")

SEED_RESOLVE_RETRY = 5.0
JOIN_WARNING_INTERVAL = 30.0


class JoinAddressError(ValueError):
    """A --join entry that is not HOST or HOST:PORT."""


def parse_join(entry: str) -> tuple[str, int]:
    """`HOST`, `HOST:PORT`, `[V6]:PORT` -> (host, port), the port 7946 when left out."""
    text = entry.strip()
    if not text:
        raise JoinAddressError("--join: an empty address")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" in text:
        try:
            host, port_text = str(ipaddress.IPv6Address(text)), ""
        except ValueError:
            raise JoinAddressError(f"--join {entry!r}: expected HOST, HOST:PORT or [IPV6]:PORT") from None
    else:
        host, port_text = text, ""
    if not host:
        raise JoinAddressError(f"--join {entry!r}: no host")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise JoinAddressError(f"--join {entry!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


class Memberlist:
    def __init__(self, config: GossipConfig, keyring: Keyring | None = None, *,
                 clock: Callable[[], float] = time.monotonic, leave_on_stop: bool = True) -> None:
        self.config = config
        self.keyring = keyring if keyring is not None else Keyring()
        self.clock = clock
        self.leave_on_stop = leave_on_stop
        self.state = GossipState(config, clock())
        self.transport = Transport((config.bind_address, config.bind_port), self.keyring, self.state.stats,
                                   udp_limit=config.udp_buffer_size, tcp_timeout=config.tcp_timeout)
        self.version = 0  # bumped at every membership change
        self.started = asyncio.Event()
        self._changed = asyncio.Event()
        self._listeners: list[asyncio.Queue[MemberEvent]] = []
        self._exchanges: set[Address] = set()
        self._group: asyncio.TaskGroup | None = None
        self._opened = False
        self._join_warned: dict[Address, float] = {}

    # ------------------------------------------------------------------ views

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def stats(self) -> dict[str, int]:
        return {**self.state.stats, "health_score": self.state.awareness.score}

    def members(self) -> list[Member]:
        return self.state.snapshot()

    def subscribe(self) -> asyncio.Queue[MemberEvent]:
        """A queue of every member event from now on (unsubscribe when done)."""
        queue: asyncio.Queue[MemberEvent] = asyncio.Queue()
        self._listeners.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[MemberEvent]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(queue)

    async def wait_changed(self, version: int) -> int:
        """Wait until the membership differs from `version`; the new version."""
        while self.version == version:
            await self._changed.wait()
        return self.version

    def set_tags(self, tags: Tags) -> None:
        self.state.set_tags(tags, self.clock())
        self.transport.readable.set()

    # ------------------------------------------------------------------ running

    async def open(self) -> None:
        """Bind the sockets (TransportError if they cannot be); `run` does it if not done before."""
        if self._opened:
            return
        await self.transport.open(self._on_stream)
        self._opened = True
        me = self.state.me
        advertised_port = self.config.advertise_port or self.transport.port
        if me.port != advertised_port:  # bound to port 0: advertise the port the system chose
            self.state.members[me.name] = replace(me, port=advertised_port)

    async def run(self) -> None:
        """Bind, join, and run until cancelled; then leave the cluster (gracefully, if asked to)."""
        try:
            await self.open()
        except BaseException:
            self.transport.close()
            raise
        me = self.state.me
        log.info("gossip.started", member=self.name, address=f"{me.address}:{me.port}",
                 encrypted=self.keyring.enabled, join=list(self.config.join))
        self.started.set()
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                if self.config.join:
                    group.create_task(self._resolve_seeds())
                group.create_task(self._loop())
        finally:
            self._group = None
            if self.leave_on_stop:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._leave()
            self.transport.close()
            with contextlib.suppress(asyncio.CancelledError):
                await self.transport.wait_closed()

    def _step(self) -> float:
        """Feed the state machine what arrived and what is due, send what it produced; its next deadline."""
        now = self.clock()
        for payload, sender in self.transport.drain():
            self.state.receive(payload, sender, now)
        self.state.tick(now)
        self._flush()
        return self.state.next_deadline()

    async def _loop(self) -> None:
        wake = self.transport.readable
        while True:
            delay = self._step() - self.clock()
            if delay > 0 and not wake.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await wake.wait()

    def _flush(self) -> None:
        for output in self.state.take_output():
            if isinstance(output, Send):
                sealed = self.transport.send(output.address, output.payload)
                if sealed is not None and self._group is not None:
                    self._group.create_task(self.transport.send_stream(output.address, sealed))
            elif isinstance(output, Exchange) and self._group is not None and output.address not in self._exchanges:
                self._exchanges.add(output.address)
                self._group.create_task(self._exchange(output))
        events = self.state.take_events()
        if not events:
            return
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()
        for event in events:
            _log_event(self.name, event)
            for queue in self._listeners:
                queue.put_nowait(event)

    async def _exchange(self, exchange: Exchange) -> None:
        address = f"{exchange.address[0]}:{exchange.address[1]}"
        try:
            answer = await self.transport.exchange(exchange.address,
                                                   wire.encode(self.state.local_state(exchange.join)))
            remote = wire.decode(answer)
            if not isinstance(remote, wire.PushPull):
                raise wire.MessageError("the answer to a push-pull is not a push-pull")
            self.state.merge(remote, self.clock())
            if exchange.join:
                log.info("gossip.joined", member=self.name, via=address, members=len(remote.members))
        except (OSError, TimeoutError, SealError, wire.MessageError, asyncio.IncompleteReadError) as error:
            self.state.stats["push_pull_failed"] += 1
            why = str(error) or type(error).__name__
            now = self.clock()
            if exchange.join and now >= self._join_warned.get(exchange.address, 0.0):
                # Alone and no answer: worth saying, but not every second.
                self._join_warned[exchange.address] = now + JOIN_WARNING_INTERVAL
                log.warning("gossip.join_failed", member=self.name, address=address, error=why)
            else:
                log.debug("gossip.push_pull_failed", member=self.name, address=address, join=exchange.join,
                          error=why)
        finally:
            self._exchanges.discard(exchange.address)
            self.transport.readable.set()

    async def _on_stream(self, plaintext: bytes, peer: Address) -> bytes | None:
        now = self.clock()
        try:
            if plaintext[:1] == bytes([wire.Kind.PUSH_PULL]):
                remote = wire.decode(plaintext)
                assert isinstance(remote, wire.PushPull)
                answer = wire.encode(self.state.local_state(False))
                self.state.merge(remote, now)
                return answer
            self.state.stats["large_messages_received"] += 1
            self.state.receive(plaintext, peer, now)
            return None
        finally:
            self.transport.readable.set()

    async def _resolve_seeds(self) -> None:
        """Turn the join addresses into IP addresses (host names may not resolve yet: retry)."""
        entries = [parse_join(entry) for entry in self.config.join]
        own = {self.state.me.addr, (self.config.bind_address, self.transport.port)}
        loop = asyncio.get_running_loop()
        while True:
            resolved: list[Address] = []
            missing = []
            for host, port in entries:
                try:
                    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
                except OSError:
                    missing.append(host)
                    continue
                for info in infos[:1]:
                    resolved.append((str(info[4][0]), int(info[4][1])))
            self.state.set_seeds((seed for seed in dict.fromkeys(resolved) if seed not in own), self.clock())
            self.transport.readable.set()
            if not missing:
                return
            log.warning("gossip.join_address_unresolved", member=self.name, hosts=missing)
            await asyncio.sleep(SEED_RESOLVE_RETRY)

    async def _leave(self) -> None:
        """Tell the cluster we leave, and keep the loop going until it has been told (or time is up)."""
        self.state.leave(self.clock())
        deadline = self.clock() + self.config.leave_timeout
        wake = self.transport.readable
        while not self.state.left and self.clock() < deadline:
            delay = min(self._step(), deadline) - self.clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await wake.wait()
        log.info("gossip.left", member=self.name, told=self.state.left)


def _log_event(observer: str, event: MemberEvent) -> None:
    member = event.member
    fields = {"observer": observer, "member": member.name, "address": f"{member.address}:{member.port}",
              "incarnation": member.incarnation}
    if event.kind in (EventKind.FAILED, EventKind.SUSPECT):
        log.warning(f"gossip.member_{event.kind.value}", **fields)
    else:
        log.info(f"gossip.member_{event.kind.value}", **fields)
