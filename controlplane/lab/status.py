"""`kubelab status`: the lab's nodes and addresses, each daemon alive or not, and Node readiness."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from controlplane.api import kinds
from controlplane.api.errors import ApiError
from controlplane.api.v1 import core_pb2
from controlplane.client import ClientConfig, connect
from controlplane.lab import procs
from controlplane.lab.config import StatusConfig
from controlplane.lab.daemons import NODE_AGENT
from controlplane.lab.errors import LabError
from controlplane.lab.ownership import NETNS_DIR
from controlplane.lab.readiness import NodeReadiness, readiness
from controlplane.lab.state import LabState, StateError, load, state_path

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LabStatus:
    state: LabState
    api: str  # "answering (...)" or "not answering: ..."
    api_ok: bool
    nodes: list[NodeReadiness] | None  # None when the API server did not answer
    running: dict[int, bool]  # pid -> alive (the same process `up` started)
    netns: dict[str, bool]  # node name -> its netns exists


async def collect(config: StatusConfig) -> LabStatus:
    try:
        state = load(config.state_dir)
    except StateError as error:
        raise LabError(str(error)) from None
    if state is None:
        raise LabError(f"no lab {config.prefix} here ({state_path(config.state_dir)} does not exist); "
                       "`kubelab up` builds one")
    plan = state.plan
    running = {d.pid: procs.is_same_process(d.pid, d.start_time) for d in state.daemons}
    netns = {node.name: os.path.exists(NETNS_DIR / node.netns) for node in plan.nodes}
    client = connect(ClientConfig(server=plan.api_address), timeout=config.timeout)
    nodes: list[NodeReadiness] | None = None
    try:
        info = await client.server_info()
        api, api_ok = f"answering (v{info.version}, store {info.store}, revision {info.revision})", True
        items, _ = await client.list(kinds.by_kind("Node"))
        nodes = readiness([n.name for n in plan.nodes], [i for i in items if isinstance(i, core_pb2.Node)])
    except ApiError as error:
        api, api_ok = f"not answering: {error.message}", False
    finally:
        await client.close()
    return LabStatus(state, api, api_ok, nodes, running, netns)


def render(status: LabStatus) -> str:
    state, plan = status.state, status.state.plan
    ready = {n.name: n.ready or "-" for n in status.nodes} if status.nodes is not None else {}
    lines = [f"lab {plan.prefix}: {len(plan.nodes)} nodes on {plan.subnet} (host {plan.host_ip} on {plan.bridge}), "
             f"state {state.state_dir}, phase {state.phase}",
             f"API server {plan.api_address}: {status.api}",
             "",
             f"{'NODE':<10} {'IP':<15} {'POD CIDR':<15} {'NETNS':<20} READY"]
    for node in plan.nodes:
        netns = node.netns if status.netns.get(node.name) else f"{node.netns} (missing)"
        lines.append(f"{node.name:<10} {node.ip!s:<15} {node.pod_cidr!s:<15} {netns:<20} {ready.get(node.name, '?')}")
    lines += ["", f"{'DAEMON':<20} {'NODE':<10} {'PID':<8} STATE"]
    for record in state.daemons:
        alive = "running" if status.running.get(record.pid) else "dead"
        lines.append(f"{record.daemon:<20} {record.node:<10} {record.pid:<8} {alive}")
    if state.client_config:
        lines += ["", f"client config: {state.client_config}"]
    return "\n".join(lines)


def problems(status: LabStatus) -> str:
    """One line saying what is wrong, "" when everything runs."""
    found = [f"{d.daemon} on {d.node} is not running" for d in status.state.daemons if not status.running.get(d.pid)]
    found += [f"netns of {name} is missing" for name, ok in status.netns.items() if not ok]
    if not status.api_ok:
        found.append(f"the API server is {status.api}")
    with_agent = {d.node for d in status.state.daemons if d.daemon == NODE_AGENT}
    found += [f"node {n.describe()}" for n in status.nodes or ()
              if n.name in with_agent and not n.is_ready]
    return "; ".join(found)
