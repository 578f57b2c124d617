"""Every knob of the gossip cluster, with its default and why.

The defaults are tuned for a small LAN (the three-node lab, or three VMs on one switch): round trips
under a millisecond, but members that are Python processes on busy machines, whose event loops can
be late by tens of milliseconds. The aim: a dead member known dead everywhere within about 3 s,
and no member declared dead by mistake when 10-20% of packets are lost. HashiCorp's memberlist
LAN profile (Serf, Consul) takes 5-7 s to declare a death: probes every 1 s and a suspicion of
4 probe intervals. Here the probes come twice as often, with packets small enough that the
bandwidth stays below Serf's (bench/gossip_bench.py measures both).

How long a death takes to be known (three members, one killed):
    wait for a survivor's next probe of it   each survivor probes it once per round of n - 1 intervals
  + the failed probe round                   ~2 probe timeouts (direct, then indirect until the nacks)
  + the suspicion                            suspicion_mult x probe_interval (the other survivor's nack
                                             for the indirect probe confirms it)
  + the news of the death                    one gossip packet, sent at once
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

DEFAULT_PORT = 7946


@dataclass(frozen=True, slots=True)
class GossipConfig:
    # This member's name: unique in the cluster (the agent uses its Node's name).
    name: str
    # Where the UDP socket and the TCP listener bind.
    bind_address: str = "0.0.0.0"
    bind_port: int = DEFAULT_PORT
    # The address other members reach this one at (empty: bind_address, which must then not be 0.0.0.0).
    advertise_address: str = ""
    advertise_port: int = 0  # 0: bind_port
    # Members to join through: HOST or HOST:PORT (port 7946 when left out). Any one answering is enough.
    join: tuple[str, ...] = ()
    # Initial metadata of this member, spread with its alive messages (role, pod CIDR, addresses).
    tags: tuple[tuple[str, str], ...] = ()

    # -- failure detection (SWIM) --
    # A member probes one other member per interval, in a shuffled round robin. Serf's LAN profile
    # uses 1 s; twice as often halves the wait for the first failed probe of a dead member.
    probe_interval: float = 0.5
    # How long to wait for the direct ack before asking others to probe indirectly; halfway there,
    # the ping is sent once more. A LAN round trip is well under 1 ms; 200 ms leaves room for a
    # busy event loop on either side. Retrying directly before going indirect costs one packet and
    # spares the dozen of an indirect round whenever one ping was lost: with 10% loss it cuts the
    # traffic by a third, and suspicions threefold.
    probe_timeout: float = 0.2
    # Members asked to probe the target on our behalf when the direct probe gets no ack (memberlist's 3).
    indirect_checks: int = 3

    # -- suspicion (Lifeguard) --
    # A suspect is declared dead after suspicion_mult probe intervals (x log10(n) beyond ten
    # members) unless it refutes first. 2.5 x 0.5 s = 1.25 s: a suspected member that is alive
    # hears of it within milliseconds (the suspicion rides on our next packets to it and is gossiped
    # at once), and its refutation has more than a second of retransmissions to come back. (With
    # 20% loss on both ends of every packet, simulated for hours, no member was declared dead by
    # mistake; see tests/unit/test_gossip_cluster_sim.py.)
    suspicion_mult: float = 2.5
    # Without independent confirmations, the suspicion lasts up to this many times the minimum;
    # each confirmation from another member shrinks it toward the minimum (Lifeguard's formula).
    # In a three-member cluster one confirmation (the other survivor's suspicion, or its nack
    # when it probed the suspect for us) is enough for the minimum; alone, a prober waits 7.5 s.
    suspicion_max_timeout_mult: float = 6.0

    # -- local health (Lifeguard) --
    # The health score runs from 0 (healthy) to this minus 1; probe interval, probe timeout and
    # suspicion timeouts are multiplied by (score + 1). memberlist's 8.
    awareness_max_multiplier: int = 8

    # -- dissemination --
    # A piggybacked message is sent retransmit_mult x ceil(log10(n + 1)) times in all, each copy to
    # one member. memberlist uses 4, enough for large clusters on clean networks; in a small cluster
    # each other member then gets only two copies, and a refutation lost twice costs a false death.
    # 12 keeps retransmitting for about a second, through loss on both ends of every packet. It
    # costs nothing when nothing happens (no news, no gossip packets).
    retransmit_mult: int = 12
    # Queued news is gossiped to gossip_nodes random members every gossip_interval, and at once when
    # it is new (memberlist waits for the next tick; there is no reason to, on a LAN).
    gossip_interval: float = 0.2
    gossip_nodes: int = 3
    # A dead member still gets gossip for this long, so that it can hear it was declared dead and refute.
    gossip_to_the_dead_time: float = 30.0

    # -- anti-entropy and membership upkeep --
    # Full state exchange over TCP with one random member (memberlist's 30 s for LAN).
    push_pull_interval: float = 30.0
    # While this member knows no other live member, it retries the join addresses this often.
    rejoin_interval: float = 1.0
    # A dead member is tried again (a push-pull) this often, so a healed partition or a restarted
    # member whose address we knew merges back (Serf's reconnect, 30 s there).
    reconnect_interval: float = 10.0
    # Dead members are kept (shown, and tried again) for this long, left ones for tombstone_timeout;
    # then forgotten (Serf keeps both 24 h).
    reconnect_timeout: float = 24 * 3600.0
    tombstone_timeout: float = 24 * 3600.0
    # A TCP exchange (push-pull, a large message) must finish within this many seconds.
    tcp_timeout: float = 5.0
    # On a graceful leave, wait at most this long for the news to be sent before stopping.
    leave_timeout: float = 2.0
    # Largest UDP payload we send (below the 1500-byte Ethernet MTU with headers); larger messages
    # go over TCP.
    udp_buffer_size: int = 1400

    seed: int | None = field(default=None, compare=False)  # randomness, for reproducible tests

    @property
    def advertise(self) -> tuple[str, int]:
        return (self.advertise_address or self.bind_address, self.advertise_port or self.bind_port)


def suspicion_timeout(mult: float, members: int, interval: float) -> float:
    """The minimum suspicion: mult probe intervals, stretched by log10 of the cluster size beyond 10
    members, so dissemination has time to reach everyone in larger clusters (memberlist's formula)."""
    scale = max(1.0, math.log10(max(1, members)))
    return mult * scale * interval


def retransmit_limit(mult: int, members: int) -> int:
    """How many times a piggybacked message is sent before it is dropped from the queue."""
    return mult * math.ceil(math.log10(members + 1))


def expected_confirmations(mult: float, members: int) -> int:
    """How many independent confirmations drive a suspicion to its minimum: suspicion_mult - 2 (rounded up), as
    in memberlist, but never more than the members that could give one (all but us and the suspect),
    so that a small cluster still reaches the minimum when all its members agree."""
    return max(0, min(math.ceil(mult) - 2, members - 2))
