"""Gossip members on real loopback sockets: several in this process (Memberlist), and several
`kubelab gossip` processes. Joining, failure detection, graceful leave, keys and their rotation,
refused packets counted, large messages over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from agent.gossip import messages as wire
from agent.gossip.config import GossipConfig
from agent.gossip.keyring import Keyring, encode_key, write_keyring_file
from agent.gossip.memberlist import Memberlist
from agent.gossip.state import EventKind
from controlplane.controllers.nodelifecycle.gossipwitness import GossipWitness
from controlplane.controllers.nodelifecycle.health import Verdict
from tests.support.gossip import GossipProcess
from tests.support.wait import eventually, eventually_sync

K1, K2 = b"a" * 32, b"b" * 32


class Cluster:
    """Members running in this process, each its own task; `stop(name, leave)` ends one."""

    def __init__(self, group: asyncio.TaskGroup) -> None:
        self.group = group
        self.members: dict[str, Memberlist] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self, name: str, keys: tuple[bytes, ...] = (K1,), join: str | None = None,
                    leave_on_stop: bool = True, **knobs: object) -> Memberlist:
        config = GossipConfig(name=name, bind_address="127.0.0.1", join=(join,) if join else (),
                              **{"bind_port": 0, **knobs})  # type: ignore[arg-type]
        member = Memberlist(config, Keyring(keys), leave_on_stop=leave_on_stop)
        self.members[name] = member
        self.tasks[name] = self.group.create_task(member.run())
        await asyncio.wait_for(member.started.wait(), 10)
        return member

    def address(self, name: str) -> str:
        me = self.members[name].state.me
        return f"{me.address}:{me.port}"

    async def stop(self, name: str) -> None:
        task = self.tasks.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def status(self, observer: str, subject: str) -> str:
        member = self.members[observer].state.members.get(subject)
        return member.status.value if member else "unknown"

    async def wait_all(self, subject: str, status: str, observers: list[str], timeout: float) -> None:
        async def check() -> bool:
            return all(self.status(o, subject) == status for o in observers)

        await eventually(check, timeout=timeout, what=f"{subject} {status} for {observers}; "
                         f"saw {[self.status(o, subject) for o in observers]}")


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with asyncio.TaskGroup() as group:
        running = Cluster(group)
        try:
            yield running
        finally:
            for name in list(running.tasks):
                await running.stop(name)


async def three(cluster: Cluster, **knobs: object) -> None:
    await cluster.start("m", **knobs)
    seed = cluster.address("m")
    await cluster.start("w1", join=seed, **knobs)
    await cluster.start("w2", join=seed, **knobs)
    for name in ("m", "w1", "w2"):
        await cluster.wait_all(name, "alive", ["m", "w1", "w2"], timeout=10)


async def test_three_members_join_through_one_and_converge(cluster: Cluster) -> None:
    started = time.monotonic()
    await three(cluster)
    assert time.monotonic() - started < 5
    assert cluster.members["w2"].stats["push_pulls"] >= 1  # joined by a TCP state exchange


async def test_a_crashed_member_is_declared_dead_and_a_leaving_one_left(cluster: Cluster) -> None:
    await three(cluster)
    events = cluster.members["m"].subscribe()
    cluster.members["w2"].leave_on_stop = False  # as if killed: it just goes silent
    crashed = time.monotonic()
    await cluster.stop("w2")
    await cluster.wait_all("w2", "dead", ["m", "w1"], timeout=15)
    detected = time.monotonic() - crashed
    await cluster.stop("w1")  # a graceful leave
    await cluster.wait_all("w1", "left", ["m"], timeout=5)
    seen = []
    while not events.empty():
        event = events.get_nowait()
        seen.append((event.kind, event.member.name))
    assert (EventKind.FAILED, "w2") in seen and (EventKind.LEAVE, "w1") in seen
    assert (EventKind.FAILED, "w1") not in seen
    assert detected < 10, f"took {detected:.1f}s"


async def test_a_restarted_member_recovers_with_a_higher_incarnation(cluster: Cluster) -> None:
    await three(cluster)
    port = cluster.members["w2"].state.me.port
    cluster.members["w2"].leave_on_stop = False
    await cluster.stop("w2")
    await cluster.wait_all("w2", "dead", ["m", "w1"], timeout=15)
    await cluster.start("w2", join=cluster.address("m"), bind_port=port)
    await cluster.wait_all("w2", "alive", ["m", "w1"], timeout=10)
    assert cluster.members["m"].state.members["w2"].incarnation > 1


def _send_udp(address: str, data: bytes) -> None:
    host, _, port = address.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, (host, int(port)))


async def test_packets_with_a_wrong_key_a_forged_tag_or_no_seal_are_dropped_and_counted(cluster: Cluster) -> None:
    member = await cluster.start("m")
    ping = wire.encode(wire.Ping(1, "m"))
    forged = bytearray(Keyring([K1]).seal(ping))
    forged[-1] ^= 0xFF
    _send_udp(cluster.address("m"), Keyring([K2]).seal(ping))  # a wrong key
    _send_udp(cluster.address("m"), bytes(forged))  # the right key, a forged tag
    _send_udp(cluster.address("m"), Keyring().seal(ping))  # in the clear
    _send_udp(cluster.address("m"), b"\x01short")

    async def counted() -> bool:
        stats = member.stats
        return (stats.get("dropped_auth"), stats.get("dropped_plaintext"), stats.get("dropped_malformed")) == (
            2, 1, 1)

    await eventually(counted, timeout=5, what=f"drops counted; stats {member.stats}")
    assert member.stats.get("packets_received", 0) == 0  # none reached the state machine


async def test_a_member_with_another_key_cannot_join(cluster: Cluster) -> None:
    await cluster.start("m")
    stranger = await cluster.start("x", keys=(K2,), join=cluster.address("m"))

    async def refused() -> bool:
        return cluster.members["m"].stats.get("dropped_auth", 0) >= 2 and stranger.stats.get("push_pull_failed", 0) >= 2

    await eventually(refused, timeout=10, what="join attempts refused")
    assert cluster.status("m", "x") == "unknown" and cluster.status("x", "m") == "unknown"


async def test_keys_rotate_without_a_single_refused_packet(cluster: Cluster) -> None:
    await three(cluster)
    rings = [cluster.members[name].keyring for name in ("m", "w1", "w2")]
    steps: list[Callable[[Keyring], None]] = [lambda r: r.install(K2), lambda r: r.use(K2), lambda r: r.remove(K1)]
    for step in steps:
        for ring in rings:
            step(ring)
            await asyncio.sleep(0.3)  # members mid-step, each on its own
    await asyncio.sleep(2)
    assert all(ring.keys == (K2,) for ring in rings)
    assert sum(cluster.members[n].stats.get("dropped_auth", 0) for n in ("m", "w1", "w2")) == 0
    assert all(cluster.status(o, s) == "alive" for o in ("m", "w1", "w2") for s in ("m", "w1", "w2"))
    # and a member with only the old key is shut out
    late = await cluster.start("late", keys=(K1,), join=cluster.address("m"))
    await asyncio.sleep(2)
    assert cluster.status("m", "late") == "unknown" and late.stats.get("push_pull_failed", 0) >= 1


async def test_tags_too_large_for_a_datagram_travel_over_tcp(cluster: Cluster) -> None:
    await three(cluster)
    big = (("blob", "x" * 3000),)
    cluster.members["w1"].set_tags(big)

    async def learned() -> bool:
        return all(cluster.members[n].state.members["w1"].tags == big for n in ("m", "w2"))

    await eventually(learned, timeout=10, what="the large tags to reach every member")
    assert cluster.members["w1"].stats.get("large_messages_sent", 0) >= 1
    assert sum(cluster.members[n].stats.get("large_messages_received", 0) for n in ("m", "w2")) >= 1


# ------------------------------------------------------------------ kubelab gossip processes

@pytest.fixture
def processes(tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[GossipProcess] = []

    def start(name: str, *args: str) -> GossipProcess:
        process = GossipProcess(name, tmp_path / f"{name}.log", *args)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.kill()


def test_gossip_daemons_converge_detect_a_kill_and_tell_a_leave_apart(processes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keyring = tmp_path / "keyring.json"
    write_keyring_file(keyring, [K1])
    first = processes("m", "--gossip-keyring-file", str(keyring), "--tag", "role=control-plane")
    key = ("--gossip-key", encode_key(K1))
    others = [processes(name, "--join", first.address, *key, "--tag", "role=worker") for name in ("w1", "w2")]
    everyone = [first, *others]
    eventually_sync(lambda: all(p.statuses() == {"m": "alive", "w1": "alive", "w2": "alive"} for p in everyone),
                    timeout=15, what="three daemons to converge")
    view = first.view()
    assert view.node == "m"
    assert {m.name: dict(m.tags) for m in view.members}["w1"] == {"role": "worker"}

    killed = time.monotonic()
    others[1].kill()
    eventually_sync(lambda: all(p.statuses()["w2"] == "dead" for p in everyone[:2]), timeout=15,
                    what="w2 dead everywhere")
    assert time.monotonic() - killed < 10
    others[0].signal(signal.SIGTERM)
    assert others[0].wait() == 0
    eventually_sync(lambda: first.statuses()["w1"] == "left", timeout=5, what="w1 left")
    failed = [e["member"] for e in first.events() if e["event"] == "gossip.member_failed"]
    assert failed == ["w2"]  # the kill is a failure; the SIGTERM a leave, not a failure


async def test_the_node_lifecycle_witness_follows_a_members_view(processes) -> None:  # type: ignore[no-untyped-def]
    first = processes("m")
    worker = processes("w1", "--join", first.address)
    witness = GossipWitness(first.listen, retry=0.2)
    told: list[str] = []
    witness.subscribe(told.append)
    task = asyncio.get_running_loop().create_task(witness.run())
    try:
        def verdict(node: str) -> Verdict | None:
            found = witness.verdict(node)
            return found.verdict if found else None

        await eventually(lambda: _is(verdict("w1") is Verdict.ALIVE), timeout=15, what="w1 alive for the witness")
        worker.kill()
        await eventually(lambda: _is(verdict("w1") is Verdict.DEAD), timeout=15, what="w1 dead for the witness")
        found = witness.verdict("w1")
        assert found is not None and found.age < 5
        assert told.count("w1") >= 2
        first.kill()  # the watched member is gone: no verdict at all, the Lease decides
        await eventually(lambda: _is(witness.verdict("w1") is None and witness.verdict("m") is None), timeout=15,
                         what="the witness to drop its verdicts")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _is(value: bool) -> bool:
    return value
