"""Settings of `kubelab up`, `kubelab status` and `kubelab down`, built from flags and env vars here.

Every flag falls back to `KUBELAB_LAB_<FLAG>` (`KUBELAB_LAB_PREFIX`, `KUBELAB_LAB_SUBNET`, ...), so
one environment describes one lab for all three commands.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from controlplane.client.config import default_path as default_client_config
from controlplane.daemon import ConfigError, add_flag, env_name, not_negative, positive
from controlplane.lab.daemons import DAEMON_NAMES
from controlplane.lab.plan import (
    DEFAULT_PREFIX,
    DEFAULT_STATE_DIR,
    DEFAULT_SUBNET,
    DEFAULT_WORKERS,
    PlanError,
    check_prefix,
    default_state_dir,
    parse_subnet,
    plan_lab,
)

ENV = "LAB"


def kubelab_command() -> tuple[str, ...]:
    """How to run `kubelab` inside a node: the script beside this interpreter (the venv's), else `-m`."""
    script = Path(sys.executable).parent / "kubelab"
    return (str(script),) if script.exists() else (sys.executable, "-m", "controlplane.cli")


@dataclass(frozen=True, slots=True)
class UpConfig:
    # Names every netns, interface and cgroup of the lab (`<prefix>-master`, `<prefix>-br0`).
    prefix: str = DEFAULT_PREFIX
    # Host .1 on the bridge, master .10, worker i at .10+i.
    subnet: ipaddress.IPv4Network = DEFAULT_SUBNET
    workers: int = DEFAULT_WORKERS
    # lab.json, and per node its daemons' logs and data (default /var/lib/kubelab/<prefix>).
    state_dir: Path = DEFAULT_STATE_DIR
    # The daemons of the table to start (a test may leave out one that is not written yet); the Ready
    # wait for Nodes happens only when the agent is among them.
    daemons: tuple[str, ...] = DAEMON_NAMES
    # Seconds for the whole of `up`, from the first interface to the last Ready Node.
    timeout: float = 120.0
    # Where `klctl` finds the lab: $KUBELAB_CONFIG, else ~/.kubelab/config.
    client_config: Path = Path("~/.kubelab/config")
    # The command that runs a daemon inside a node (`nsenter --net=/run/netns/NODE <kubelab> DAEMON ...`).
    kubelab: tuple[str, ...] = ("kubelab",)
    # How the nodes' proxies forward services: userspace or nftables.
    proxy_mode: str = "userspace"


@dataclass(frozen=True, slots=True)
class DownConfig:
    prefix: str = DEFAULT_PREFIX
    # Used only without a state file, to recognise a client config pointing at this lab.
    subnet: ipaddress.IPv4Network = DEFAULT_SUBNET
    state_dir: Path = DEFAULT_STATE_DIR
    # Seconds a daemon has to stop after SIGTERM before SIGKILL.
    grace: float = 10.0
    # Leave the daemons' *.log files in the state dir (everything else goes).
    keep_logs: bool = False
    client_config: Path = Path("~/.kubelab/config")


@dataclass(frozen=True, slots=True)
class StatusConfig:
    prefix: str = DEFAULT_PREFIX
    state_dir: Path = DEFAULT_STATE_DIR
    # Seconds to wait for the API server's answer about Nodes.
    timeout: float = 3.0


def _common(p: argparse.ArgumentParser) -> None:
    add_flag(p, ENV, "--prefix", default=DEFAULT_PREFIX,
             help="names of the lab's namespaces, interfaces and cgroups (letters and digits, at most 9)")
    add_flag(p, ENV, "--state-dir", default="", help="the lab's state, logs and data (default /var/lib/kubelab/PREFIX)")


def _prefix_and_state_dir(args: argparse.Namespace) -> tuple[str, Path]:
    try:
        prefix = check_prefix(args.prefix)
    except PlanError as error:
        raise ConfigError(str(error)) from None
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir(prefix)
    if not state_dir.is_absolute():
        state_dir = Path.cwd() / state_dir
    state_dir = state_dir.resolve()
    if len(state_dir.parts) < 3:
        raise ConfigError(f"--state-dir {str(args.state_dir)!r}: choose a directory of its own, e.g. "
                          f"{default_state_dir(prefix)}")
    return prefix, state_dir


def _subnet(text: str) -> ipaddress.IPv4Network:
    try:
        return parse_subnet(text)
    except PlanError as error:
        raise ConfigError(str(error)) from None


def up_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab up", description="Build the one-machine lab: nodes as network "
                                "namespaces on a bridge, every daemon inside its node, and the client config.")
    _common(p)
    add_flag(p, ENV, "--subnet", default=str(DEFAULT_SUBNET), help="node network (host .1, master .10, workers .11...)")
    add_flag(p, ENV, "--workers", default=DEFAULT_WORKERS, type=int, help="number of worker nodes")
    add_flag(p, ENV, "--timeout", default=UpConfig().timeout, type=float,
             help="seconds to wait for the API server and every Node to be Ready")
    add_flag(p, ENV, "--proxy-mode", default=UpConfig().proxy_mode, choices=["userspace", "nftables"],
             help="how the nodes' proxies forward services")
    # For tests while a daemon is being written: `--daemons apiserver` starts only those of the table.
    p.add_argument("--daemons", default=os.environ.get(env_name(ENV, "--daemons"), ",".join(DAEMON_NAMES)),
                   help=argparse.SUPPRESS)
    return p


def up_from_args(argv: list[str]) -> UpConfig:
    args = up_parser().parse_args(argv)
    prefix, state_dir = _prefix_and_state_dir(args)
    subnet = _subnet(args.subnet)
    daemons = tuple(name.strip() for name in str(args.daemons).split(",") if name.strip())
    unknown = [name for name in daemons if name not in DAEMON_NAMES]
    if unknown:
        raise ConfigError(f"--daemons: unknown daemon {unknown[0]!r} (known: {', '.join(DAEMON_NAMES)})")
    if "apiserver" not in daemons:
        raise ConfigError("--daemons: the lab needs the apiserver")
    positive(args, "timeout")
    try:
        plan_lab(prefix, subnet, args.workers)
    except PlanError as error:
        raise ConfigError(str(error)) from None
    return UpConfig(prefix=prefix, subnet=subnet, workers=args.workers, state_dir=state_dir,
                    daemons=tuple(name for name in DAEMON_NAMES if name in daemons), timeout=args.timeout,
                    proxy_mode=args.proxy_mode,
                    client_config=default_client_config(), kubelab=kubelab_command())


def down_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab down", description="Stop every process of the lab and remove every "
                                "namespace, interface, mount and cgroup it made, even after a crash.")
    _common(p)
    add_flag(p, ENV, "--subnet", default=str(DEFAULT_SUBNET),
             help="the lab's subnet, used only if its state file is gone")
    add_flag(p, ENV, "--grace", default=DownConfig().grace, type=float,
             help="seconds a daemon has to stop after SIGTERM before SIGKILL")
    p.add_argument("--keep-logs", action="store_true", help="leave the daemons' logs in the state dir")
    return p


def down_from_args(argv: list[str]) -> DownConfig:
    args = down_parser().parse_args(argv)
    prefix, state_dir = _prefix_and_state_dir(args)
    not_negative(args, "grace")
    subnet = _subnet(args.subnet)
    try:
        plan_lab(prefix, subnet, 0)
    except PlanError as error:
        raise ConfigError(str(error)) from None
    return DownConfig(prefix=prefix, subnet=subnet, state_dir=state_dir, grace=args.grace,
                      keep_logs=args.keep_logs, client_config=default_client_config())


def status_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab status", description="The lab's nodes, daemons and Node readiness.")
    _common(p)
    add_flag(p, ENV, "--timeout", default=StatusConfig().timeout, type=float,
             help="seconds to wait for the API server's answer")
    return p


def status_from_args(argv: list[str]) -> StatusConfig:
    args = status_parser().parse_args(argv)
    prefix, state_dir = _prefix_and_state_dir(args)
    return StatusConfig(prefix=prefix, state_dir=state_dir, timeout=args.timeout)
