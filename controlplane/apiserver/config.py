"""The API server's settings, built from flags and env vars in one place."""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from controlplane.daemon import (
    ConfigError,
    add_flag,
    add_log_flags,
    ipv4_address,
    ipv4_network,
    listen_address,
    not_negative,
    positive,
)

DAEMON = "APISERVER"
DEFAULT_SERVICE_CIDR = ipaddress.IPv4Network("10.96.0.0/12")


@dataclass(frozen=True, slots=True)
class ApiServerConfig:
    # HOST:PORT to serve gRPC on; port 0 picks a free one (the `apiserver.serving` log line says which).
    listen: str = "0.0.0.0:6443"
    # Where the SQLite store keeps its file.
    data_dir: Path = Path("/var/lib/kubelab/apiserver")
    store: str = "sqlite"
    # Cluster IPs come from here; the first address goes to the `kubernetes` Service.
    service_cidr: ipaddress.IPv4Network = DEFAULT_SERVICE_CIDR
    node_port_low: int = 30000
    node_port_high: int = 32767
    # The address the `kubernetes` Service's endpoints point at ("" = the listen host, or 127.0.0.1).
    advertise_address: str = ""
    # Idle watchers that asked for bookmarks get one this often (Kubernetes: about a minute).
    bookmark_interval: float = 60.0
    # History older than one interval is compacted every interval (Kubernetes: 5 minutes); 0 = never.
    compaction_interval: float = 300.0
    # Events are deleted this long after their last write (Kubernetes' --event-ttl, 1h).
    event_ttl: float = 3600.0
    # DefaultTolerationSeconds admission: how long pods tolerate a not-ready / unreachable node.
    default_not_ready_toleration_seconds: int = 300
    default_unreachable_toleration_seconds: int = 300
    log_level: str = "info"
    log_format: str = "auto"

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab apiserver", description="The kubelab API server and its store.")
    d = ApiServerConfig()
    add_flag(p, DAEMON, "--listen", default=d.listen, help="HOST:PORT to serve the gRPC API on")
    add_flag(p, DAEMON, "--data-dir", default=str(d.data_dir), help="directory of the store's files")
    add_flag(p, DAEMON, "--store", default=d.store, choices=["sqlite"], help="storage backend")
    add_flag(p, DAEMON, "--service-cidr", default=str(d.service_cidr), help="range of Service cluster IPs")
    add_flag(p, DAEMON, "--node-port-range", default=f"{d.node_port_low}-{d.node_port_high}",
             help="range of Service node ports")
    add_flag(p, DAEMON, "--advertise-address", default=d.advertise_address,
             help="address other components reach this API server at")
    add_flag(p, DAEMON, "--bookmark-interval", default=d.bookmark_interval, type=float,
             help="seconds of silence before a watcher gets a BOOKMARK")
    add_flag(p, DAEMON, "--compaction-interval", default=d.compaction_interval, type=float,
             help="seconds between compactions of store history (0: never)")
    add_flag(p, DAEMON, "--event-ttl", default=d.event_ttl, type=float,
             help="seconds an Event is kept after its last write")
    add_flag(p, DAEMON, "--default-not-ready-toleration-seconds", default=d.default_not_ready_toleration_seconds,
             type=int, help="tolerationSeconds of the not-ready:NoExecute toleration every pod gets")
    add_flag(p, DAEMON, "--default-unreachable-toleration-seconds",
             default=d.default_unreachable_toleration_seconds, type=int,
             help="tolerationSeconds of the unreachable:NoExecute toleration every pod gets")
    add_log_flags(p, DAEMON)
    return p


def from_args(argv: list[str]) -> ApiServerConfig:
    args = parser().parse_args(argv)
    listen_address("--listen", args.listen, example="0.0.0.0:6443")
    cidr = ipv4_network("--service-cidr", args.service_cidr)
    if cidr.num_addresses < 8:
        raise ConfigError(f"--service-cidr {args.service_cidr!r}: too small (needs at least a /29)")
    low, sep, high = str(args.node_port_range).partition("-")
    if not sep or not low.isdigit() or not high.isdigit() or not 0 < int(low) <= int(high) <= 65535:
        raise ConfigError(f"--node-port-range {args.node_port_range!r}: expected LOW-HIGH, e.g. 30000-32767")
    if args.advertise_address:
        ipv4_address("--advertise-address", args.advertise_address)
    positive(args, "bookmark_interval")
    not_negative(args, "compaction_interval")
    positive(args, "event_ttl")
    not_negative(args, "default_not_ready_toleration_seconds", "default_unreachable_toleration_seconds")
    return ApiServerConfig(
        listen=args.listen, data_dir=Path(args.data_dir), store=args.store, service_cidr=cidr,
        node_port_low=int(low), node_port_high=int(high), advertise_address=args.advertise_address,
        bookmark_interval=args.bookmark_interval, compaction_interval=args.compaction_interval,
        event_ttl=args.event_ttl,
        default_not_ready_toleration_seconds=args.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds=args.default_unreachable_toleration_seconds,
        log_level=args.log_level, log_format=args.log_format,
    )
