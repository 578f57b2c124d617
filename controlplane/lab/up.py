"""`kubelab up`: build the lab, start its daemons stage by stage, wait until it works, write the
client config. On any failure (or Ctrl-C) it takes down what it built and says what it last saw."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from agent.gossip.keyring import generate_key, write_keyring_file
from controlplane.api import kinds
from controlplane.api.errors import ApiError
from controlplane.api.v1 import core_pb2
from controlplane.client import ClientConfig, connect
from controlplane.client.config import write_client_config
from controlplane.lab import network, procs
from controlplane.lab.config import DownConfig, UpConfig
from controlplane.lab.daemons import NODE_AGENT, Launch, Stage, gossip_keyring_path, launches
from controlplane.lab.down import MOUNTINFO, Teardown
from controlplane.lab.errors import LabError
from controlplane.lab.ip import CommandError, Runner
from controlplane.lab.ownership import NETNS_DIR, in_node_dir, is_node_dir, parse_mountinfo
from controlplane.lab.plan import DEFAULT_PREFIX, LabPlan, default_state_dir, plan_lab
from controlplane.lab.readiness import not_ready_summary, readiness
from controlplane.lab.state import DaemonRecord, LabState, save, state_path

POLL = 0.2
ATTEMPT_TIMEOUT = 2.0  # seconds for one question to the API server while waiting for it
TEARDOWN_GRACE = 5.0

Say = Callable[[str], None]


class Children:
    """The daemons `up` started, still its children while it runs: an exit is seen at once."""

    def __init__(self) -> None:
        self.launches: dict[int, Launch] = {}

    def add(self, pid: int, launch: Launch) -> None:
        self.launches[pid] = launch

    def check(self) -> None:
        """LabError naming the first daemon that exited, with the end of its log."""
        for pid, launch in self.launches.items():
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done:
                code = os.waitstatus_to_exitcode(status)
                how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
                raise LabError(f"{launch.daemon} on {launch.node.name} {how}: {_last_line(launch.log)} "
                               f"(log: {launch.log})")

    def reap(self) -> None:
        """Collect the exit status of the daemons that have stopped (no zombies while `up` lives on)."""
        for pid in self.launches:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1].strip()[:300] if lines else "empty log"


def daemon_argv(config: UpConfig, launch: Launch) -> tuple[str, ...]:
    """`nsenter --net=/run/netns/NODE kubelab DAEMON ...`: the daemon enters its node's network namespace
    and nothing else. Not `ip netns exec`, whose private mount namespace would hide from the machine
    every mount the agent makes (pod netns files, volumes), and drop them when the agent stops."""
    return ("nsenter", f"--net={NETNS_DIR / launch.node.netns}", *config.kubelab, launch.daemon, *launch.args)


def spawn(config: UpConfig, launch: Launch) -> DaemonRecord:
    """Start a daemon in its node, in its own session, with its output appended to its log."""
    launch.log.parent.mkdir(parents=True, exist_ok=True)
    argv = daemon_argv(config, launch)
    # The proxies' mode reaches them as their --mode flag's env var (daemons.py has no per-lab settings).
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KUBELAB_PROXY_MODE": config.proxy_mode}
    pid = os.posix_spawnp(argv[0], argv, env, setsid=True, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(launch.log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ])
    # nsenter execs the daemon in place (it forks only to enter a pid namespace), so this pid is the
    # daemon's; not yet reaped, it cannot have been reused, so the start time read now is the daemon's.
    return DaemonRecord(launch.node.name, launch.daemon, pid, procs.start_time(pid), str(launch.log), argv)


class Builder:
    def __init__(self, config: UpConfig, say: Say) -> None:
        self.config = config
        self.say = say
        self.plan = plan_lab(config.prefix, config.subnet, config.workers)
        self.ip = Runner()
        self.children = Children()
        self.state = LabState(config.prefix, config.subnet, config.workers, config.state_dir, created=time.time())
        self.deadline = 0.0

    async def run(self) -> LabState:
        await self.preflight()
        await asyncio.to_thread(self.prepare_state_dir)
        save(self.state)
        self.deadline = time.monotonic() + self.config.timeout
        try:
            await self.build()
        except BaseException:
            self.say(f"taking down what was built of lab {self.plan.prefix}")
            await self.teardown()
            raise
        return self.state

    async def preflight(self) -> None:
        plan, config = self.plan, self.config
        hint = _flags_hint(config)
        if state_path(config.state_dir).exists():
            raise LabError(f"lab {plan.prefix} already exists ({state_path(config.state_dir)}); see `kubelab status"
                           f"{hint}`, or `kubelab down{hint}` first")
        leftovers = [*await network.lab_netns(self.ip, plan.prefix), *await network.lab_links(self.ip, plan.prefix)]
        if leftovers:
            raise LabError(f"leftovers of a lab {plan.prefix} are still here ({', '.join(leftovers)}); "
                           f"run `kubelab down{hint}` first")
        routes = await network.routes_into(self.ip, plan.subnet)
        if routes:
            raise LabError(f"--subnet {plan.subnet} is already in use on this machine (route {routes[0]}); "
                           "choose another with --subnet")

    def prepare_state_dir(self) -> None:
        """An empty start: node directories left by an earlier lab (its logs) go, unless something is
        mounted inside them."""
        state_dir = self.config.state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        mounts = [m for m in parse_mountinfo(MOUNTINFO.read_text())
                  if in_node_dir(m.mount_point, PurePosixPath(state_dir))]
        if mounts:
            raise LabError(f"{mounts[0].mount_point} is mounted inside the state dir; run `kubelab down"
                           f"{_flags_hint(self.config)}` first")
        for entry in state_dir.iterdir():
            if is_node_dir(entry.name) and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)

    async def build(self) -> None:
        plan = self.plan
        self.say(f"creating {len(plan.nodes)} nodes on {plan.subnet} (bridge {plan.bridge})")
        await network.build(self.ip, plan)
        key = generate_key()  # a fresh cluster key, a copy for each node
        for node in plan.nodes:
            write_keyring_file(gossip_keyring_path(self.config.state_dir, node), [key])
        todo = launches(plan, self.config.state_dir, self.config.daemons)
        for stage in Stage:
            batch = [launch for launch in todo if launch.stage == stage]
            for launch in batch:
                record = spawn(self.config, launch)
                self.children.add(record.pid, launch)
                self.state = self.state.with_daemon(record)
                save(self.state)
            if batch:
                self.say("started " + ", ".join(f"{b.daemon} on {b.node.name}" for b in batch))
            if stage == Stage.API:
                await self.wait_api()
            elif stage == Stage.NODES and NODE_AGENT in self.config.daemons:
                await self.wait_nodes_ready()
        write_client_config(self.config.client_config, ClientConfig(server=plan.api_address))
        self.state = replace(self.state, client_config=str(self.config.client_config), phase="up")
        save(self.state)

    def _timed_out(self, what: str, last: str, log: Path | None) -> LabError:
        where = f" (log: {log})" if log else ""
        return LabError(f"timed out after {self.config.timeout:g}s waiting for {what}; last saw: {last}{where}")

    async def wait_api(self) -> None:
        self.say(f"waiting for the API server at {self.plan.api_address}")
        last = "no answer yet"
        while True:
            self.children.check()
            client = connect(ClientConfig(server=self.plan.api_address), timeout=ATTEMPT_TIMEOUT)
            try:
                await client.server_info()
                return
            except ApiError as error:
                last = error.message
            finally:
                await client.close()
            if time.monotonic() > self.deadline:
                raise self._timed_out(f"the API server at {self.plan.api_address}", last,
                                      self.config.state_dir / self.plan.master.name / "apiserver.log")
            await asyncio.sleep(POLL)

    async def wait_nodes_ready(self) -> None:
        names = [node.name for node in self.plan.nodes]
        self.say(f"waiting for nodes {', '.join(names)} to be Ready")
        last = "no answer yet"
        node_kind = kinds.by_kind("Node")
        while True:
            self.children.check()
            client = connect(ClientConfig(server=self.plan.api_address), timeout=ATTEMPT_TIMEOUT)
            try:
                items, _ = await client.list(node_kind)
                nodes = [item for item in items if isinstance(item, core_pb2.Node)]
                last = not_ready_summary(readiness(names, nodes))
                if not last:
                    return
            except ApiError as error:
                last = error.message
            finally:
                await client.close()
            if time.monotonic() > self.deadline:
                raise self._timed_out("every node to be Ready", last, None)
            await asyncio.sleep(POLL)

    async def teardown(self) -> None:
        down_config = DownConfig(prefix=self.config.prefix, subnet=self.config.subnet,
                                 state_dir=self.config.state_dir, grace=TEARDOWN_GRACE, keep_logs=True,
                                 client_config=self.config.client_config)
        teardown = Teardown(down_config, lambda line: None, self.ip)
        try:
            await teardown.run()
        except (LabError, CommandError, OSError) as error:
            self.say(f"the teardown left something: {error}")
        self.children.reap()


def _flags_hint(config: UpConfig | DownConfig) -> str:
    """The flags that name this lab for `status` and `down` ("" for the default lab)."""
    parts = []
    if config.prefix != DEFAULT_PREFIX:
        parts.append(f" --prefix {config.prefix}")
    if config.state_dir != default_state_dir(config.prefix):
        parts.append(f" --state-dir {config.state_dir}")
    return "".join(parts)


def summary(config: UpConfig, plan: LabPlan) -> str:
    hint = _flags_hint(config)
    rows = [f"  {n.name:<9} {n.ip!s:<15} pods {n.pod_cidr!s:<15} netns {n.netns}" for n in plan.nodes]
    return "\n".join([
        f"lab {plan.prefix} is up: {len(plan.nodes)} nodes on {plan.subnet} (host {plan.host_ip} on {plan.bridge})",
        *rows,
        f"API server: {plan.api_address}; client config: {config.client_config}",
        f"logs: {config.state_dir}/<node>/<daemon>.log",
        f"try: klctl get nodes; kubelab status{hint}; kubelab down{hint}",
    ])


async def up(config: UpConfig, say: Say) -> LabState:
    builder = Builder(config, say)
    state = await builder.run()
    say(summary(config, builder.plan))
    return state
