"""The arithmetic of the gossip cluster: suspicion timeouts (Lifeguard's formula), the local health
score, the dissemination queue and its retransmit limit."""

from __future__ import annotations

import math

import pytest

from agent.gossip.awareness import Awareness
from agent.gossip.broadcast import BroadcastQueue
from agent.gossip.config import expected_confirmations, retransmit_limit, suspicion_timeout
from agent.gossip.suspicion import Suspicion, suspicion_duration


@pytest.mark.parametrize(("mult", "members", "interval", "expected"), [
    (2.5, 1, 0.5, 1.25),  # log10 of a small cluster is below 1: no stretch
    (2.5, 3, 0.5, 1.25),
    (2.5, 10, 0.5, 1.25),
    (4, 100, 1.0, 8.0),  # log10(100) = 2
    (4, 1000, 1.0, 12.0),
    (5, 5, 0.2, 1.0),
])
def test_minimum_suspicion_grows_with_log10_of_cluster_size(mult: float, members: int, interval: float,
                                                            expected: float) -> None:
    assert suspicion_timeout(mult, members, interval) == pytest.approx(expected)


@pytest.mark.parametrize(("mult", "members", "expected"), [
    (4, 1, 4), (4, 9, 4), (4, 10, 8), (4, 99, 8), (4, 100, 12), (12, 3, 12), (12, 50, 24),
])
def test_retransmit_limit_is_mult_times_ceil_log10_n_plus_1(mult: int, members: int, expected: int) -> None:
    assert retransmit_limit(mult, members) == expected


@pytest.mark.parametrize(("mult", "members", "expected"), [
    (2.5, 3, 1),  # three members: the other survivor is the one possible witness
    (2.5, 2, 0),  # two: nobody else could confirm
    (2.5, 10, 1),
    (4, 3, 1),
    (4, 10, 2),  # memberlist's k = mult - 2
    (6, 5, 3),
    (2, 10, 0),
])
def test_expected_confirmations_are_mult_minus_2_capped_by_possible_witnesses(mult: float, members: int,
                                                                              expected: int) -> None:
    assert expected_confirmations(mult, members) == expected


@pytest.mark.parametrize(("confirmations", "k", "expected"), [
    (0, 0, 1.0),  # nobody could confirm: the minimum from the start
    (0, 3, 6.0),  # no confirmation yet: the maximum
    (1, 3, 6.0 - 5.0 * math.log(2) / math.log(4)),  # 3.5
    (2, 3, 6.0 - 5.0 * math.log(3) / math.log(4)),
    (3, 3, 1.0),
    (5, 3, 1.0),
    (0, 1, 6.0),
    (1, 1, 1.0),
])
def test_suspicion_shrinks_from_max_to_min_with_log_of_confirmations(confirmations: int, k: int,
                                                                      expected: float) -> None:
    assert suspicion_duration(confirmations, k, 1.0, 6.0) == pytest.approx(expected, abs=0.001)


def test_suspicion_counts_each_witness_once_and_never_the_accuser() -> None:
    suspicion = Suspicion("a", k=2, minimum=1.0, maximum=6.0, start=100.0)
    assert suspicion.deadline == 106.0
    assert not suspicion.confirm("a")  # our own suspicion gossiped back to us
    assert suspicion.confirm("b")
    assert not suspicion.confirm("b")
    assert suspicion.deadline == pytest.approx(100.0 + 6.0 - 5.0 * math.log(2) / math.log(3), abs=0.001)
    assert suspicion.confirm("c")
    assert suspicion.deadline == 101.0
    assert not suspicion.confirm("d")  # enough: further confirmations change nothing
    assert not suspicion.expired(100.999)
    assert suspicion.expired(101.0)


def test_suspicion_refuses_bounds_out_of_order() -> None:
    with pytest.raises(ValueError):
        Suspicion("a", 1, minimum=2.0, maximum=1.0, start=0)


@pytest.mark.parametrize(("deltas", "score", "scale"), [
    ([], 0, 0.5),
    ([1], 1, 1.0),
    ([1, 1, 1], 3, 2.0),
    ([5, 5], 7, 4.0),  # capped at max - 1
    ([3, -1], 2, 1.5),
    ([-1], 0, 0.5),  # floored at 0
    ([7, -10, 2], 2, 1.5),
])
def test_awareness_score_is_clamped_and_stretches_timeouts(deltas: list[int], score: int, scale: float) -> None:
    awareness = Awareness(8)
    for delta in deltas:
        awareness.apply(delta)
    assert awareness.score == score
    assert awareness.scale(0.5) == scale


def test_broadcasts_are_retransmitted_up_to_the_limit_least_sent_first() -> None:
    queue = BroadcastQueue(retransmit_mult=2)  # 3 members: limit 2 x ceil(log10 4) = 2
    queue.queue("a", b"alive-a")
    queue.queue("b", b"suspect-b")
    assert queue.take(100, 2, 3) == [b"suspect-b", b"alive-a"]  # equal transmits: newest first
    queue.queue("c", b"dead-c")
    assert queue.take(100, 2, 3) == [b"dead-c", b"suspect-b", b"alive-a"]  # never sent: first
    assert queue.transmits("a") == 0 and not queue.pending("a")  # sent twice: gone
    assert queue.take(100, 2, 3) == [b"dead-c"]
    assert queue.take(100, 2, 3) == []
    assert len(queue) == 0


def test_a_newer_message_about_a_member_replaces_the_queued_one() -> None:
    queue = BroadcastQueue(retransmit_mult=4)
    queue.queue("x", b"suspect-x")
    queue.take(100, 2, 3)
    queue.queue("x", b"alive-x-refuted")
    assert queue.pending("x", b"alive-x-refuted") and not queue.pending("x", b"suspect-x")
    assert queue.transmits("x") == 0
    assert queue.take(100, 2, 3) == [b"alive-x-refuted"]


def test_broadcasts_that_do_not_fit_wait_for_a_roomier_packet() -> None:
    queue = BroadcastQueue(retransmit_mult=4)
    queue.queue("big", b"x" * 50)
    queue.queue("small", b"y" * 10)
    assert queue.take(20, 2, 3) == [b"y" * 10]  # 12 bytes used, 50 + 2 do not fit in 8
    assert queue.take(30, 2, 3) == [b"y" * 10]
    assert queue.transmits("big") == 0
    assert queue.take(60, 2, 3) == [b"x" * 50]


def test_an_oversize_broadcast_goes_alone_when_asked() -> None:
    queue = BroadcastQueue(retransmit_mult=4)
    queue.queue("big", b"x" * 5000)
    assert queue.take(1000, 2, 3) == []
    assert queue.take(1000, 2, 3, oversize=True) == [b"x" * 5000]
    assert queue.transmits("big") == 1
