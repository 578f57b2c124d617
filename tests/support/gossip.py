"""`kubelab gossip` processes for tests: started on loopback with free ports, their member events
read back from their JSON logs, killed at the end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Self

import grpc

from controlplane.api.v1 import gossip_pb2, gossip_pb2_grpc
from tests.support.daemon import DaemonProcess, log_events
from tests.support.lab import Lab


class GossipProcess(DaemonProcess):
    """`kubelab gossip` with its gossip socket and its Members service on free ports of `host`."""

    def __init__(self, name: str, log_path: Path, *args: str, host: str = "127.0.0.1") -> None:
        # ready once the member runs: its Members service is up before (gossip.serving)
        super().__init__("gossip", ["--name", name, "--bind", f"{host}:0", "--listen", f"{host}:0", *args],
                         log_path, "gossip.started", new_session=True)
        self.name = name
        self.host = host
        self.address = ""  # HOST:PORT of its gossip socket
        self.listen = ""  # HOST:PORT of its Members gRPC service

    def start(self, timeout: float = 20.0) -> Self:
        super().start(timeout)
        self.address = str(self.ready["address"])
        self.listen = str(self.events("gossip.serving")[0]["listen"])
        return self

    def view(self) -> gossip_pb2.GossipView:
        with grpc.insecure_channel(self.listen) as channel:
            stub = gossip_pb2_grpc.MembersStub(channel)  # type: ignore[no-untyped-call]
            view: gossip_pb2.GossipView = stub.List(gossip_pb2.MembersRequest(), timeout=5)
            return view

    def statuses(self) -> dict[str, str]:
        return {m.name: m.status for m in self.view().members}


# ------------------------------------------------------------------ on a lab

NFT_TABLE = "klgossiptest"  # the tests' own nftables table in a node's netns (never the project's)


def lab_members(lab: Lab, node: str = "") -> dict[str, Any]:
    """`klctl get members -o json [--node NODE]`: the gossip cluster as that node sees it."""
    args = ["get", "members", "-o", "json"] + (["--node", node] if node else [])
    result = lab.klctl(*args)
    assert result.returncode == 0, f"klctl {' '.join(args)}: {result.stderr.strip()}"
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def statuses(lab: Lab, node: str = "") -> dict[str, str]:
    return {item["name"]: item["status"] for item in lab_members(lab, node)["items"]}


def agent_log_events(lab: Lab, node: str, event: str) -> list[dict[str, Any]]:
    return log_events(lab.log(node, "agent").splitlines(), event)


def nft(lab: Lab, node: str, ruleset: str) -> None:
    result = subprocess.run(["ip", "netns", "exec", lab.netns(node), "nft", "-f", "-"], input=ruleset,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"nft in {node}: {result.stderr.strip()}"


def drop_between(lab: Lab, node: str, peer_ip: str) -> None:
    """Every packet between this node and `peer_ip` dropped, both ways (inside the node's netns)."""
    nft(lab, node, f"""table inet {NFT_TABLE} {{
  chain input {{ type filter hook input priority -10; ip saddr {peer_ip} drop; }}
  chain output {{ type filter hook output priority -10; ip daddr {peer_ip} drop; }}
}}
""")


def random_loss(lab: Lab, node: str, percent: int) -> None:
    """`percent`% of the packets on the node's link dropped at random, going out and coming in."""
    drop = f"numgen random mod 100 < {percent} counter drop"
    nft(lab, node, f"""table inet {NFT_TABLE} {{
  chain input {{ type filter hook input priority -10; iifname "eth0" {drop}; }}
  chain output {{ type filter hook output priority -10; oifname "eth0" {drop}; }}
}}
""")


def dropped_packets(lab: Lab, node: str) -> int:
    result = subprocess.run(["ip", "netns", "exec", lab.netns(node), "nft", "-j", "list", "table", "inet", NFT_TABLE],
                            capture_output=True, text=True, timeout=30)
    total = 0
    for item in json.loads(result.stdout or "{}").get("nftables", []):
        for expression in item.get("rule", {}).get("expr", []):
            if "counter" in expression:
                total += int(expression["counter"]["packets"])
    return total


def clear_rules(lab: Lab, node: str) -> None:
    subprocess.run(["ip", "netns", "exec", lab.netns(node), "nft", "delete", "table", "inet", NFT_TABLE],
                   capture_output=True, text=True, timeout=30)
