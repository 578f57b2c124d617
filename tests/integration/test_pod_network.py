"""Pod networking for real, on a two-node topology of network namespaces this test builds.

    netns <P>-n1                                     netns <P>-n2
      <P>a 10.250.0.1/24  <-------- veth -------->  <P>b 10.250.0.2/24
      pods 10.250.1.0/24 on bridge <P>br            pods 10.250.2.0/24 on bridge <P>br

<P> is `klnt` and a random token, so nothing here can touch what another test or the machine
owns. In each node a PodNetwork runs as the agent runs it: a process put into the node's network
namespace with `nsenter --net` (the same file, run as a script, is that process; it answers one
JSON request per line). Every namespace, interface and process is removed after each test, however
it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import ipaddress
import json
import os
import secrets
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.network.names import netns_name, veth_name
from tests.support.wait import eventually

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
ROUTE_PROTOCOL = "107"
PORT = 8080

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: network namespaces, veths, bridges"),
    pytest.mark.skipif(not (shutil.which("nsenter") and shutil.which("busybox") and shutil.which("ip")),
                       reason="needs nsenter, busybox and iproute2"),
]


# --- running things ------------------------------------------------------------------------------

@dataclasses.dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


async def run(*argv: str, timeout: float = 15) -> Result:
    process = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


async def check(*argv: str) -> str:
    result = await run(*argv)
    assert result.returncode == 0, f"{' '.join(argv)}: {result.stderr.strip()}"
    return result.stdout


async def netns_names() -> list[str]:
    text = (await check("ip", "-j", "netns", "list")).strip()
    return [item["name"] for item in json.loads(text)] if text else []


async def links(netns: str) -> list[str]:
    return [item["ifname"] for item in json.loads(await check("ip", "-n", netns, "-j", "link", "show"))]


async def routes(netns: str, *selector: str) -> list[str]:
    return [item["dst"] for item in json.loads(await check("ip", "-n", netns, "-4", "-j", "route", "show", *selector))]


async def ping(pod_netns: str, address: str, *, wait: int = 2) -> bool:
    result = await run("ip", "netns", "exec", pod_netns, "busybox", "ping", "-c", "1", "-W", str(wait), address)
    return result.returncode == 0


async def fetch(pod_netns: str, url: str) -> str:
    # No `-T`: busybox 1.35's wget crashes with it; run() has a deadline of its own.
    result = await run("ip", "netns", "exec", pod_netns, "busybox", "wget", "-q", "-O", "-", url)
    assert result.returncode == 0, f"wget {url} from {pod_netns}: {result.stderr.strip()}"
    return result.stdout


# --- the topology --------------------------------------------------------------------------------

@dataclasses.dataclass
class Node:
    netns: str
    ip: str
    link: str
    pod_cidr: str
    bridge: str
    state_dir: Path
    resolv_conf: Path

    def spec(self) -> dict[str, str]:
        return {"pod_cidr": self.pod_cidr, "bridge": self.bridge, "netns_prefix": self.netns,
                "state_dir": str(self.state_dir), "resolv_conf": str(self.resolv_conf)}


class AgentError(Exception):
    pass


class Agent:
    """A PodNetwork in its own process inside a node's network namespace; `call` is one request."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self.process = process
        self.log_path = log_path
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            answer = json.loads(line)
            future = self._waiting.pop(answer["id"], None)
            if future is not None and not future.done():
                future.set_result(answer)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(AgentError(f"agent exited; its log: {self.log()}"))

    def log(self) -> str:
        return self.log_path.read_text()[-3000:] if self.log_path.exists() else ""

    async def call(self, op: str, **kwargs: Any) -> Any:
        assert self.process.stdin is not None
        self._next += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        self.process.stdin.write(json.dumps({"id": self._next, "op": op, "kwargs": kwargs}).encode() + b"\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(60):
            answer = await future
        if "error" in answer:
            raise AgentError(answer["error"])
        return answer["result"]

    async def stop(self) -> None:
        if self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class Lab:
    def __init__(self, tmp_path: Path) -> None:
        self.prefix = f"klnt{secrets.token_hex(3)}"
        self.tmp_path = tmp_path
        self.processes: list[asyncio.subprocess.Process] = []
        self.agents: list[Agent] = []
        resolv = tmp_path / "node-resolv.conf"
        resolv.write_text("nameserver 10.250.0.53\nsearch lab.example\noptions timeout:2\n")
        self.nodes = [
            Node(netns=f"{self.prefix}-n{i}", ip=f"10.250.0.{i}", link=f"{self.prefix}{'ab'[i - 1]}",
                 pod_cidr=f"10.250.{i}.0/24", bridge=f"{self.prefix}br", state_dir=tmp_path / f"n{i}" / "network",
                 resolv_conf=resolv)
            for i in (1, 2)
        ]

    async def build(self) -> None:
        n1, n2 = self.nodes
        for node in self.nodes:
            await check("ip", "netns", "add", node.netns)
            await check("ip", "-n", node.netns, "link", "set", "lo", "up")
        await check("ip", "-n", n1.netns, "link", "add", n1.link, "type", "veth", "peer", "name", n2.link,
                    "netns", n2.netns)
        for node in self.nodes:
            await check("ip", "-n", node.netns, "addr", "add", f"{node.ip}/24", "dev", node.link)
            await check("ip", "-n", node.netns, "link", "set", node.link, "up")
        # Someone else's route (not kubelab's): set_routes and teardown_node must leave it alone.
        await check("ip", "-n", n1.netns, "route", "add", "10.250.99.0/24", "via", n2.ip)

    async def agent(self, node: Node, *, launcher: tuple[str, ...] = ()) -> Agent:
        """Start a PodNetwork process in `node`, as the agent is started: `nsenter --net=...`."""
        launcher = launcher or ("nsenter", f"--net=/run/netns/{node.netns}")
        log_path = self.tmp_path / f"{node.netns}-agent-{len(self.agents)}.log"
        with log_path.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                *launcher, PYTHON, "-m", "tests.integration.test_pod_network", json.dumps(node.spec()),
                cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log_file)
        self.processes.append(process)
        agent = Agent(process, log_path)
        self.agents.append(agent)
        return agent

    async def serve(self, pod_netns: str, body: str) -> None:
        """An HTTP server on PORT in the pod, answering GET /who with `body`."""
        root = self.tmp_path / "www" / pod_netns
        root.mkdir(parents=True)
        (root / "who").write_text(body)
        self.processes.append(await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", pod_netns, "busybox", "httpd", "-f", "-p", str(PORT), "-h", str(root),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL))

    async def ours(self) -> list[str]:
        return [name for name in await netns_names() if name.startswith(self.prefix)]

    async def clean(self) -> None:
        """Kill what this test started, then delete every namespace carrying its prefix (pods first;
        a node's namespace takes its bridge and veths with it)."""
        for agent in self.agents:
            with contextlib.suppress(Exception):
                await agent.stop()
        for process in self.processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        for name in sorted(await self.ours(), key=len, reverse=True):
            await run("ip", "netns", "delete", name)
        assert await self.ours() == [], "namespaces left behind"


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    topology = Lab(tmp_path)
    try:
        await topology.build()
        yield topology
    finally:
        await topology.clean()


def dns(**overrides: Any) -> dict[str, Any]:
    return {"policy": "ClusterFirst", **overrides}


async def create(agent: Agent, name: str, *, namespace: str = "default", uid: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    sandbox: dict[str, Any] = await agent.call(
        "create_sandbox", pod_uid=uid or str(uuid.uuid4()), pod_name=name, namespace=namespace, hostname=name,
        dns=dns(), **extra)
    return sandbox


# --- the stories ---------------------------------------------------------------------------------

async def test_a_pod_gets_an_address_its_files_and_reaches_its_gateway(lab: Lab) -> None:
    n1 = lab.nodes[0]
    agent = await lab.agent(n1)
    await agent.call("setup_node")
    await agent.call("setup_node")  # idempotent
    sandbox = await create(agent, "web-0", namespace="shop", subdomain="web",
                           host_aliases=[["10.1.2.3", ["foo.remote", "bar.remote"]]])

    assert sandbox["ip"] == "10.250.1.2" and sandbox["gateway"] == "10.250.1.1"
    assert sandbox["netns"].startswith(f"{n1.netns}-") and sandbox["netns"] in await netns_names()
    assert await ping(sandbox["netns"], sandbox["gateway"])
    eth0 = json.loads(await check("ip", "-n", sandbox["netns"], "-j", "addr", "show", "dev", "eth0"))[0]
    assert [(a["local"], a["prefixlen"]) for a in eth0["addr_info"] if a["family"] == "inet"] == [("10.250.1.2", 24)]
    assert "default via 10.250.1.1 dev eth0" in await check("ip", "-n", sandbox["netns"], "route", "show")

    assert Path(sandbox["hosts_file"]).read_text().endswith(
        "10.250.1.2\tweb-0.web.shop.svc.cluster.local\tweb-0\n"
        "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.remote\tbar.remote\n")
    assert Path(sandbox["resolv_conf"]).read_text() == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local lab.example\n"
        "nameserver 10.96.0.10\noptions ndots:5\n")
    assert Path(sandbox["hostname_file"]).read_text() == "web-0\n"


async def test_ten_pods_on_one_node_all_listen_on_the_same_port_and_reach_each_other(lab: Lab) -> None:
    agent = await lab.agent(lab.nodes[0])
    await agent.call("setup_node")
    pods = await asyncio.gather(*(create(agent, f"app-{i}") for i in range(10)))  # concurrently

    addresses = [pod["ip"] for pod in pods]
    assert len(set(addresses)) == 10
    assert all(ipaddress.IPv4Address(a) in ipaddress.IPv4Network("10.250.1.0/24") for a in addresses)
    for i, pod in enumerate(pods):
        await lab.serve(pod["netns"], f"app-{i}")
    client = pods[0]["netns"]
    for i, pod in enumerate(pods):
        url = f"http://{pod['ip']}:{PORT}/who"
        body = await eventually(functools.partial(fetch, client, url), timeout=10, what=f"app-{i} answering at {url}")
        assert body == f"app-{i}"
    assert await ping(pods[9]["netns"], pods[3]["ip"])


async def test_pods_on_different_nodes_reach_each_other_by_pod_ip_once_routes_are_set(lab: Lab) -> None:
    n1, n2 = lab.nodes
    a1, a2 = await lab.agent(n1), await lab.agent(n2)
    await asyncio.gather(a1.call("setup_node"), a2.call("setup_node"))
    p1, p2 = await create(a1, "client"), await create(a2, "server")
    assert p2["ip"] == "10.250.2.2"
    await lab.serve(p2["netns"], "server on node 2")
    assert not await ping(p1["netns"], p2["ip"], wait=1), "reachable before any route was set"

    # Each node is told every node's CIDR (its own is skipped) and a route someone else already has.
    everyone = {n1.pod_cidr: n1.ip, n2.pod_cidr: n2.ip, "10.250.99.0/24": n2.ip}
    await asyncio.gather(a1.call("set_routes", routes=everyone), a2.call("set_routes", routes=everyone))
    await a1.call("set_routes", routes=everyone)  # idempotent

    assert await routes(n1.netns, "proto", ROUTE_PROTOCOL) == [n2.pod_cidr]
    assert await routes(n2.netns, "proto", ROUTE_PROTOCOL) == [n1.pod_cidr, "10.250.99.0/24"]
    assert await ping(p1["netns"], p2["ip"])
    assert await eventually(lambda: fetch(p1["netns"], f"http://{p2['ip']}:{PORT}/who"),
                            timeout=10, what="the pod on node 2 answering") == "server on node 2"

    await a1.call("set_routes", routes={})
    assert await routes(n1.netns, "proto", ROUTE_PROTOCOL) == []
    assert "10.250.99.0/24" in await routes(n1.netns), "someone else's route was removed"
    assert not await ping(p1["netns"], p2["ip"], wait=1)

    with pytest.raises(AgentError, match="could not route to other nodes' pods"):
        await a1.call("set_routes", routes={n2.pod_cidr: "192.0.2.7"})  # not a neighbour


async def test_a_sandbox_made_again_after_a_restart_or_a_breakage_keeps_its_address(lab: Lab) -> None:
    n1 = lab.nodes[0]
    first = await lab.agent(n1)
    await first.call("setup_node")
    a, b = await create(first, "a"), await create(first, "b")
    assert await create(first, "a", uid=a["pod_uid"]) == a

    await first.stop()  # the agent restarts; the pods' namespaces stay
    second = await lab.agent(n1)
    await second.call("setup_node")
    listed = await second.call("sandboxes")
    assert sorted(s["pod_uid"] for s in listed) == sorted([a["pod_uid"], b["pod_uid"]])
    assert {s["pod_uid"]: s for s in listed}[a["pod_uid"]] == a
    assert await create(second, "a", uid=a["pod_uid"]) == a
    assert await ping(a["netns"], b["ip"])

    await check("ip", "-n", n1.netns, "link", "del", veth_name(a["pod_uid"]))  # a piece goes missing
    assert not await ping(b["netns"], a["ip"], wait=1)
    assert await create(second, "a", uid=a["pod_uid"]) == a  # made whole again, same address
    assert await ping(b["netns"], a["ip"])
    c = await create(second, "c")
    assert c["ip"] not in (a["ip"], b["ip"])


async def test_a_sandbox_whose_namespace_vanished_is_dropped_and_its_address_freed(lab: Lab) -> None:
    n1 = lab.nodes[0]
    agent = await lab.agent(n1)
    await agent.call("setup_node")
    gone, kept = await create(agent, "gone"), await create(agent, "kept")
    await check("ip", "netns", "delete", gone["netns"])  # as after a reboot

    assert [s["pod_uid"] for s in await agent.call("sandboxes")] == [kept["pod_uid"]]
    assert not (n1.state_dir / "ipam" / gone["ip"]).exists()
    assert not (n1.state_dir / gone["pod_uid"]).exists()
    assert (n1.state_dir / "ipam" / kept["ip"]).read_text() == kept["pod_uid"]

    # /run on disk keeps a namespace's file over a reboot, with nothing mounted on it any more
    uid = str(uuid.uuid4())
    stale = Path("/run/netns") / netns_name(n1.netns, uid)
    stale.touch()
    revived = await create(agent, "revived", uid=uid)
    assert revived["netns"] == stale.name and await ping(revived["netns"], kept["ip"])


async def test_remove_and_teardown_leave_no_namespace_interface_or_route(lab: Lab) -> None:
    n1, n2 = lab.nodes
    a1, a2 = await lab.agent(n1), await lab.agent(n2)
    await asyncio.gather(a1.call("setup_node"), a2.call("setup_node"))
    pods = [await create(a1, "x"), await create(a1, "y"), await create(a2, "z")]
    await a1.call("set_routes", routes={n2.pod_cidr: n2.ip})
    await a2.call("set_routes", routes={n1.pod_cidr: n1.ip})
    await lab.serve(pods[0]["netns"], "x")

    x = pods[0]
    await a1.call("remove_sandbox", pod_uid=x["pod_uid"])
    await a1.call("remove_sandbox", pod_uid=x["pod_uid"])  # idempotent
    assert x["netns"] not in await netns_names()
    node_links = await links(n1.netns)
    assert veth_name(x["pod_uid"]) not in node_links and veth_name(pods[1]["pod_uid"]) in node_links
    assert not (n1.state_dir / x["pod_uid"]).exists() and not (n1.state_dir / "ipam" / x["ip"]).exists()

    await asyncio.gather(a1.call("teardown_node"), a2.call("teardown_node"))
    assert sorted(await lab.ours()) == sorted([n1.netns, n2.netns])  # only the nodes this test made
    for node, agent in zip(lab.nodes, (a1, a2), strict=True):
        assert sorted(await links(node.netns)) == sorted(["lo", node.link])
        assert await routes(node.netns, "proto", ROUTE_PROTOCOL) == []
        assert await agent.call("sandboxes") == []
    assert "10.250.99.0/24" in await routes(n1.netns)
    await a1.call("teardown_node")  # again: nothing to do


async def test_the_agent_refuses_a_mount_namespace_that_would_hide_pod_namespaces(lab: Lab) -> None:
    n1 = lab.nodes[0]
    agent = await lab.agent(n1, launcher=("ip", "netns", "exec", n1.netns))
    with pytest.raises(AgentError, match=r"nsenter --net=/run/netns/NODE"):
        await agent.call("setup_node")
    assert await links(n1.netns) == ["lo", n1.link]


# --- the process inside a node: `python -m tests.integration.test_pod_network SPEC` -------------------

async def _serve(spec_json: str) -> None:
    from agent.network import DnsSettings, NodeNetworkConfig, PodNetwork
    from controlplane.logs import configure_logging

    configure_logging("info", "json")  # on stderr; stdout carries the answers
    spec = json.loads(spec_json)
    network = PodNetwork(NodeNetworkConfig(
        pod_cidr=ipaddress.IPv4Network(spec["pod_cidr"]), bridge=spec["bridge"], netns_prefix=spec["netns_prefix"],
        state_dir=Path(spec["state_dir"]), host_resolv_conf=Path(spec["resolv_conf"])))

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {key: str(item) if isinstance(item, Path) else item
                    for key, item in dataclasses.asdict(value).items()}
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    async def answer(request: dict[str, Any]) -> None:
        op, kwargs = request["op"], request["kwargs"]
        try:
            if op == "create_sandbox":
                fields: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value
                                          for key, value in kwargs["dns"].items()}
                kwargs["dns"] = DnsSettings(**fields)
                kwargs["host_aliases"] = tuple((ip, tuple(names)) for ip, names in kwargs.get("host_aliases", ()))
            if op == "set_routes":
                kwargs["routes"] = {ipaddress.IPv4Network(cidr): via for cidr, via in kwargs["routes"].items()}
            result = await getattr(network, op)(**kwargs)
            reply = {"id": request["id"], "result": plain(result)}
        except Exception as error:
            reply = {"id": request["id"], "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with asyncio.TaskGroup() as group:
        while line := await reader.readline():
            group.create_task(answer(json.loads(line)))


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1]))
