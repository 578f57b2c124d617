"""Settings of `kubelab gossip`, from flags and env vars (KUBELAB_GOSSIP_<FLAG>) in one place."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from agent.gossip.config import DEFAULT_PORT, GossipConfig
from agent.gossip.flags import add_gossip_flags, add_list_flag, gossip_settings, list_flag
from controlplane.daemon import ConfigError, add_log_flags, flag_adder, ip_address, key_value, listen_address

DAEMON = "GOSSIP"


@dataclass(frozen=True, slots=True)
class GossipDaemonConfig:
    gossip: GossipConfig
    keys: tuple[bytes, ...] = ()
    keyring_file: Path | None = None
    # HOST:PORT for the Members gRPC service (this member's view); empty: none.
    listen: str = ""
    log_level: str = "info"
    log_format: str = "auto"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab gossip", description="One member of kubelab's gossip cluster "
                                "(SWIM with Lifeguard) on its own; member events are logged, one JSON line each.")
    flag = flag_adder(p, DAEMON)

    flag("--name", socket.gethostname(), "this member's name, unique in the cluster")
    flag("--bind", f"0.0.0.0:{DEFAULT_PORT}", "HOST:PORT for UDP and TCP")
    flag("--advertise", "", "the IP others reach this member at (default: the bind address)")
    add_list_flag(p, DAEMON, "--tag", "metadata, KEY=VALUE")
    flag("--listen", "", "HOST:PORT to serve this member's view over gRPC (kubelab.api.v1.Members)")
    add_gossip_flags(p, DAEMON, port_flag=False)
    add_log_flags(p, DAEMON)
    return p


def _tags(items: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple(dict(key_value("--tag", item) for item in items).items())  # a repeated key: the last wins


def from_args(argv: list[str]) -> GossipDaemonConfig:
    args = parser().parse_args(argv)
    host, _, port_text = listen_address("--bind", str(args.bind), example=f"10.0.0.1:{DEFAULT_PORT}").rpartition(":")
    bind = ip_address("--bind", host.strip("[]"))
    advertise = ip_address("--advertise", args.advertise) if args.advertise else ""
    if not advertise and ipaddress.ip_address(bind).is_unspecified:
        raise ConfigError(f"--advertise: required when binding {bind} (which address should others use?)")
    if not args.name:
        raise ConfigError("--name must not be empty")
    if len(args.name.encode()) > 255:
        raise ConfigError("--name: at most 255 bytes")
    settings = gossip_settings(args, port=int(port_text))
    return GossipDaemonConfig(gossip=settings.config(args.name, bind, advertise, _tags(list_flag(args, "--tag"))),
                              keys=settings.keys, keyring_file=settings.keyring_file, listen=args.listen,
                              log_level=args.log_level, log_format=args.log_format)
