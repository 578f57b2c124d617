"""Settings of `kubelab gossip`, from flags and env vars (KUBELAB_GOSSIP_<FLAG>) in one place."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from agent.gossip.config import DEFAULT_PORT, GossipConfig
from agent.gossip.flags import add_gossip_flags, add_list_flag, gossip_settings, list_flag
from controlplane.daemon import ConfigError, add_flag

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

    def flag(name: str, default: object, help: str, **kwargs: object) -> None:
        add_flag(p, DAEMON, name, default=default, help=help, **kwargs)

    flag("--name", socket.gethostname(), "this member's name, unique in the cluster")
    flag("--bind", f"0.0.0.0:{DEFAULT_PORT}", "HOST:PORT for UDP and TCP")
    flag("--advertise", "", "the IP others reach this member at (default: the bind address)")
    add_list_flag(p, DAEMON, "--tag", "metadata, KEY=VALUE")
    flag("--listen", "", "HOST:PORT to serve this member's view over gRPC (kubelab.api.v1.Members)")
    add_gossip_flags(p, DAEMON, port_flag=False)
    flag("--log-level", "info", "log level", choices=["debug", "info", "warning", "error"])
    flag("--log-format", "auto", "log format", choices=["auto", "json", "console"])
    return p


def _address(text: str, flag: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: not an IP address") from None


def _tags(items: list[str]) -> tuple[tuple[str, str], ...]:
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--tag {item!r}: expected KEY=VALUE")
        tags[key] = value
    return tuple(tags.items())


def from_args(argv: list[str]) -> GossipDaemonConfig:
    args = parser().parse_args(argv)
    host, sep, port_text = str(args.bind).rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ConfigError(f"--bind {args.bind!r}: expected HOST:PORT")
    bind = _address(host.strip("[]"), "--bind")
    advertise = _address(args.advertise, "--advertise") if args.advertise else ""
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
