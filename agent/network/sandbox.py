"""A pod's network sandbox as the rest of the agent sees it, and its record on disk.

Each pod has a directory `<state_dir>/<uid>/` holding `sandbox.json` (written before any kernel
object is made, removed after the last is gone, so a crash in between leaves a record to finish
or undo) and the files its containers see as /etc/hosts, /etc/resolv.conf and /etc/hostname.
The store's methods do blocking file I/O: call them from a thread.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.network.files import write_atomic
from agent.network.names import RESERVED
from agent.network.netns import netns_path

RECORD = "sandbox.json"
HOSTS = "hosts"
RESOLV_CONF = "resolv.conf"
HOSTNAME = "hostname"


@dataclass(frozen=True)
class Sandbox:
    pod_uid: str
    netns: str  # the name under /run/netns
    netns_path: Path  # what runtimes join: /run/netns/<netns>
    ip: str
    gateway: str
    # Bind-mount these at /etc/hosts, /etc/resolv.conf and /etc/hostname in every container.
    hosts_file: Path
    resolv_conf: Path
    hostname_file: Path


@dataclass(frozen=True)
class SandboxRecord:
    pod_uid: str
    pod_name: str
    namespace: str
    netns: str
    veth: str  # node-side end of the veth pair
    ip: str
    gateway: str
    prefixlen: int


class SandboxStore:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def directory(self, pod_uid: str) -> Path:
        return self.state_dir / pod_uid

    def sandbox(self, record: SandboxRecord) -> Sandbox:
        directory = self.directory(record.pod_uid)
        return Sandbox(pod_uid=record.pod_uid, netns=record.netns, netns_path=netns_path(record.netns),
                       ip=record.ip, gateway=record.gateway, hosts_file=directory / HOSTS,
                       resolv_conf=directory / RESOLV_CONF, hostname_file=directory / HOSTNAME)

    def load(self, pod_uid: str) -> SandboxRecord | None:
        try:
            data = json.loads((self.directory(pod_uid) / RECORD).read_text())
            return SandboxRecord(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            return None  # torn or foreign: treated as absent; remove_sandbox still cleans by name

    def load_all(self) -> list[SandboxRecord]:
        if not self.state_dir.is_dir():
            return []
        records = []
        for entry in sorted(self.state_dir.iterdir()):
            if entry.name in RESERVED or not entry.is_dir():
                continue
            record = self.load(entry.name)
            if record is not None:
                records.append(record)
        return records

    def save(self, record: SandboxRecord) -> None:
        directory = self.directory(record.pod_uid)
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(directory / RECORD, json.dumps(asdict(record), indent=1) + "\n")

    def write_files(self, pod_uid: str, texts: dict[str, str]) -> None:
        """Write the pod's files where their content changed, in place: containers bind-mount them,
        and a bind mount keeps the inode it was given, so a rename would go unseen."""
        directory = self.directory(pod_uid)
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            path = directory / name
            try:
                if path.read_text() == text:
                    continue
            except FileNotFoundError:
                pass
            path.write_text(text)
            path.chmod(0o644)

    def delete(self, pod_uid: str) -> None:
        """The pod's directory, its record last."""
        directory = self.directory(pod_uid)
        if not directory.is_dir():
            return
        for entry in directory.iterdir():
            if entry.name != RECORD:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink(missing_ok=True)
        (directory / RECORD).unlink(missing_ok=True)
        directory.rmdir()

