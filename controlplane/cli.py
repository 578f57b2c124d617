"""`kubelab`: one command for every daemon and admin task (`kubelab apiserver --help`)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

from controlplane.daemon import ConfigError, run
from controlplane.logs import configure_logging

USAGE = """usage: kubelab COMMAND [FLAGS]

commands:
  apiserver   the API server and its store (gRPC on :6443)
  up          build the one-machine lab: nodes as network namespaces, every daemon inside its node
  status      the lab's nodes, daemons and Node readiness
  down        stop and remove everything the lab made, even after a crash
  agent       the node agent: registers its Node and runs the pods bound to it
  controller-manager
              the control plane's reconcile loops (Deployments, ReplicaSets, nodes, ...)
  gossip      one member of the gossip cluster on its own (the agent runs one too)
  scheduler   binds pending pods to nodes (filters, scores, FailedScheduling events)
  hollow-nodes
              many simulated nodes in one process (like KWOK), for scale tests
  dns         the cluster DNS: Service and pod names from watch caches, on the node's address
  proxy       the service proxy of a node (kube-proxy): userspace or nftables mode

Run `kubelab COMMAND --help` for a command's flags."""


def _daemon(name: str, package: str) -> Callable[[list[str]], int]:
    """`kubelab NAME`: `<package>.config.from_args` builds the settings, `<package>.server.serve` runs."""

    def start(argv: list[str]) -> int:
        config_module = importlib.import_module(f"{package}.config")
        server_module = importlib.import_module(f"{package}.server")
        try:
            config = config_module.from_args(argv)
        except ConfigError as error:
            print(f"kubelab {name}: {error}", file=sys.stderr)
            return 2
        configure_logging(config.log_level, config.log_format)
        return run(lambda: server_module.serve(config), f"kubelab {name}")

    return start


def _lab(command: str) -> Callable[[list[str]], int]:
    """`kubelab up|status|down` (controlplane/lab/commands.py)."""

    def run_lab_command(argv: list[str]) -> int:
        from controlplane.lab import commands

        main: Callable[[list[str]], int] = getattr(commands, f"{command}_main")
        return main(argv)

    return run_lab_command


COMMANDS = {"apiserver": _daemon("apiserver", "controlplane.apiserver"), "agent": _daemon("agent", "agent"),
            "controller-manager": _daemon("controller-manager", "controlplane.controllermanager"),
            "gossip": _daemon("gossip", "agent.gossipd"),
            "scheduler": _daemon("scheduler", "controlplane.scheduler"),
            "hollow-nodes": _daemon("hollow-nodes", "controlplane.hollow"),
            "dns": _daemon("dns", "controlplane.dns"),
            "proxy": _daemon("proxy", "proxy"),
            "up": _lab("up"), "status": _lab("status"), "down": _lab("down")}


def main(argv: list[str] | None = None) -> int:
    # Before grpc is imported: its fork support runs handlers in every forked child, and children
    # that the daemons fork to exec something else (`ip`, container monitors, exec helpers) were
    # seen to crash in them (SIGSEGV before exec) about one time in three.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"kubelab: unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    return command(args[1:])


if __name__ == "__main__":
    sys.exit(main())
