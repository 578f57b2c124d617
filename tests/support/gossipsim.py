"""A discrete-event simulation of a gossip cluster: GossipState members (the real state machine)
on a simulated network with latency, random loss and killed members, on a simulated clock.

Used by unit tests to check whole-cluster behaviour (convergence, detection, no false deaths under
loss) in milliseconds of real time, deterministically from a seed."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from agent.gossip.config import GossipConfig
from agent.gossip.state import Address, EventKind, Exchange, GossipState, MemberEvent, Send


@dataclass
class SimMember:
    state: GossipState
    address: Address
    up: bool = True
    wake_at: float = -1.0
    events: list[MemberEvent] = field(default_factory=list)


class Simulation:
    def __init__(self, count: int, *, loss: float = 0.0, latency: float = 0.0005, jitter: float = 0.002,
                 seed: int = 1, config: GossipConfig | None = None) -> None:
        self.rng = random.Random(seed)
        self.loss = loss
        self.latency = latency
        self.jitter = jitter  # mean extra delay (exponential) before a member handles something: a busy loop
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self.base = config or GossipConfig(name="template")
        self.members: dict[str, SimMember] = {}
        self.packets = 0
        self.cut: set[frozenset[str]] = set()  # pairs of members that cannot reach each other
        for index in range(count):
            self.add(f"node{index}", join=index > 0)

    def add(self, name: str, *, join: bool = True, address: Address | None = None) -> SimMember:
        address = address or (f"10.0.0.{len(self.members) + 10}", 7946)
        config = replace(self.base, name=name, bind_address=address[0], bind_port=address[1],
                         seed=self.rng.randrange(1 << 30))
        member = SimMember(GossipState(config, self.now), address)
        if join and self.members:
            first = next(iter(self.members.values()))
            member.state.seeds = (first.address,)
        self.members[name] = member
        self._wake(member)
        return member

    # ------------------------------------------------------------------ the clock

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._counter), action))

    def run_until(self, end: float) -> None:
        while self._queue and self._queue[0][0] <= end:
            when, _, action = heapq.heappop(self._queue)
            self.now = when
            action()
        self.now = end

    def _delay(self) -> float:
        return self.rng.expovariate(1 / self.jitter) if self.jitter > 0 else 0.0

    def _wake(self, member: SimMember) -> None:
        deadline = member.state.next_deadline()
        if member.wake_at == deadline:
            return
        member.wake_at = deadline

        def fire() -> None:
            if not member.up or member.wake_at != deadline:
                return
            member.wake_at = -1.0
            member.state.tick(self.now)
            self._flush(member)

        self.at(max(deadline, self.now), fire)

    # ------------------------------------------------------------------ the network

    def by_address(self, address: Address) -> SimMember | None:
        return next((m for m in self.members.values() if m.address == address), None)

    def _flush(self, member: SimMember) -> None:
        for output in member.state.take_output():
            if isinstance(output, Send):
                self.packets += 1
                if self.rng.random() < self.loss:
                    continue
                self._deliver(member.address, output)
            elif isinstance(output, Exchange):
                self._exchange(member, output)
        member.events += member.state.take_events()
        self._wake(member)

    def _deliver(self, source: Address, send: Send) -> None:
        target = self.by_address(send.address)
        sender = self.by_address(source)
        if target is None or sender is None or self._is_cut(sender, target):
            return
        arrival = self.now + self.latency + self._delay()
        # The receiver's own loss (inbound hook) as well as the sender's (outbound hook).
        if self.rng.random() < self.loss:
            return

        def receive() -> None:
            if target.up:
                target.state.receive(send.payload, source, self.now)
                target.state.tick(self.now)
                self._flush(target)

        self.at(arrival, receive)

    def _exchange(self, member: SimMember, exchange: Exchange) -> None:
        target = self.by_address(exchange.address)
        if target is None or not target.up or self._is_cut(member, target):
            return
        request = member.state.local_state(exchange.join)

        def serve() -> None:
            if not target.up:
                return
            answer = target.state.local_state(False)
            target.state.merge(request, self.now)
            self._flush(target)

            def back() -> None:
                if member.up:
                    member.state.merge(answer, self.now)
                    self._flush(member)

            self.at(self.now + 0.002, back)

        self.at(self.now + 0.002 + self._delay(), serve)

    # ------------------------------------------------------------------ faults and views

    def _is_cut(self, one: SimMember, other: SimMember) -> bool:
        return frozenset((one.state.name, other.state.name)) in self.cut

    def kill(self, name: str) -> None:
        self.members[name].up = False

    def restart(self, name: str) -> SimMember:
        """A fresh process under the same name and address (incarnation 1 again), joining the first member."""
        old = self.members.pop(name)
        old.up = False
        return self.add(name, address=old.address)

    def view(self, observer: str, name: str) -> str:
        member = self.members[observer].state.members.get(name)
        return member.status.value if member else "unknown"

    def converged(self) -> bool:
        alive = [m for m in self.members.values() if m.up]
        return all(all(self.view(o, t.state.name) == "alive" for t in alive)
                   for o in (m.state.name for m in alive))

    def failures(self, kind: EventKind = EventKind.FAILED) -> list[tuple[str, str, float]]:
        """(observer, subject, time) of every event of `kind`."""
        return [(name, event.member.name, event.at) for name, m in self.members.items() for event in m.events
                if event.kind == kind]
