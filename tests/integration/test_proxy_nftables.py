"""The nftables rules the proxy generates, loaded into a real kernel in namespaces of the test's own:
a node with two pods on a bridge and a client outside. The same text, full and incremental, that
`kubelab proxy --mode nftables` sends to `nft -f`.

    netns <P>-out: kle1 192.168.77.1 ── kle0 192.168.77.2  netns <P>-node  klbr0 10.244.1.1/24
                                                                            ├─ <P>-pod1 10.244.1.2
                                                                            └─ <P>-pod2 10.244.1.3
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from proxy.model import Endpoint, ServicePort, ServicePortName
from proxy.nft import diff
from proxy.nft.ruleset import Desired, NodeContext, fragment, merge
from proxy.routing import route
from tests.support.lab import unique_prefix
from tests.support.wait import eventually_sync

pytestmark = [pytest.mark.root]

NODE_IP, OUTSIDE_IP = "192.168.77.2", "192.168.77.1"
POD1, POD2 = "10.244.1.2", "10.244.1.3"
CLUSTER_IP, NODE_PORT = "10.96.0.50", 30080
NAME = ServicePortName("default", "web", "http", "TCP")

SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(64)
while True:
    c, peer = s.accept()
    c.sendall(f"{sys.argv[1]} saw {peer[0]}\\n".encode()); c.close()
"""


def sh(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr.strip()}"
    return result.stdout


@dataclass
class Topology:
    prefix: str
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def nft(self, commands: list[str]) -> None:
        sh("ip", "netns", "exec", self.ns("node"), "nft", "-f", "-", stdin=diff.script(commands))

    def connect(self, netns: str, host: str, port: int) -> subprocess.CompletedProcess[str]:
        """busybox nc: connect, print what the server says until it closes."""
        return subprocess.run(["ip", "netns", "exec", self.ns(netns), "busybox", "nc", "-w", "3", host, str(port)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)

    def ask(self, netns: str, host: str, port: int) -> str:
        result = self.connect(netns, host, port)
        assert result.returncode == 0, f"from {netns} to {host}:{port}: {result.stderr.strip()}"
        return result.stdout.strip()

    def table(self) -> str:
        return sh("ip", "netns", "exec", self.ns("node"), "nft", "list", "tables")


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    t = Topology(unique_prefix())
    names = [t.ns(n) for n in ("node", "out", "pod1", "pod2")]
    try:
        for name in names:
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        node = t.ns("node")
        sh("ip", "-n", node, "link", "add", "kle0", "type", "veth", "peer", "name", "kle1", "netns", t.ns("out"))
        sh("ip", "-n", node, "addr", "add", f"{NODE_IP}/24", "dev", "kle0")
        sh("ip", "-n", node, "link", "set", "kle0", "up")
        # As in the lab: the node routes what is not its own to the outside (the host); without a
        # route, a connection to a cluster IP fails before the output hook could DNAT it.
        sh("ip", "-n", node, "route", "add", "default", "via", OUTSIDE_IP)
        sh("ip", "-n", t.ns("out"), "addr", "add", f"{OUTSIDE_IP}/24", "dev", "kle1")
        sh("ip", "-n", t.ns("out"), "link", "set", "kle1", "up")
        sh("ip", "-n", node, "link", "add", "klbr0", "type", "bridge")
        sh("ip", "-n", node, "addr", "add", "10.244.1.1/24", "dev", "klbr0")
        sh("ip", "-n", node, "link", "set", "klbr0", "up")
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for pod, address in (("pod1", POD1), ("pod2", POD2)):
            sh("ip", "-n", node, "link", "add", f"kl{pod}", "type", "veth", "peer", "name", "eth0", "netns", t.ns(pod))
            sh("ip", "-n", node, "link", "set", f"kl{pod}", "master", "klbr0", "up")
            sh("ip", "-n", node, "link", "set", f"kl{pod}", "type", "bridge_slave", "hairpin", "on")  # as the agent
            sh("ip", "-n", t.ns(pod), "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", t.ns(pod), "link", "set", "eth0", "up")
            sh("ip", "-n", t.ns(pod), "route", "add", "default", "via", "10.244.1.1")
            t.servers.append(subprocess.Popen(["ip", "netns", "exec", t.ns(pod), sys.executable, "-c", SERVER, pod]))
        for pod in ("pod1", "pod2"):
            eventually_sync(lambda p=pod: _answers(t, p), timeout=10, what=f"the server in {pod}")
        yield t
    finally:
        for server in t.servers:
            server.kill()
            server.wait()
        for name in names:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def _answers(t: Topology, pod: str) -> bool:
    return t.connect("node", POD1 if pod == "pod1" else POD2, 8080).returncode == 0


def desired(endpoints: list[Endpoint], context: NodeContext, **port: object) -> Desired:
    service_port = ServicePort(NAME, CLUSTER_IP, 80, node_port=NODE_PORT, **port)  # type: ignore[arg-type]
    result, _ = merge([(NAME, fragment(route(service_port, endpoints, "node"), context))])
    return result


ONE = Endpoint(POD1, 8080, "node")
TWO = Endpoint(POD2, 8080, "node")
CONTEXT = NodeContext(node_ip=NODE_IP)


def test_the_node_pods_and_outside_clients_reach_a_service_and_an_endpoint_change_applies(topology: Topology) -> None:
    state = desired([ONE, TWO], CONTEXT)
    topology.nft(diff.full_load(CONTEXT, state))
    seen = {topology.ask("node", CLUSTER_IP, 80).split()[0] for _ in range(12)}
    assert seen == {"pod1", "pod2"}, "random balancing reaches both endpoints from the node"
    assert topology.ask("pod2", CLUSTER_IP, 80).split()[0] in ("pod1", "pod2")  # same bridge, maybe itself
    assert topology.ask("out", NODE_IP, NODE_PORT).split()[0] in ("pod1", "pod2")

    after = desired([TWO], CONTEXT)
    topology.nft(diff.transaction(state, after))
    assert {topology.ask("node", CLUSTER_IP, 80).split()[0] for _ in range(8)} == {"pod2"}
    topology.nft(diff.removal())
    assert "kubelab" not in topology.table()


def test_external_traffic_is_masqueraded_under_cluster_policy_and_keeps_its_source_under_local(
        topology: Topology) -> None:
    state = desired([ONE], CONTEXT)
    topology.nft(diff.full_load(CONTEXT, state))
    assert topology.ask("out", NODE_IP, NODE_PORT) == "pod1 saw 10.244.1.1"
    local = desired([ONE], CONTEXT, external_local=True)
    topology.nft(diff.transaction(state, local))
    assert topology.ask("out", NODE_IP, NODE_PORT) == f"pod1 saw {OUTSIDE_IP}"


def test_a_pod_reaching_itself_through_its_service_is_masqueraded(topology: Topology) -> None:
    topology.nft(diff.full_load(CONTEXT, desired([ONE], CONTEXT)))
    assert topology.ask("pod1", CLUSTER_IP, 80) == "pod1 saw 10.244.1.1"


def test_without_br_netfilter_same_bridge_connections_are_masqueraded_so_replies_come_back(
        topology: Topology) -> None:
    bridge_filter = "net.bridge.bridge-nf-call-iptables"
    sh("ip", "netns", "exec", topology.ns("node"), "sysctl", "-qw", f"{bridge_filter}=0")
    try:
        plain = desired([ONE], CONTEXT)
        topology.nft(diff.full_load(CONTEXT, plain))
        failed = topology.connect("pod2", CLUSTER_IP, 80)
        assert failed.returncode != 0, "the reply crossed the bridge un-NATed, so the client must not accept it"
        hairpin = NodeContext(node_ip=NODE_IP, hairpin_cidr="10.244.1.0/24")
        topology.nft(diff.full_load(hairpin, desired([ONE], hairpin)))
        assert topology.ask("pod2", CLUSTER_IP, 80) == "pod1 saw 10.244.1.1"
    finally:
        sh("ip", "netns", "exec", topology.ns("node"), "sysctl", "-qw", f"{bridge_filter}=1")


def test_a_service_without_endpoints_is_refused_at_once_and_affinity_sets_load(topology: Topology) -> None:
    topology.nft(diff.full_load(CONTEXT, desired([], CONTEXT)))
    started = time.monotonic()
    refused = topology.connect("pod1", CLUSTER_IP, 80)
    assert refused.returncode != 0 and "Connection refused" in refused.stderr
    assert time.monotonic() - started < 2.5, "a reject answers at once, it does not time out"
    sticky = desired([ONE, TWO], CONTEXT, affinity_seconds=30)
    topology.nft(diff.transaction(desired([], CONTEXT), sticky))
    assert len({topology.ask("node", CLUSTER_IP, 80).split()[0] for _ in range(8)}) == 1


LIBNFTABLES = """
import sys
from proxy.nft.libnftables import Nftables, NftError
nft = Nftables()
nft.run_blocking("add table ip kltcheck\\nadd chain ip kltcheck c\\n")
try:
    nft.run_blocking("add rule ip kltcheck nosuch counter\\n")
except NftError as error:
    print("refused:", str(error).splitlines()[0])
nft.run_blocking("delete table ip kltcheck\\n")
nft.close()
"""


def test_libnftables_applies_scripts_in_the_process_and_reports_nfts_own_errors(topology: Topology) -> None:
    out = sh("ip", "netns", "exec", topology.ns("node"), sys.executable, "-c", LIBNFTABLES)
    assert out.strip() == "refused: Error: Could not process rule: No such file or directory"
    assert "kltcheck" not in topology.table()
