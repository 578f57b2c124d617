"""Gossip benchmark (`make bench`): kubelab's gossip cluster beside HashiCorp Serf, in one run, on one
lab of node namespaces. Prints one JSON document.

A lab of its own, of the lab's shape (a master and --workers 2 workers; `kubelab up --daemons
apiserver`: the nodes' namespaces on their bridge, only the API server running) gets, in every
node's netns, one `kubelab gossip` member (port 7946, the defaults of agent/gossip/config.py) and
one Serf agent (Debian's `serf`, `-profile lan`, port 7947), both joining through the master, both
encrypted with a 32-byte key. Then, for both at once:

1. bandwidth: nftables counters in every node's netns count the bytes of each system's port, in
   and out, over a quiet minute: bytes per second per member;
2. detection: a worker's member is killed (SIGKILL) at a random moment, and timed until every
   other member has declared it dead; then restarted, and the next kill waits until it is alive
   everywhere again. p50 and p99 over --kills kills per system. Each member writes the moment it
   learns of a death: kubelab's in its JSON log (the event's own timestamp), Serf's through an
   event handler that stamps `date +%s.%N` (a fork, a few milliseconds later than Serf learned it);
3. false deaths: 10% of the packets on every node's link are dropped at random going out and
   coming in (nftables `numgen random`, so 19% between two nodes), for --loss-seconds; every
   member declared dead meanwhile is a false death. Bandwidth is counted under the loss too.

Targets: detection p99 under 3 s with zero false deaths, and no more bandwidth than Serf.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.gossip.keyring import encode_key, generate_key, write_keyring_file  # noqa: E402
from controlplane.api.timestamps import epoch  # noqa: E402
from tests.support.figures import percentile  # noqa: E402
from tests.support.gossip import clear_rules, random_loss  # noqa: E402
from tests.support.lab import Lab, lab_session  # noqa: E402

KUBELAB_PORT = 7946
SERF_PORT = 7947
COUNT_TABLE = "klbenchcount"
SYSTEMS = ("kubelab", "serf")


def _nft(lab: Lab, node: str, *args: str, ruleset: str | None = None) -> str:
    command = ["ip", "netns", "exec", lab.netns(node), "nft", *(args or ("-f", "-"))]
    result = subprocess.run(command, input=ruleset, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"nft in {node}: {result.stderr.strip()}")
    return result.stdout


def _count_rules(lab: Lab, node: str) -> None:
    """One counter per system and direction: packets from or to its port on the node's link."""
    rules = []
    for hook, interface in (("input", "iifname"), ("output", "oifname")):
        lines = [f"    type filter hook {hook} priority 0;"]
        for port in (KUBELAB_PORT, SERF_PORT):
            for side in ("sport", "dport"):  # a packet counted once: the first rule that matches accepts it
                lines.append(f'    {interface} "eth0" meta l4proto {{ tcp, udp }} th {side} {port} counter accept')
        rules.append(f"  chain {hook} {{\n" + "\n".join(lines) + "\n  }")
    _nft(lab, node, ruleset=f"table inet {COUNT_TABLE} {{\n" + "\n".join(rules) + "\n}\n")


def _counted_bytes(lab: Lab, node: str) -> dict[str, int]:
    """Bytes so far per system (in + out)."""
    data = json.loads(_nft(lab, node, "-j", "list", "table", "inet", COUNT_TABLE))
    totals = dict.fromkeys(SYSTEMS, 0)
    for item in data["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        port = next((e["match"]["right"] for e in rule["expr"] if "match" in e
                     and e["match"]["left"].get("payload", {}).get("protocol") == "th"), None)
        counted = next((e["counter"]["bytes"] for e in rule["expr"] if "counter" in e), 0)
        totals["kubelab" if port == KUBELAB_PORT else "serf"] += counted
    return totals


def _epoch(timestamp: str) -> float:
    seconds = epoch(timestamp)
    assert seconds is not None, f"unreadable log timestamp {timestamp!r}"
    return seconds


@dataclass
class Member:
    system: str
    node: str
    log: Path
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None

    def start(self, lab: Lab) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(["ip", "netns", "exec", lab.netns(self.node), *self.argv], stdout=out,
                                            stderr=out, stdin=subprocess.DEVNULL, env=lab.environment(),
                                            start_new_session=True)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class Cluster:
    """One system's members, and what each of them said about the others: (observer, subject) ->
    moments it declared the subject dead / saw it (back) alive."""
    system: str
    members: dict[str, Member]
    failed: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    alive: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    _read: dict[Path, int] = field(default_factory=dict)

    def refresh(self) -> None:
        for path in self._files():
            offset = self._read.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
            complete = data.rfind(b"\n") + 1
            self._read[path] = offset + complete
            for line in data[:complete].decode(errors="replace").splitlines():
                parsed = self._parse(line, path)
                if parsed is not None:
                    kind, observer, subject, when = parsed
                    bucket = self.failed if kind == "failed" else self.alive
                    bucket.setdefault((observer, subject), []).append(when)

    def _files(self) -> list[Path]:
        if self.system == "kubelab":
            return [m.log for m in self.members.values() if m.log.exists()]
        return sorted(next(iter(self.members.values())).log.parent.glob("serf-events-*.log"))

    def _parse(self, line: str, path: Path) -> tuple[str, str, str, float] | None:
        if self.system == "kubelab":
            try:
                entry = json.loads(line)
            except ValueError:
                return None
            event = entry.get("event", "")
            kind = {"gossip.member_failed": "failed", "gossip.member_join": "alive",
                    "gossip.member_recovered": "alive"}.get(event)
            if kind is None:
                return None
            return kind, entry["observer"], entry["member"], _epoch(entry["timestamp"])
        # serf: "<epoch> <event> <name> <address> ..." written by the handler of member <observer>
        parts = line.split()
        if len(parts) < 3:
            return None
        kind = {"member-failed": "failed", "member-join": "alive"}.get(parts[1])
        observer = path.stem.removeprefix("serf-events-")
        return (kind, observer, parts[2], float(parts[0])) if kind else None

    def declared_dead_by_all(self, victim: str, since: float) -> float | None:
        """The moment the last of the others declared `victim` dead after `since` (None: not all yet)."""
        moments = []
        for observer in self.members:
            if observer == victim:
                continue
            after = [t for t in self.failed.get((observer, victim), []) if t >= since]
            if not after:
                return None
            moments.append(min(after))
        return max(moments)

    def alive_for_all(self, victim: str, since: float) -> bool:
        return all(any(t >= since for t in self.alive.get((observer, victim), []))
                   for observer in self.members if observer != victim)

    def deaths_between(self, start: float, end: float) -> list[str]:
        return [f"{observer} declared {subject} dead" for (observer, subject), moments in self.failed.items()
                for moment in moments if start <= moment <= end]


def _kubelab_argv() -> list[str]:
    script = Path(sys.executable).parent / "kubelab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "controlplane.cli"]


def build(lab: Lab, scratch: Path, key: bytes) -> dict[str, Cluster]:
    keyring = scratch / "keyring.json"
    write_keyring_file(keyring, [key])
    handler = scratch / "serf-handler.sh"
    handler.write_text(f'#!/bin/sh\nt=$(date +%s.%N)\nwhile read -r line; do echo "$t $SERF_EVENT $line" '
                       f'>> {scratch}/serf-events-$SERF_SELF_NAME.log; done\n')
    handler.chmod(0o755)
    master = lab.master_ip
    kubelab: dict[str, Member] = {}
    serf: dict[str, Member] = {}
    for node, ip in lab.node_ips.items():
        join = [] if node == "master" else ["--join", f"{master}:{KUBELAB_PORT}"]
        kubelab[node] = Member("kubelab", node, scratch / f"kubelab-{node}.log", [
            *_kubelab_argv(), "gossip", "--name", node, "--bind", f"{ip}:{KUBELAB_PORT}",
            "--gossip-keyring-file", str(keyring), "--log-format", "json", *join])
        serf_join = [] if node == "master" else [f"-join={master}:{SERF_PORT}"]
        serf[node] = Member("serf", node, scratch / f"serf-{node}.log", [
            "serf", "agent", f"-node={node}", f"-bind={ip}:{SERF_PORT}", "-profile=lan",
            f"-encrypt={encode_key(key)}", "-rpc-addr=127.0.0.1:7373", "-log-level=warn",
            f"-event-handler=member-join,member-failed={handler}", *serf_join])
    for members in (kubelab, serf):
        members["master"].start(lab)
    time.sleep(1.0)
    for members in (kubelab, serf):
        for node, member in members.items():
            if node != "master":
                member.start(lab)
    return {"kubelab": Cluster("kubelab", kubelab), "serf": Cluster("serf", serf)}


async def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.1)


async def converge(cluster: Cluster, timeout: float = 60) -> None:
    """Every member seen alive by every other."""
    def check() -> bool:
        cluster.refresh()
        return all(cluster.alive_for_all(victim, 0) for victim in cluster.members)

    await wait_for(check, timeout, f"{cluster.system} to converge")


async def kill_rounds(lab: Lab, cluster: Cluster, kills: int, rng: random.Random) -> dict[str, Any]:
    workers = [node for node in cluster.members if node != "master"]
    times: list[float] = []
    missed = 0
    for round_number in range(kills):
        victim = workers[round_number % len(workers)]
        await asyncio.sleep(rng.uniform(0, 1.0))  # a random phase against the probe schedule
        killed = time.time()
        cluster.members[victim].kill()

        def dead(victim: str = victim, killed: float = killed) -> bool:
            cluster.refresh()
            return cluster.declared_dead_by_all(victim, killed) is not None

        try:
            await wait_for(dead, 90, f"{cluster.system}: {victim} declared dead")
            moment = cluster.declared_dead_by_all(victim, killed)
            assert moment is not None
            times.append(moment - killed)
        except RuntimeError:
            missed += 1
        restarted = time.time()
        cluster.members[victim].start(lab)

        def back(victim: str = victim, restarted: float = restarted) -> bool:
            cluster.refresh()
            return cluster.alive_for_all(victim, restarted)

        await wait_for(back, 90, f"{cluster.system}: {victim} alive again")
        await asyncio.sleep(2.0)  # settle: the next kill starts from a quiet cluster
    return {"kills": kills, "missed": missed,
            "p50_s": round(percentile(times, 0.5), 3) if times else None,
            "p99_s": round(percentile(times, 0.99), 3) if times else None,
            "max_s": round(max(times), 3) if times else None,
            "all_s": [round(t, 3) for t in times]}


def bandwidth(lab: Lab, seconds: float) -> dict[str, float]:
    """Bytes per second per member (in + out) over `seconds`, per system."""
    before = {node: _counted_bytes(lab, node) for node in lab.nodes}
    time.sleep(seconds)
    after = {node: _counted_bytes(lab, node) for node in lab.nodes}
    return {system: round(sum(after[n][system] - before[n][system] for n in lab.nodes) / seconds / len(lab.nodes), 1)
            for system in SYSTEMS}


async def measure(lab: Lab, scratch: Path, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    for node in lab.nodes:
        _count_rules(lab, node)
    clusters = build(lab, scratch, generate_key())
    try:
        await asyncio.gather(*(converge(cluster) for cluster in clusters.values()))
        await asyncio.sleep(5)
        quiet = await asyncio.to_thread(bandwidth, lab, args.bandwidth_seconds)
        detection = dict(zip(SYSTEMS, await asyncio.gather(
            *(kill_rounds(lab, clusters[system], args.kills, rng) for system in SYSTEMS)), strict=True))
        await asyncio.sleep(5)
        for cluster in clusters.values():
            cluster.refresh()
        start = time.time()
        for node in lab.nodes:
            random_loss(lab, node, args.loss_percent)
        try:
            lossy = await asyncio.to_thread(bandwidth, lab, args.loss_seconds)
        finally:
            for node in lab.nodes:
                clear_rules(lab, node)
        end = time.time()
        await asyncio.sleep(2)
        false_deaths = {}
        for system, cluster in clusters.items():
            cluster.refresh()
            false_deaths[system] = cluster.deaths_between(start, end + 1)
    finally:
        for cluster in clusters.values():
            for member in cluster.members.values():
                member.kill()
    return {"quiet": quiet, "lossy": lossy, "detection": detection, "false_deaths": false_deaths}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker nodes besides the master (the lab has 2)")
    parser.add_argument("--kills", type=int, default=20, help="kills per system")
    parser.add_argument("--bandwidth-seconds", type=float, default=60.0)
    parser.add_argument("--loss-percent", type=int, default=10)
    parser.add_argument("--loss-seconds", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("serf") is None:
        sys.exit("gossip_bench: needs HashiCorp Serf (Debian package serf)")
    if os.geteuid() != 0:
        sys.exit("gossip_bench: needs root (network namespaces, nftables)")
    base = ROOT / ".kubelab" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as scratch, lab_session(Path(scratch)) as start:
        lab = start(workers=args.workers, daemons=["apiserver"])
        results = asyncio.run(measure(lab, Path(scratch), args))
    detection, quiet = results["detection"], results["quiet"]
    ours, theirs = detection["kubelab"], detection["serf"]
    report = {
        "nodes": args.workers + 1, "kills_per_system": args.kills,
        "loss": {"percent_each_way": args.loss_percent, "seconds": args.loss_seconds},
        "kubelab": {"detection_p50_s": ours["p50_s"], "detection_p99_s": ours["p99_s"],
                    "detection_max_s": ours["max_s"], "kills_not_detected": ours["missed"],
                    "false_deaths_under_loss": len(results["false_deaths"]["kubelab"]),
                    "bytes_per_s_per_member": quiet["kubelab"],
                    "bytes_per_s_per_member_under_loss": results["lossy"]["kubelab"]},
        "serf": {"detection_p50_s": theirs["p50_s"], "detection_p99_s": theirs["p99_s"],
                 "detection_max_s": theirs["max_s"], "kills_not_detected": theirs["missed"],
                 "false_deaths_under_loss": len(results["false_deaths"]["serf"]),
                 "bytes_per_s_per_member": quiet["serf"],
                 "bytes_per_s_per_member_under_loss": results["lossy"]["serf"]},
        "detections_s": {"kubelab": ours["all_s"], "serf": theirs["all_s"]},
        "false_deaths": results["false_deaths"],
    }
    p99 = ours["p99_s"]
    report["targets"] = {
        "detection_p99_s": {"target": 3.0, "reached": p99, "met": p99 is not None and p99 < 3.0
                            and ours["missed"] == 0},
        "false_deaths_under_loss": {"target": 0, "reached": len(results["false_deaths"]["kubelab"]),
                                    "met": not results["false_deaths"]["kubelab"]},
        "bytes_per_s_per_member": {"target": f"<= serf ({quiet['serf']})", "reached": quiet["kubelab"],
                                   "met": quiet["kubelab"] <= quiet["serf"]},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
