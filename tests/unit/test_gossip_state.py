"""The SWIM/Lifeguard state machine, driven with plain values: every override rule, refutation,
the probe round (direct, indirect, nacks, the suspect told in the ping), suspicion expiry,
dissemination, push-pull merging, graceful leave, and membership upkeep."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent.gossip import messages as wire
from agent.gossip.config import GossipConfig
from agent.gossip.state import Address, EventKind, Exchange, GossipState, Send

ME = ("10.0.0.1", 7946)
ADDRESSES = {"me": ME, "a": ("10.0.0.2", 7946), "b": ("10.0.0.3", 7946), "c": ("10.0.0.4", 7946),
             "m": ("10.0.0.9", 7946)}
CONFIG = GossipConfig(name="me", bind_address=ME[0], bind_port=ME[1], seed=7)


def machine(**overrides: object) -> GossipState:
    return GossipState(replace(CONFIG, **overrides), now=0.0)  # type: ignore[arg-type]


def feed(state: GossipState, *messages: wire.Message, sender: Address = ("10.0.0.200", 7946),
         now: float = 0.0) -> None:
    state.receive(wire.compound([wire.encode(m) for m in messages]), sender, now)


def alive(name: str, incarnation: int, tags: wire.Tags = (), address: Address | None = None) -> wire.Alive:
    host, port = address or ADDRESSES[name]
    return wire.Alive(incarnation, name, host, port, tags)


def with_member(state: GossipState, name: str, incarnation: int = 1, status: str = "alive") -> None:
    """Put member `name` into `state` with that incarnation and status, then forget the side effects."""
    feed(state, alive(name, incarnation))
    if status == "suspect":
        feed(state, wire.Suspect(incarnation, name, "x"))
    elif status == "dead":
        feed(state, wire.Dead(incarnation, name, "x"))
    elif status == "left":
        feed(state, wire.Dead(incarnation, name, name))
    assert state.members[name].status == status
    state.take_events()
    state.take_output()
    state.broadcasts.clear()


def sent(state: GossipState) -> list[tuple[Address, list[wire.Message]]]:
    return [(out.address, wire.decode_packet(out.payload)) for out in state.take_output() if isinstance(out, Send)]


def kinds(state: GossipState) -> list[tuple[EventKind, str]]:
    return [(event.kind, event.member.name) for event in state.take_events()]


# ------------------------------------------------------------------ override rules about others

ALIVE_RULES = [
    # (known status, known incarnation, alive incarnation) -> (status, incarnation, event)
    ("unknown", 0, 1, "alive", 1, EventKind.JOIN),
    ("alive", 5, 6, "alive", 6, None),
    ("alive", 5, 5, "alive", 5, None),
    ("alive", 5, 4, "alive", 5, None),
    ("suspect", 5, 6, "alive", 6, EventKind.ALIVE),  # refuted
    ("suspect", 5, 5, "suspect", 5, None),  # only a higher incarnation refutes
    ("dead", 5, 6, "alive", 6, EventKind.RECOVERED),
    ("dead", 5, 5, "dead", 5, None),
    ("left", 5, 6, "alive", 6, EventKind.JOIN),  # came back after leaving
    ("left", 5, 4, "left", 5, None),
]


@pytest.mark.parametrize(("status", "known", "incoming", "result", "incarnation", "event"), ALIVE_RULES)
def test_alive_overrides_only_with_a_higher_incarnation(status: str, known: int, incoming: int, result: str,
                                                        incarnation: int, event: EventKind | None) -> None:
    state = machine()
    if status != "unknown":
        with_member(state, "a", known, status)
    feed(state, alive("a", incoming))
    assert (state.members["a"].status, state.members["a"].incarnation) == (result, incarnation)
    assert kinds(state) == ([(event, "a")] if event else [])
    changed = (status, known) != (result, incarnation)
    assert state.broadcasts.pending("a") is changed  # what changed is gossiped on; the rest is not


SUSPECT_RULES = [
    ("alive", 5, 5, "suspect", 5, EventKind.SUSPECT),
    ("alive", 5, 6, "suspect", 6, EventKind.SUSPECT),
    ("alive", 5, 4, "alive", 5, None),  # an old accusation, already refuted
    ("suspect", 5, 5, "suspect", 5, None),  # a confirmation, not a new suspicion
    ("dead", 5, 6, "dead", 5, None),
    ("left", 5, 6, "left", 5, None),
]


@pytest.mark.parametrize(("status", "known", "incoming", "result", "incarnation", "event"), SUSPECT_RULES)
def test_suspect_applies_to_a_live_member_at_its_incarnation_or_later(status: str, known: int, incoming: int,
                                                                       result: str, incarnation: int,
                                                                       event: EventKind | None) -> None:
    state = machine()
    with_member(state, "a", known, status)
    feed(state, wire.Suspect(incoming, "a", "b"))
    assert (state.members["a"].status, state.members["a"].incarnation) == (result, incarnation)
    assert kinds(state) == ([(event, "a")] if event else [])


DEAD_RULES = [
    ("alive", 5, 5, "b", "dead", 5, EventKind.FAILED),
    ("alive", 5, 6, "b", "dead", 6, EventKind.FAILED),
    ("alive", 5, 4, "b", "alive", 5, None),
    ("suspect", 5, 5, "b", "dead", 5, EventKind.FAILED),
    ("suspect", 5, 6, "b", "dead", 6, EventKind.FAILED),
    ("dead", 5, 6, "b", "dead", 5, None),  # already dead
    ("left", 5, 6, "b", "left", 5, None),
    ("alive", 5, 5, "a", "left", 5, EventKind.LEAVE),  # it said so itself: a graceful leave
    ("suspect", 5, 5, "a", "left", 5, EventKind.LEAVE),
    ("dead", 5, 5, "a", "dead", 5, None),  # declared dead before its leave arrived
]


@pytest.mark.parametrize(("status", "known", "incoming", "accuser", "result", "incarnation", "event"), DEAD_RULES)
def test_dead_from_another_is_a_failure_and_from_itself_a_leave(status: str, known: int, incoming: int,
                                                                 accuser: str, result: str, incarnation: int,
                                                                 event: EventKind | None) -> None:
    state = machine()
    with_member(state, "a", known, status)
    feed(state, wire.Dead(incoming, "a", accuser))
    assert (state.members["a"].status, state.members["a"].incarnation) == (result, incarnation)
    assert kinds(state) == ([(event, "a")] if event else [])
    assert ("a" in state.suspicions) is (result == "suspect")


@pytest.mark.parametrize("message", [wire.Suspect(1, "ghost", "a"), wire.Dead(1, "ghost", "a")])
def test_news_about_unknown_members_is_ignored(message: wire.Message) -> None:
    state = machine()
    feed(state, message)
    assert "ghost" not in state.members
    assert kinds(state) == []


def test_a_tag_change_is_an_update_event() -> None:
    state = machine()
    with_member(state, "a", 3)
    feed(state, alive("a", 4, tags=(("role", "worker"),)))
    assert kinds(state) == [(EventKind.UPDATE, "a")]
    assert state.members["a"].tag("role") == "worker"


def test_a_second_live_member_claiming_a_name_at_another_address_is_refused() -> None:
    state = machine()
    with_member(state, "a", 3)
    feed(state, alive("a", 9, address=("10.9.9.9", 7946)))
    assert state.members["a"].addr == ADDRESSES["a"] and state.members["a"].incarnation == 3
    assert state.stats["address_conflicts"] == 1


@pytest.mark.parametrize("status", ["dead", "left"])
def test_a_dead_or_left_member_may_come_back_at_a_new_address_with_any_incarnation(status: str) -> None:
    state = machine()
    with_member(state, "a", 7, status)
    feed(state, alive("a", 1, address=("10.9.9.9", 7946)))
    member = state.members["a"]
    assert (member.status, member.addr, member.incarnation) == ("alive", ("10.9.9.9", 7946), 1)


# ------------------------------------------------------------------ about ourselves

@pytest.mark.parametrize(("message", "incarnation"), [
    (wire.Suspect(1, "me", "a"), 2),
    (wire.Suspect(6, "me", "a"), 7),  # beat the accusation, whatever it says
    (wire.Dead(1, "me", "a"), 2),
    (wire.Dead(3, "me", "a"), 4),
    (wire.Alive(1, "me", ME[0], ME[1], (("role", "impostor"),)), 2),  # same incarnation, other data
    (wire.Alive(5, "me", ME[0], ME[1], ()), 6),  # an older life of ours with a higher number
])
def test_accusations_about_ourselves_are_refuted_with_a_higher_incarnation(message: wire.Message,
                                                                          incarnation: int) -> None:
    state = machine()
    feed(state, message)
    assert state.me.status == "alive" and state.me.incarnation == incarnation
    assert state.awareness.score == 1  # being accused hints that we are the slow one
    assert state.stats["refutations"] == 1
    assert state.broadcasts.pending("me", wire.encode(wire.Alive(incarnation, "me", ME[0], ME[1], ())))


def test_our_own_alive_gossiped_back_changes_nothing() -> None:
    state = machine()
    feed(state, wire.Alive(1, "me", ME[0], ME[1], ()))
    assert state.me.incarnation == 1 and state.stats["refutations"] == 0


@pytest.mark.parametrize("message", [wire.Suspect(1, "me", "a"), wire.Dead(1, "me", "a")])
def test_a_stale_accusation_gets_our_current_incarnation_again_without_a_new_one(message: wire.Message) -> None:
    state = machine()
    feed(state, wire.Suspect(1, "me", "b"))  # refuted: incarnation 2
    state.broadcasts.clear()
    feed(state, message)  # someone still works from incarnation 1: they missed the refutation
    assert state.me.incarnation == 2
    assert state.stats["reminders"] == 1
    assert state.broadcasts.pending("me", wire.encode(wire.Alive(2, "me", ME[0], ME[1], ())))


def test_a_new_accusation_at_a_higher_incarnation_replaces_a_stale_suspicion() -> None:
    state = machine()
    with_member(state, "a", 3, "suspect")  # we missed its refutation (4)...
    feed(state, wire.Suspect(4, "a", "b"), now=2.0)  # ...and it is accused again at 4
    assert state.members["a"].incarnation == 4
    assert state.suspicions["a"].start == 2.0


# ------------------------------------------------------------------ probing

def three_members() -> GossipState:
    state = machine()
    with_member(state, "a")
    with_member(state, "b")
    return state


def start_probe(state: GossipState) -> tuple[str, int, float]:
    """Tick until a probe goes out: (target, seq, when)."""
    now = state._next_probe
    state.tick(now)
    [(address, messages)] = [item for item in sent(state) if isinstance(item[1][0], wire.Ping)]
    ping = messages[0]
    assert isinstance(ping, wire.Ping)
    assert ADDRESSES[ping.target] == address
    return ping.target, ping.seq, now


def test_an_acked_probe_lowers_the_health_score() -> None:
    state = three_members()
    state.awareness.apply(2)
    target, seq, now = start_probe(state)
    feed(state, wire.Ack(seq), sender=ADDRESSES[target], now=now + 0.01)
    state.tick(now + 1)
    assert state.awareness.score == 1
    assert state.members[target].status == "alive"


def test_a_probe_without_ack_goes_indirect_then_suspects_with_nacks_as_witnesses() -> None:
    state = three_members()
    target, seq, now = start_probe(state)
    helper = "b" if target == "a" else "a"
    state.tick(now + 0.099)
    assert sent(state) == []
    state.tick(now + 0.1)  # half the probe timeout: one more direct try first, on its own
    assert sent(state) == [(ADDRESSES[target], [wire.Ping(seq, target)])]
    state.tick(now + 0.199)
    assert sent(state) == []
    state.tick(now + 0.2)  # the probe timeout: ask the helper, and try the target once more
    assert sorted(sent(state)) == sorted([
        (ADDRESSES[helper], [wire.IndirectPing(seq, target, *ADDRESSES[target], nack=True)]),
        (ADDRESSES[target], [wire.Ping(seq, target)])])
    feed(state, wire.Nack(seq), sender=ADDRESSES[helper], now=now + 0.41)  # every helper nacked: over
    assert state.members[target].status == "suspect"
    assert state.awareness.score == 0  # the helper answered: we are fine, the target is not
    suspicion = state.suspicions[target]
    assert suspicion.confirmations == 1  # the helper's nack confirms it: minimum timeout at once
    assert suspicion.deadline == pytest.approx(now + 0.41 + 1.25)
    state.tick(now + 0.41)  # news goes out at once
    assert all(wire.Suspect(1, target, "me") in messages for _, messages in sent(state))


def test_a_probe_without_ack_or_nack_raises_the_health_score_and_waits_longer() -> None:
    state = three_members()
    target, _seq, now = start_probe(state)
    state.tick(now + 0.2)
    state.tick(now + 0.5)  # end of the interval, no nack: our own packets may be what is lost
    assert state.awareness.score == 1
    suspicion = state.suspicions[target]
    assert suspicion.confirmations == 0
    assert suspicion.minimum == pytest.approx(2.5)  # (score 1 + 1) x 1.25 s
    assert suspicion.deadline == pytest.approx(now + 0.5 + 6 * 2.5)  # no witness: the maximum


def test_an_indirect_ack_saves_the_target() -> None:
    state = three_members()
    target, seq, now = start_probe(state)
    helper = "b" if target == "a" else "a"
    state.tick(now + 0.2)
    feed(state, wire.Ack(seq), sender=ADDRESSES[helper], now=now + 0.3)
    state.tick(now + 0.6)
    assert state.members[target].status == "alive"
    assert state.stats["probes_failed"] == 0


def test_a_suspect_is_told_of_the_suspicion_in_the_ping_itself() -> None:
    state = machine()
    with_member(state, "a", 4, "suspect")
    state.tick(state._next_probe)
    [(address, messages)] = sent(state)
    assert address == ADDRESSES["a"]
    assert isinstance(messages[0], wire.Ping) and messages[0].target == "a"
    assert messages[1:] == [wire.Suspect(4, "a", "me")]  # Lifeguard's buddy system: it can refute at once


def test_probes_go_round_robin_each_member_once_per_round() -> None:
    state = machine()
    for name in ("a", "b", "c"):
        with_member(state, name)
    seen = []
    for _ in range(9):
        target, seq, now = start_probe(state)
        feed(state, wire.Ack(seq), sender=ADDRESSES[target], now=now)
        seen.append(target)
    rounds = [seen[i:i + 3] for i in range(0, 9, 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)
    assert rounds[0] == rounds[1] == rounds[2]  # the order is kept, not reshuffled


def test_dead_and_left_members_are_not_probed() -> None:
    state = machine()
    with_member(state, "a", 1, "dead")
    with_member(state, "b", 1, "left")
    with_member(state, "c")
    for _ in range(3):
        target, seq, now = start_probe(state)
        assert target == "c"
        feed(state, wire.Ack(seq), sender=ADDRESSES["c"], now=now)


def test_a_ping_for_another_name_is_not_acked() -> None:
    state = machine()
    feed(state, wire.Ping(9, "someone-else"), sender=ADDRESSES["a"])
    assert sent(state) == []
    assert state.stats["misdirected"] == 1
    feed(state, wire.Ping(10, "me"), sender=ADDRESSES["a"])
    assert sent(state) == [(ADDRESSES["a"], [wire.Ack(10)])]


def test_we_relay_indirect_probes_and_their_acks() -> None:
    state = machine()
    feed(state, wire.IndirectPing(77, "b", *ADDRESSES["b"], nack=True), sender=ADDRESSES["a"], now=1.0)
    [(address, [ping])] = sent(state)
    assert address == ADDRESSES["b"] and isinstance(ping, wire.Ping) and ping.target == "b"
    feed(state, wire.Ack(ping.seq), sender=ADDRESSES["b"], now=1.05)
    assert sent(state) == [(ADDRESSES["a"], [wire.Ack(77)])]
    state.tick(2.0)
    assert sent(state) == []  # answered: no nack later


def test_we_nack_an_indirect_probe_whose_target_stays_silent() -> None:
    state = machine()
    feed(state, wire.IndirectPing(77, "b", *ADDRESSES["b"], nack=True), sender=ADDRESSES["a"], now=1.0)
    sent(state)
    state.tick(1.19)
    assert sent(state) == []
    state.tick(1.2)
    assert sent(state) == [(ADDRESSES["a"], [wire.Nack(77)])]


# ------------------------------------------------------------------ suspicion expiry

def test_an_unrefuted_suspicion_becomes_a_death_that_is_gossiped() -> None:
    state = three_members()
    feed(state, wire.Suspect(1, "a", "b"), now=10.0)
    assert kinds(state) == [(EventKind.SUSPECT, "a")]
    suspicion = state.suspicions["a"]
    assert suspicion.deadline == pytest.approx(10.0 + 7.5)  # k = 1 and no confirmation yet: max
    feed(state, wire.Suspect(1, "a", "c"), now=11.0)  # a second witness: shrinks to the minimum
    assert suspicion.deadline == pytest.approx(10.0 + 1.25)
    assert state.broadcasts.pending("a", wire.encode(wire.Suspect(1, "a", "c")))  # passed on, to count
    state.tick(11.24)
    assert state.members["a"].status == "suspect"
    state.tick(11.25)
    assert state.members["a"].status == "dead"
    assert kinds(state) == [(EventKind.FAILED, "a")]
    assert state.broadcasts.pending("a", wire.encode(wire.Dead(1, "a", "me")))


def test_a_refutation_in_time_cancels_the_suspicion() -> None:
    state = three_members()
    feed(state, wire.Suspect(1, "a", "b"), wire.Suspect(1, "a", "c"), now=10.0)
    feed(state, alive("a", 2), now=11.0)
    state.tick(30.0)
    assert state.members["a"].status == "alive" and "a" not in state.suspicions
    assert [kind for kind, _ in kinds(state)] == [EventKind.SUSPECT, EventKind.ALIVE]


# ------------------------------------------------------------------ dissemination

def test_news_goes_out_at_once_to_gossip_nodes_members_then_every_interval() -> None:
    state = machine(gossip_nodes=2)
    for name in ("a", "b", "c"):
        with_member(state, name)
    state.tick(5.0)
    sent(state)
    feed(state, wire.Suspect(1, "c", "b"), now=5.1)

    def gossip_packets() -> list[Address]:  # packets that are gossip alone (not piggybacked on a probe)
        return [address for address, messages in sent(state) if messages == [wire.Suspect(1, "c", "b")]]

    state.tick(5.1)
    assert len(gossip_packets()) == 2
    state.tick(5.2)
    assert gossip_packets() == []
    state.tick(5.3)
    assert len(gossip_packets()) == 2


def test_news_is_piggybacked_on_acks() -> None:
    state = machine()
    with_member(state, "a")
    feed(state, wire.Dead(1, "a", "b"), now=1.0)
    state.take_output()
    feed(state, wire.Ping(5, "me"), sender=ADDRESSES["b"], now=1.01)
    assert sent(state) == [(ADDRESSES["b"], [wire.Ack(5), wire.Dead(1, "a", "b")])]


def test_a_dead_member_still_gets_gossip_for_a_while_so_it_can_refute() -> None:
    state = machine(gossip_to_the_dead_time=30.0)
    with_member(state, "a", 1, "dead")  # dead since t=0
    feed(state, alive("b", 1), now=1.0)
    state.tick(1.0)
    assert ADDRESSES["a"] in [address for address, _ in sent(state)]
    feed(state, alive("c", 1), now=31.0)
    state.tick(31.0)
    assert ADDRESSES["a"] not in [address for address, _ in sent(state)]


# ------------------------------------------------------------------ push-pull, join, upkeep

def test_push_pull_merges_alive_left_and_turns_dead_into_suspect() -> None:
    state = machine()
    with_member(state, "a", 2)
    with_member(state, "b", 2)
    state.merge(wire.PushPull(False, (
        wire.PushPullEntry("a", *ADDRESSES["a"], 2, wire.State.DEAD),
        wire.PushPullEntry("b", *ADDRESSES["b"], 2, wire.State.LEFT),
        wire.PushPullEntry("c", *ADDRESSES["c"], 1, wire.State.ALIVE),
        wire.PushPullEntry("m", *ADDRESSES["m"], 1, wire.State.DEAD),  # unknown and dead: not added
    )), now=1.0)
    assert {name: m.status for name, m in state.members.items()} == {
        "me": "alive", "a": "suspect", "b": "left", "c": "alive"}


def test_a_restarted_member_learns_its_old_incarnation_by_push_pull_and_outbids_it() -> None:
    state = machine()  # restarted: incarnation 1, while the cluster remembers 7, dead
    state.merge(wire.PushPull(False, (wire.PushPullEntry("me", *ME, 7, wire.State.DEAD),
                                      wire.PushPullEntry("a", *ADDRESSES["a"], 3, wire.State.ALIVE))), now=1.0)
    assert state.me.incarnation == 8 and state.me.status == "alive"
    assert state.members["a"].status == "alive"


def test_local_state_lists_every_member_with_its_state() -> None:
    state = machine(tags=(("role", "worker"),))
    with_member(state, "a", 3, "suspect")
    with_member(state, "b", 2, "left")
    assert state.local_state(True) == wire.PushPull(True, (
        wire.PushPullEntry("a", *ADDRESSES["a"], 3, wire.State.SUSPECT),
        wire.PushPullEntry("b", *ADDRESSES["b"], 2, wire.State.LEFT),
        wire.PushPullEntry("me", *ME, 1, wire.State.ALIVE, (("role", "worker"),))))


def test_alone_we_retry_the_join_addresses_until_someone_answers() -> None:
    state = machine(rejoin_interval=1.0)
    state.set_seeds([ADDRESSES["m"]], now=0.0)
    state.tick(0.0)
    assert [o for o in state.take_output() if isinstance(o, Exchange)] == [Exchange(ADDRESSES["m"], join=True)]
    state.tick(0.5)
    assert not [o for o in state.take_output() if isinstance(o, Exchange)]
    state.tick(1.0)
    assert [o for o in state.take_output() if isinstance(o, Exchange)] == [Exchange(ADDRESSES["m"], join=True)]
    with_member(state, "m")
    state.tick(5.0)
    assert not [o for o in state.take_output() if isinstance(o, Exchange) and o.join]


def test_dead_members_are_tried_again_and_forgotten_after_the_reconnect_timeout() -> None:
    state = machine(reconnect_interval=10.0, reconnect_timeout=100.0, tombstone_timeout=50.0,
                    push_pull_interval=1e9)
    with_member(state, "a", 1, "dead")
    with_member(state, "b", 1, "left")
    state.tick(10.0)
    assert [o for o in state.take_output() if isinstance(o, Exchange)] == [Exchange(ADDRESSES["a"], join=False)]
    state.tick(60.0)
    assert "b" not in state.members and kinds(state) == [(EventKind.REAP, "b")]
    state.tick(101.0)
    assert "a" not in state.members and kinds(state) == [(EventKind.REAP, "a")]


def test_push_pull_goes_to_a_random_alive_member_every_interval() -> None:
    state = machine(push_pull_interval=30.0)
    with_member(state, "a")
    state.tick(31.0)
    state.tick(31.0)
    assert [o for o in state.take_output() if isinstance(o, Exchange)] == [Exchange(ADDRESSES["a"], join=False)]


def test_a_graceful_leave_is_gossiped_as_dead_from_ourselves_and_ends_probing() -> None:
    state = three_members()
    state.leave(1.0)
    assert state.me.status == "left"
    assert state.broadcasts.pending("me", wire.encode(wire.Dead(1, "me", "me")))
    assert not state.left
    for step in range(1, 4):
        state.tick(1.0 + 0.2 * step)
    outputs = sent(state)
    assert all(not isinstance(m, wire.Ping) for _, messages in outputs for m in messages)
    assert state.left  # three copies to each of the two members
    feed(state, wire.Suspect(1, "me", "a"), wire.Dead(1, "me", "a"), now=2.0)
    assert state.me.status == "left" and state.stats["refutations"] == 0  # no refuting once gone


def test_new_tags_bump_our_incarnation_and_are_gossiped() -> None:
    state = machine()
    state.set_tags((("pod-cidr", "10.244.1.0/24"),), now=1.0)
    assert state.me.incarnation == 2
    assert state.broadcasts.pending("me", wire.encode(wire.Alive(2, "me", *ME, (("pod-cidr", "10.244.1.0/24"),))))


def test_malformed_packets_are_counted_and_dropped() -> None:
    state = machine()
    state.receive(b"\x63garbage", ADDRESSES["a"], 0.0)
    state.receive(wire.encode(wire.PushPull(False, ())), ADDRESSES["a"], 0.0)  # TCP only
    assert state.stats["malformed"] == 2
    assert sent(state) == []


def test_next_deadline_is_the_earliest_pending_timer() -> None:
    state = three_members()
    _target, _seq, now = start_probe(state)
    assert state.next_deadline() == pytest.approx(now + 0.1)  # the direct retry
    state.tick(now + 0.1)
    assert state.next_deadline() == pytest.approx(now + 0.2)  # the direct ack timeout
    state.tick(now + 0.2)
    sent(state)
    assert state.next_deadline() == pytest.approx(now + 0.5)  # the end of the probe round
