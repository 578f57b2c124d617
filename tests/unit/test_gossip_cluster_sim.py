"""Whole clusters of the real state machine on a simulated network and clock
(tests/support/gossipsim.py): convergence, detection time, no false death under heavy loss,
partitions that heal, restarts. Deterministic from their seeds; each runs in about a second."""

from __future__ import annotations

import pytest

from agent.gossip.state import EventKind
from tests.support.gossipsim import Simulation


def test_five_members_joining_one_by_one_converge_within_a_second() -> None:
    sim = Simulation(5, seed=3)
    sim.run_until(1.0)
    assert sim.converged()


@pytest.mark.parametrize("seed", range(20))
def test_a_killed_member_is_known_dead_by_every_other_within_3_seconds(seed: int) -> None:
    sim = Simulation(3, seed=seed)
    sim.run_until(5.0)
    killed_at = 5.0 + sim.rng.uniform(0, 1)
    sim.run_until(killed_at)
    sim.kill("node1")
    sim.run_until(killed_at + 3.0)
    assert sim.view("node0", "node1") == "dead"
    assert sim.view("node2", "node1") == "dead"


@pytest.mark.parametrize(("loss", "seed"), [(0.1, 1), (0.2, 2), (0.2, 3)])
def test_no_false_death_in_ten_minutes_of_loss_on_both_ends_of_every_packet(loss: float, seed: int) -> None:
    sim = Simulation(3, loss=loss, seed=seed)
    sim.run_until(600.0)
    suspicions = sum(member.state.stats["suspicions"] for member in sim.members.values())
    assert sim.failures() == []
    assert suspicions > 50  # the loss did make members suspect each other: and every one was refuted


def test_a_member_cut_off_from_one_peer_alone_stays_alive_through_indirect_probes() -> None:
    sim = Simulation(3, seed=4)
    sim.run_until(5.0)
    sim.cut.add(frozenset(("node0", "node1")))
    sim.run_until(120.0)
    assert sim.failures() == []
    assert sim.view("node0", "node1") == "alive" and sim.view("node1", "node0") == "alive"


def test_a_healed_partition_merges_back_through_reconnects() -> None:
    sim = Simulation(3, seed=5)
    sim.run_until(5.0)
    sim.cut |= {frozenset(("node0", "node1")), frozenset(("node0", "node2"))}
    sim.run_until(10.0)
    # The majority agrees at once; the isolated member, whose probes all fail without nacks, sees
    # its own health drop and waits much longer (Lifeguard), but gets there too.
    assert sim.view("node1", "node0") == "dead" and sim.view("node0", "node1") == "suspect"
    sim.run_until(120.0)
    assert sim.view("node0", "node1") == "dead"
    sim.cut.clear()
    sim.run_until(120.0 + 2 * sim.base.reconnect_interval)
    assert sim.converged()
    assert {(observer, subject) for observer, subject, _ in sim.failures(EventKind.RECOVERED)} == {
        ("node0", "node1"), ("node0", "node2"), ("node1", "node0"), ("node2", "node0")}


def test_a_restarted_member_rejoins_and_outbids_its_old_incarnation() -> None:
    sim = Simulation(3, seed=6)
    sim.run_until(5.0)
    sim.kill("node2")
    sim.run_until(15.0)
    assert sim.view("node0", "node2") == "dead"
    sim.restart("node2")
    sim.run_until(17.0)
    assert sim.converged()
    assert sim.members["node0"].state.members["node2"].incarnation > 1
