"""The SWIM membership state machine with the Lifeguard refinements, without I/O.

Inputs are plain values: a packet's plaintext and where it came from (`receive`), a push-pull's
remote state (`merge`), and the clock (`tick(now)`). Outputs are taken: packets to send and TCP
exchanges to make (`take_output`), member events (`take_events`), and when to call `tick` next
(`next_deadline`). No sockets, no clock, no tasks: transport.py and memberlist.py host it.

Failure detection, every probe interval (stretched by the local health score):
    ping one member, round robin over a list shuffled once; if it is suspect, the ping carries the
    suspicion so it can refute at once (Lifeguard's "buddy system")
    no ack within half the probe timeout: ping it once more
    no ack within the probe timeout: ask indirect_checks other members to ping it for us (they
    nack if it does not answer them either), and ping it directly a third time
    no ack by the end of the interval (or every helper nacked): suspect it; the helpers' nacks
    count as confirmations

The override rules, for a member M with incarnation i (memberlist's; a higher incarnation always wins):
    alive(M, j)    accepted if j > i (or M is new, or M was dead/left and comes back at a new address)
    suspect(M, j)  accepted if j >= i and M is alive; confirms a running suspicion otherwise
    dead(M, j)     accepted if j >= i and M is not already dead or left; "left" if M sent it itself
    about us       a suspect or dead claim, or an alive claim that differs from what we are, is
                   refuted: our incarnation jumps past it and our alive message is gossiped
Every accepted change is gossiped on (piggybacked, a bounded number of times).
"""

from __future__ import annotations

import enum
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from agent.gossip import messages as wire
from agent.gossip.awareness import Awareness
from agent.gossip.broadcast import BroadcastQueue
from agent.gossip.config import GossipConfig, expected_confirmations, suspicion_timeout
from agent.gossip.keyring import OVERHEAD as SEAL_OVERHEAD
from agent.gossip.suspicion import Suspicion

Address = tuple[str, int]
Tags = wire.Tags
_SEQ_MASK = 0xFFFFFFFF
LEAVE_COPIES = 3  # copies of our "left" per live member before a graceful leave is done


class Status(enum.StrEnum):
    ALIVE = "alive"
    SUSPECT = "suspect"
    DEAD = "dead"
    LEFT = "left"


_WIRE_STATE = {status: wire.State[status.name] for status in Status}


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    address: str
    port: int
    incarnation: int
    status: Status
    since: float  # when the status last changed, on the state machine's clock
    tags: Tags = ()

    @property
    def addr(self) -> Address:
        return (self.address, self.port)

    @property
    def live(self) -> bool:
        """Alive or suspect: still probed, still counted."""
        return self.status in (Status.ALIVE, Status.SUSPECT)

    def tag(self, key: str) -> str:
        return next((value for k, value in self.tags if k == key), "")


class EventKind(enum.StrEnum):
    JOIN = "join"  # a new member, or one that had left comes back
    UPDATE = "update"  # an alive member's tags or address changed
    SUSPECT = "suspect"
    ALIVE = "alive"  # a suspect refuted the suspicion
    FAILED = "failed"  # declared dead
    RECOVERED = "recovered"  # a dead member is alive again
    LEAVE = "leave"  # left on purpose
    REAP = "reap"  # forgotten, long after it died or left


@dataclass(frozen=True, slots=True)
class MemberEvent:
    kind: EventKind
    member: Member
    at: float


@dataclass(frozen=True, slots=True)
class Send:
    """A packet (plaintext, one or several messages) for the transport to seal and send by UDP."""
    address: Address
    payload: bytes


@dataclass(frozen=True, slots=True)
class Exchange:
    """A push-pull for the transport to make over TCP; its answer comes back through `merge`."""
    address: Address
    join: bool


Output = Send | Exchange


@dataclass(slots=True)
class _Probe:
    seq: int
    target: str
    retry_at: float  # no ack yet: ping once more, directly
    direct_deadline: float  # still none: ask others to probe it
    deadline: float  # still none: suspect it
    retried: bool = False
    indirect: bool = False
    helpers: dict[Address, str] = field(default_factory=dict)
    nackers: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Relay:
    """An indirect ping we make for another member: its ack is passed back, or a nack at the deadline."""
    requester: Address
    seq: int
    nack: bool
    deadline: float


class GossipState:
    def __init__(self, config: GossipConfig, now: float, rng: random.Random | None = None) -> None:
        self.config = config
        self.name = config.name
        self.rng = rng or random.Random(config.seed)
        address, port = config.advertise
        self.members: dict[str, Member] = {
            self.name: Member(self.name, address, port, 1, Status.ALIVE, now, tuple(config.tags))}
        self.awareness = Awareness(config.awareness_max_multiplier)
        self.broadcasts = BroadcastQueue(config.retransmit_mult)
        self.suspicions: dict[str, Suspicion] = {}
        self.seeds: tuple[Address, ...] = ()
        self.leaving = False
        self.stats: Counter[str] = Counter()
        self._order: list[str] = []
        self._order_index = 0
        self._probe: _Probe | None = None
        self._relays: dict[int, _Relay] = {}
        self._seq = self.rng.randrange(_SEQ_MASK)
        self._outbox: list[Output] = []
        self._events: list[MemberEvent] = []
        # Random phases, so members started together do not probe and gossip in lockstep.
        self._next_probe = now + self.rng.uniform(0, config.probe_interval)
        self._next_gossip = now
        self._next_push_pull = now + self.rng.uniform(0, config.push_pull_interval)
        self._next_rejoin = now
        self._next_reconnect = now + config.reconnect_interval
        self._next_reap = now

    # ------------------------------------------------------------------ views

    @property
    def me(self) -> Member:
        return self.members[self.name]

    def snapshot(self) -> list[Member]:
        return sorted(self.members.values(), key=lambda m: m.name)

    def live_count(self) -> int:
        return sum(1 for m in self.members.values() if m.live)

    @property
    def left(self) -> bool:
        """We are leaving and every live member has been sent the news about three times (or it
        went out as often as any news does, or there is no one left to tell)."""
        if not self.leaving:
            return False
        peers = sum(1 for name, m in self.members.items() if name != self.name and m.live)
        return (not self.broadcasts.pending(self.name) or peers <= 0
                or self.broadcasts.transmits(self.name) >= LEAVE_COPIES * peers)

    def take_output(self) -> list[Output]:
        out, self._outbox = self._outbox, []
        return out

    def take_events(self) -> list[MemberEvent]:
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float:
        times = [self._next_push_pull, self._next_reconnect, self._next_reap]
        probe = self._probe
        if probe is None:
            times.append(self._next_probe)
        else:
            times.append(probe.retry_at if not probe.retried else probe.direct_deadline if not probe.indirect
                         else probe.deadline)
        if self.broadcasts:
            times.append(self._next_gossip)
        if self.seeds and not self._has_peers():
            times.append(self._next_rejoin)
        times += [relay.deadline for relay in self._relays.values()]
        times += [suspicion.deadline for suspicion in self.suspicions.values()]
        return min(times)

    # ------------------------------------------------------------------ inputs

    def receive(self, payload: bytes, sender: Address, now: float) -> None:
        """A packet's plaintext, from `sender` (the UDP source, where answers go)."""
        try:
            parts = wire.decode_packet(payload)
        except wire.MessageError:
            self.stats["malformed"] += 1
            return
        self.stats["packets_received"] += 1
        for message in parts:
            self._handle(message, sender, now)

    def merge(self, remote: wire.PushPull, now: float) -> None:
        """The state another member sent in a push-pull. Its "dead" is only a suspicion here: the
        member gets its chance to refute before we declare it dead ourselves (memberlist's rule)."""
        for entry in remote.members:
            if entry.state == wire.State.ALIVE:
                self._alive(wire.Alive(entry.incarnation, entry.name, entry.address, entry.port, entry.tags), now)
            elif entry.state == wire.State.LEFT:
                self._dead(wire.Dead(entry.incarnation, entry.name, entry.name), now)
            else:
                self._suspect(wire.Suspect(entry.incarnation, entry.name, self.name), now)
        self.stats["push_pulls"] += 1

    def local_state(self, join: bool) -> wire.PushPull:
        return wire.PushPull(join, tuple(
            wire.PushPullEntry(m.name, m.address, m.port, m.incarnation, _WIRE_STATE[m.status], m.tags)
            for m in self.snapshot()))

    def set_seeds(self, seeds: Iterable[Address], now: float) -> None:
        """The addresses to join through (resolved); tried at once, then while we are alone."""
        self.seeds = tuple(seeds)
        self._next_rejoin = now

    def leave(self, now: float) -> None:
        """Leave on purpose: tell everyone we left (not failed); `left` turns True once it is sent."""
        if self.leaving:
            return
        self.leaving = True
        self._probe = None
        me = self.me
        self._dead(wire.Dead(me.incarnation, self.name, self.name), now)

    def set_tags(self, tags: Tags, now: float) -> None:
        me = self.me
        if tuple(tags) == me.tags:
            return
        self.members[self.name] = replace(me, incarnation=me.incarnation + 1, tags=tuple(tags))
        self._broadcast_self(now)

    def tick(self, now: float) -> None:
        """Do whatever is due at `now`: probe steps, relays, suspicions, gossip, push-pull, upkeep."""
        self._tick_probe(now)
        for seq, relay in list(self._relays.items()):
            if now >= relay.deadline:
                del self._relays[seq]
                if relay.nack:
                    self._send(relay.requester, [wire.encode(wire.Nack(relay.seq))])
        for name, suspicion in list(self.suspicions.items()):
            member = self.members.get(name)
            if member is None or member.status != Status.SUSPECT:
                del self.suspicions[name]
            elif suspicion.expired(now):
                self.stats["suspicions_expired"] += 1
                self._dead(wire.Dead(member.incarnation, name, self.name), now)
        if now >= self._next_gossip:
            self._gossip(now)
        if now >= self._next_push_pull:
            self._next_push_pull = now + self.config.push_pull_interval
            peer = self._random_members(1, lambda m: m.status == Status.ALIVE)
            if peer and not self.leaving:
                self._outbox.append(Exchange(peer[0].addr, join=False))
        if now >= self._next_rejoin:
            self._next_rejoin = now + self.config.rejoin_interval
            if self.seeds and not self._has_peers() and not self.leaving:
                self._outbox += [Exchange(seed, join=True) for seed in self.seeds]
        if now >= self._next_reconnect:
            self._next_reconnect = now + self.config.reconnect_interval
            dead = self._random_members(1, lambda m: m.status == Status.DEAD)
            if dead and not self.leaving:
                self._outbox.append(Exchange(dead[0].addr, join=False))
        if now >= self._next_reap:
            self._next_reap = now + 1.0
            self._reap(now)

    # ------------------------------------------------------------------ messages

    def _handle(self, message: wire.Message, sender: Address, now: float) -> None:
        match message:
            case wire.Ping(seq, target):
                if target != self.name:
                    self.stats["misdirected"] += 1  # someone else had this address; no ack for them
                    return
                self._send(sender, [wire.encode(wire.Ack(seq))])
            case wire.IndirectPing(seq, target, address, port, nack):
                local = self._next_seq()
                self._relays[local] = _Relay(sender, seq, nack, now + self.config.probe_timeout)
                self._send((address, port), [wire.encode(wire.Ping(local, target))])
            case wire.Ack(seq):
                if self._probe is not None and seq == self._probe.seq:
                    self._probe = None
                    self.awareness.apply(-1)
                    return
                relay = self._relays.pop(seq, None)
                if relay is not None:
                    self._send(relay.requester, [wire.encode(wire.Ack(relay.seq))])
            case wire.Nack(seq):
                probe = self._probe
                if probe is not None and seq == probe.seq and sender in probe.helpers:
                    probe.nackers.add(probe.helpers[sender])
                    if len(probe.nackers) == len(probe.helpers):
                        # Every helper tried and got no answer either: the round is over, no
                        # point waiting out the interval for an ack that none of them saw.
                        self._probe = None
                        self._probe_failed(probe, now)
            case wire.Alive():
                self._alive(message, now)
            case wire.Suspect():
                self._suspect(message, now)
            case wire.Dead():
                self._dead(message, now)
            case wire.PushPull():
                self.stats["malformed"] += 1  # push-pull travels over TCP only

    def _alive(self, alive: wire.Alive, now: float) -> None:
        member = self.members.get(alive.node)
        if alive.node == self.name:
            me = self.me
            if self.leaving or alive.incarnation < me.incarnation:
                return
            if alive.incarnation == me.incarnation and (alive.address, alive.port, alive.tags) == (
                    me.address, me.port, me.tags):
                return
            self._refute(alive.incarnation, now)  # an older life of ours, or a stranger using our name
            return
        if member is None:
            fresh = Member(alive.node, alive.address, alive.port, alive.incarnation, Status.ALIVE, now, alive.tags)
            self.members[alive.node] = fresh
            position = self.rng.randint(0, len(self._order))
            self._order.insert(position, alive.node)
            if position < self._order_index:
                self._order_index += 1
            self._broadcast(alive.node, wire.encode(alive), now)
            self._event(EventKind.JOIN, fresh, now)
            return
        moved = (alive.address, alive.port) != member.addr
        if moved and member.live:
            self.stats["address_conflicts"] += 1  # two live members claim one name: keep the one we know
            return
        if not moved and alive.incarnation <= member.incarnation:
            return
        previous = member.status
        updated = replace(member, address=alive.address, port=alive.port, incarnation=alive.incarnation,
                          status=Status.ALIVE, since=member.since if previous == Status.ALIVE else now,
                          tags=alive.tags)
        self.members[alive.node] = updated
        self.suspicions.pop(alive.node, None)
        self._broadcast(alive.node, wire.encode(alive), now)
        if previous == Status.DEAD:
            self._event(EventKind.RECOVERED, updated, now)
        elif previous == Status.LEFT:
            self._event(EventKind.JOIN, updated, now)
        elif previous == Status.SUSPECT:
            self._event(EventKind.ALIVE, updated, now)
        elif (member.address, member.port, member.tags) != (updated.address, updated.port, updated.tags):
            self._event(EventKind.UPDATE, updated, now)

    def _suspect(self, suspect: wire.Suspect, now: float, witnesses: Iterable[str] = ()) -> None:
        member = self.members.get(suspect.node)
        if member is None:
            return
        if suspect.incarnation < member.incarnation:
            if suspect.node == self.name:
                self._remind(now)
            return
        running = self.suspicions.get(suspect.node)
        if running is not None and suspect.incarnation > member.incarnation:
            # It refuted the suspicion we hold (we missed that) and is accused again: a new suspicion.
            del self.suspicions[suspect.node]
            member = replace(member, status=Status.ALIVE)
            self.members[suspect.node] = member
            running = None
        if running is not None:
            if running.confirm(suspect.accuser):
                self.stats["suspicions_confirmed"] += 1
                self._broadcast(suspect.node, wire.encode(suspect), now)  # so others can count it too
            for witness in witnesses:
                running.confirm(witness)
            return
        if member.status != Status.ALIVE:
            return
        if suspect.node == self.name:
            if not self.leaving:
                self._refute(suspect.incarnation, now)
            return
        self._broadcast(suspect.node, wire.encode(suspect), now)
        suspected = replace(member, incarnation=suspect.incarnation, status=Status.SUSPECT, since=now)
        self.members[suspect.node] = suspected
        members = self.live_count()
        # Lifeguard: a member in poor health (score > 0) waits longer before it accuses.
        minimum = self.awareness.scale(suspicion_timeout(self.config.suspicion_mult, members,
                                                         self.config.probe_interval))
        timer = Suspicion(suspect.accuser, expected_confirmations(self.config.suspicion_mult, members), minimum,
                          minimum * self.config.suspicion_max_timeout_mult, now)
        for witness in witnesses:
            timer.confirm(witness)
        self.suspicions[suspect.node] = timer
        self.stats["suspicions"] += 1
        self._event(EventKind.SUSPECT, suspected, now)

    def _dead(self, dead: wire.Dead, now: float) -> None:
        member = self.members.get(dead.node)
        if member is None:
            return
        if dead.incarnation < member.incarnation:
            if dead.node == self.name and not self.leaving:
                self._remind(now)
            return
        self.suspicions.pop(dead.node, None)
        if not member.live:
            return
        if dead.node == self.name and not self.leaving:
            self._refute(dead.incarnation, now)
            return
        self._broadcast(dead.node, wire.encode(dead), now)
        left = dead.accuser == dead.node
        gone = replace(member, incarnation=dead.incarnation, status=Status.LEFT if left else Status.DEAD, since=now)
        self.members[dead.node] = gone
        if dead.node != self.name:
            self.stats["left" if left else "deaths"] += 1
            self._event(EventKind.LEAVE if left else EventKind.FAILED, gone, now)

    def _refute(self, accused: int, now: float) -> None:
        me = self.me
        self.members[self.name] = replace(me, incarnation=max(me.incarnation, accused) + 1)
        self.awareness.apply(1)  # being accused is a sign that we are slow or badly connected
        self.stats["refutations"] += 1
        self._broadcast_self(now)

    def _remind(self, now: float) -> None:
        """Someone accuses an older incarnation of ours: they missed our refutation. Say again who
        we are (no new incarnation needed), or they would hold the stale suspicion until it expires."""
        if not self.broadcasts.pending(self.name):
            self.stats["reminders"] += 1
            self._broadcast_self(now)

    def _broadcast_self(self, now: float) -> None:
        me = self.me
        self._broadcast(self.name, wire.encode(wire.Alive(me.incarnation, me.name, me.address, me.port, me.tags)),
                        now)

    # ------------------------------------------------------------------ probing

    def _tick_probe(self, now: float) -> None:
        probe = self._probe
        if probe is not None and not probe.retried and now >= probe.retry_at:
            probe.retried = True
            target = self.members.get(probe.target)
            if target is not None and target.live:
                self._send(target.addr, [wire.encode(wire.Ping(probe.seq, target.name))])
        if probe is not None and not probe.indirect and now >= probe.direct_deadline:
            self._probe_indirectly(probe)
        probe = self._probe
        if probe is not None and now >= probe.deadline:
            self._probe = None
            self._probe_failed(probe, now)
        if self._probe is None and now >= self._next_probe and not self.leaving:
            interval = self.awareness.scale(self.config.probe_interval)
            self._next_probe = now + interval
            target = self._next_target()
            if target is not None:
                self._start_probe(target, now, interval)

    def _start_probe(self, target: Member, now: float, interval: float) -> None:
        seq = self._next_seq()
        timeout = self.awareness.scale(self.config.probe_timeout)
        self._probe = _Probe(seq, target.name, retry_at=now + timeout / 2, direct_deadline=now + timeout,
                             deadline=now + interval)
        parts = [wire.encode(wire.Ping(seq, target.name))]
        if target.status == Status.SUSPECT:
            parts.append(wire.encode(wire.Suspect(target.incarnation, target.name, self.name)))
        self.stats["probes"] += 1
        self._send(target.addr, parts)

    def _probe_indirectly(self, probe: _Probe) -> None:
        probe.indirect = True
        self.stats["probes_indirect"] += 1
        target = self.members.get(probe.target)
        if target is None or not target.live:
            self._probe = None
            return
        helpers = self._random_members(self.config.indirect_checks,
                                       lambda m: m.status == Status.ALIVE and m.name != target.name)
        request = wire.encode(wire.IndirectPing(probe.seq, target.name, target.address, target.port, nack=True))
        for helper in helpers:
            probe.helpers[helper.addr] = helper.name
            self._send(helper.addr, [request])
        # A third direct try beside the indirect ones: the UDP stand-in for memberlist's TCP
        # fallback ping, whose lost SYN would cost a second, longer than a probe interval here.
        self._send(target.addr, [wire.encode(wire.Ping(probe.seq, target.name))])

    def _probe_failed(self, probe: _Probe, now: float) -> None:
        self.stats["probes_failed"] += 1
        # Lifeguard: helpers that nack show that we are fine and the target is not answering; a
        # missing nack means our own packets are getting lost, so our health score goes up.
        expected = len(probe.helpers)
        self.awareness.apply(expected - len(probe.nackers) if expected else 1)
        target = self.members.get(probe.target)
        if target is None or not target.live:
            return
        # The helpers that nacked tried the target on our behalf and got nothing: independent witnesses.
        self._suspect(wire.Suspect(target.incarnation, target.name, self.name), now, witnesses=probe.nackers)

    def _next_target(self) -> Member | None:
        """The next live member in our probe order. The order is shuffled once and kept (members
        that join are put in at random places), so each member is probed by us exactly once per
        round: at most n - 1 intervals apart. (memberlist reshuffles every round, which lets two
        probes of one member be almost two rounds apart, and a death wait that long to be noticed.)"""
        for _ in range(len(self._order) + 1):
            if self._order_index >= len(self._order):
                self._renew_order()
                if not self._order:
                    return None
            name = self._order[self._order_index]
            self._order_index += 1
            member = self.members.get(name)
            if member is not None and member.live and name != self.name:
                return member
        return None

    def _renew_order(self) -> None:
        kept = [name for name in self._order if name in self.members and self.members[name].live]
        for name, member in self.members.items():
            if name != self.name and member.live and name not in kept:
                kept.insert(self.rng.randint(0, len(kept)), name)
        self._order = kept
        self._order_index = 0

    # ------------------------------------------------------------------ dissemination and upkeep

    def _broadcast(self, key: str, message: bytes, now: float) -> None:
        self.broadcasts.queue(key, message)
        self._next_gossip = min(self._next_gossip, now)  # news goes out at once

    def _gossip(self, now: float) -> None:
        self._next_gossip = now + self.config.gossip_interval
        if not self.broadcasts:
            return
        dead_window = self.config.gossip_to_the_dead_time
        targets = self._random_members(self.config.gossip_nodes, lambda m: m.live or (
            m.status == Status.DEAD and now - m.since < dead_window))
        members = self.live_count()
        for target in targets:
            parts = self.broadcasts.take(self._budget(0), wire.COMPOUND_PART, members, oversize=True)
            if not parts:
                break
            self.stats["gossip_packets"] += 1
            self._outbox.append(Send(target.addr, wire.compound(parts)))

    def _budget(self, used: int) -> int:
        return self.config.udp_buffer_size - SEAL_OVERHEAD - wire.COMPOUND_HEADER - used

    def _send(self, address: Address, parts: Sequence[bytes]) -> None:
        """Send `parts`, with whatever queued news fits beside them."""
        used = sum(len(part) + wire.COMPOUND_PART for part in parts)
        extra = self.broadcasts.take(self._budget(used), wire.COMPOUND_PART, self.live_count())
        self._outbox.append(Send(address, wire.compound([*parts, *extra])))

    def _reap(self, now: float) -> None:
        for name, member in list(self.members.items()):
            limit = {Status.DEAD: self.config.reconnect_timeout, Status.LEFT: self.config.tombstone_timeout}.get(
                member.status)
            if name != self.name and limit is not None and now - member.since > limit:
                del self.members[name]
                self.suspicions.pop(name, None)
                self._event(EventKind.REAP, member, now)

    def _random_members(self, count: int, wanted: Callable[[Member], bool]) -> list[Member]:
        chosen = [m for name, m in self.members.items() if name != self.name and wanted(m)]
        self.rng.shuffle(chosen)
        return chosen[:count]

    def _has_peers(self) -> bool:
        return any(m.live for name, m in self.members.items() if name != self.name)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & _SEQ_MASK
        return self._seq

    def _event(self, kind: EventKind, member: Member, now: float) -> None:
        self._events.append(MemberEvent(kind, member, now))
