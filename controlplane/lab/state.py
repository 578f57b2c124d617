"""`<state-dir>/lab.json`: what `kubelab up` built, so `status` and `down` find it.

Written atomically after every step of `up`, so a crash of `up` itself still leaves a record.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from controlplane.lab.plan import LabPlan, PlanError, plan_lab

STATE_FILE = "lab.json"


class StateError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DaemonRecord:
    node: str
    daemon: str
    pid: int
    start_time: int | None  # /proc/<pid>/stat field 22; None if it was gone before it could be read
    log: str
    argv: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabState:
    prefix: str
    subnet: ipaddress.IPv4Network
    workers: int
    state_dir: Path
    daemons: tuple[DaemonRecord, ...] = ()
    client_config: str = ""  # the client config file `up` wrote, once written
    phase: str = "building"  # building, up
    created: float = 0.0

    @property
    def plan(self) -> LabPlan:
        return plan_lab(self.prefix, self.subnet, self.workers)

    def with_daemon(self, record: DaemonRecord) -> LabState:
        return replace(self, daemons=(*self.daemons, record))

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "prefix": self.prefix, "subnet": str(self.subnet), "workers": self.workers,
            "stateDir": str(self.state_dir), "phase": self.phase, "created": self.created,
            "hostIP": str(plan.host_ip), "bridge": plan.bridge, "apiServer": plan.api_address,
            "clientConfig": self.client_config,
            "nodes": [{"name": n.name, "role": n.role, "ip": str(n.ip), "podCIDR": str(n.pod_cidr),
                       "netns": n.netns, "hostVeth": n.host_veth, "cgroupParent": n.cgroup_parent}
                      for n in plan.nodes],
            "daemons": [{"node": d.node, "daemon": d.daemon, "pid": d.pid, "startTime": d.start_time,
                         "log": d.log, "argv": list(d.argv)} for d in self.daemons],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        try:
            state = cls(
                prefix=str(data["prefix"]), subnet=ipaddress.IPv4Network(data["subnet"]),
                workers=int(data["workers"]), state_dir=Path(data["stateDir"]),
                daemons=tuple(DaemonRecord(str(d["node"]), str(d["daemon"]), int(d["pid"]),
                                           None if d.get("startTime") is None else int(d["startTime"]),
                                           str(d.get("log", "")), tuple(d.get("argv", ())))
                              for d in data.get("daemons", ())),
                client_config=str(data.get("clientConfig", "")), phase=str(data.get("phase", "")),
                created=float(data.get("created", 0.0)))
            state.plan  # noqa: B018 - a prefix, subnet and worker count a lab can have
        except PlanError as error:
            raise StateError(f"not a lab's plan ({error})") from None
        except (KeyError, TypeError, ValueError) as error:
            raise StateError(f"not a lab state ({type(error).__name__}: {error})") from None
        return state


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def save(state: LabState) -> None:
    path = state_path(state.state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    os.replace(temporary, path)


def load(state_dir: Path) -> LabState | None:
    """The lab's state, None if there is no state file; StateError if it is unreadable."""
    path = state_path(state_dir)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateError(f"{path}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise StateError(f"{path}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise StateError(f"{path}: not a lab state")
    try:
        return LabState.from_json(data)
    except StateError as error:
        raise StateError(f"{path}: {error}") from None
