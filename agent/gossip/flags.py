"""The gossip cluster's command-line flags, shared by `kubelab agent` and `kubelab gossip`: the join
addresses, the keys, and every timing knob of config.py, each falling back to an env variable.

    --join HOST[:PORT]          repeated, or a comma list; port 7946 when left out
    --gossip-port 7946          UDP and TCP
    --gossip-key BASE64         one cluster key (16, 24 or 32 bytes)
    --gossip-keyring-file PATH  a JSON list of base64 keys, the primary first; re-read when it changes
    --gossip-probe-interval 0.5 ... (every knob of GossipConfig)
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields
from pathlib import Path

from agent.gossip.config import DEFAULT_PORT, GossipConfig
from agent.gossip.keyring import KeyringError, decode_key, read_keyring_file
from agent.gossip.memberlist import JoinAddressError, parse_join
from controlplane.daemon import ConfigError, env_name, flag_adder

# The knobs offered as flags: (field of GossipConfig, help). Seconds unless said otherwise.
KNOBS = (
    ("probe_interval", "seconds between two probes of this member"),
    ("probe_timeout", "seconds to wait for a direct ack before probing indirectly"),
    ("indirect_checks", "members asked to probe indirectly"),
    ("suspicion_mult", "minimum suspicion, in probe intervals"),
    ("suspicion_max_timeout_mult", "maximum suspicion (without confirmations), in minimums"),
    ("awareness_max_multiplier", "largest stretch of timeouts by poor local health"),
    ("retransmit_mult", "copies of each piggybacked message, times ceil(log10(n + 1))"),
    ("gossip_interval", "seconds between gossip rounds while there is news"),
    ("gossip_nodes", "members gossiped to per round"),
    ("gossip_to_the_dead_time", "seconds a dead member still gets gossip, to refute"),
    ("push_pull_interval", "seconds between full state exchanges over TCP"),
    ("rejoin_interval", "seconds between join attempts while alone"),
    ("reconnect_interval", "seconds between attempts to reach a dead member again"),
    ("reconnect_timeout", "seconds a dead member is kept and tried again"),
    ("tombstone_timeout", "seconds a member that left is kept"),
    ("tcp_timeout", "seconds for one TCP exchange"),
    ("leave_timeout", "seconds a graceful leave may take"),
)
_TYPES = {f.name: f.type for f in fields(GossipConfig)}


def _is_int(name: str) -> bool:
    return _TYPES[name] in (int, "int")


def knob_flag(name: str) -> str:
    return f"--{name.replace('_', '-')}" if name.startswith("gossip_") else f"--gossip-{name.replace('_', '-')}"


def knob_dest(name: str) -> str:
    return _dest(knob_flag(name))


@dataclass(frozen=True, slots=True)
class GossipSettings:
    """What the flags say: the knobs, the join addresses, the keys."""
    knobs: tuple[tuple[str, float | int], ...] = ()  # GossipConfig fields that differ from the defaults
    join: tuple[str, ...] = ()
    port: int = DEFAULT_PORT
    keys: tuple[bytes, ...] = ()
    keyring_file: Path | None = None

    def config(self, name: str, bind_address: str, advertise_address: str = "",
               tags: tuple[tuple[str, str], ...] = ()) -> GossipConfig:
        return GossipConfig(name=name, bind_address=bind_address, bind_port=self.port,
                            advertise_address=advertise_address, join=self.join, tags=tags,
                            **dict(self.knobs))  # type: ignore[arg-type]


def add_list_flag(parser: argparse.ArgumentParser, daemon: str, flag: str, help: str) -> None:
    """A repeatable flag (values may also be comma lists) whose env variable counts only when the
    flag is not given at all; read it back with `list_flag(args, flag)`."""
    variable = env_name(daemon, flag)
    parser.add_argument(flag, action="append", default=None, help=f"{help} (repeat, or a comma list; env {variable})")
    parser.set_defaults(**{f"{_dest(flag)}_from_env": os.environ.get(variable, "")})


def list_flag(args: argparse.Namespace, flag: str) -> list[str]:
    given = getattr(args, _dest(flag)) or [getattr(args, f"{_dest(flag)}_from_env")]
    return [part.strip() for item in given for part in str(item).split(",") if part.strip()]


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_gossip_flags(parser: argparse.ArgumentParser, daemon: str, *, port_flag: bool = True) -> None:
    defaults = GossipConfig(name="")
    flag = flag_adder(parser, daemon)
    add_list_flag(parser, daemon, "--join", "a gossip member to join through, HOST[:PORT]")
    if port_flag:
        flag("--gossip-port", DEFAULT_PORT, "UDP and TCP port of the gossip cluster", type=int)
    flag("--gossip-key", "", "the cluster key, base64 (16, 24 or 32 bytes; `head -c32 /dev/urandom | base64`)")
    flag("--gossip-keyring-file", "", "JSON list of base64 keys, the primary first (re-read when it changes)")
    for name, help in KNOBS:
        kind = int if _is_int(name) else float
        flag(knob_flag(name), getattr(defaults, name), help, type=kind)


def _join_entries(entries: list[str]) -> tuple[str, ...]:
    for entry in entries:
        try:
            parse_join(entry)
        except JoinAddressError as error:
            raise ConfigError(str(error)) from None
    return tuple(dict.fromkeys(entries))


def gossip_settings(args: argparse.Namespace, *, port: int | None = None) -> GossipSettings:
    """Check the gossip flags; ConfigError (one line, naming the flag) when one is wrong."""
    knobs: dict[str, float | int] = {name: getattr(args, knob_dest(name)) for name, _ in KNOBS}
    for name, value in knobs.items():
        if _is_int(name):
            least = 0 if name == "indirect_checks" else 1
            if value < least:
                raise ConfigError(f"{knob_flag(name)} {value}: must be at least {least}")
        elif value <= 0:
            raise ConfigError(f"{knob_flag(name)} {value}: must be more than 0")
    if knobs["probe_timeout"] >= knobs["probe_interval"]:
        raise ConfigError(f"--gossip-probe-timeout {knobs['probe_timeout']}: must be shorter than "
                          f"--gossip-probe-interval ({knobs['probe_interval']})")
    if knobs["suspicion_max_timeout_mult"] < 1:
        raise ConfigError("--gossip-suspicion-max-timeout-mult: must be at least 1")
    chosen_port = port if port is not None else args.gossip_port
    if not 0 <= chosen_port < 65536:
        raise ConfigError(f"--gossip-port {chosen_port}: expected 0 to 65535")
    if args.gossip_key and args.gossip_keyring_file:
        raise ConfigError("--gossip-key and --gossip-keyring-file: give one or the other (the file can rotate keys)")
    keys: tuple[bytes, ...] = ()
    keyring_file = Path(args.gossip_keyring_file) if args.gossip_keyring_file else None
    try:
        if args.gossip_key:
            keys = (decode_key(args.gossip_key),)
        elif keyring_file is not None:
            keys = tuple(read_keyring_file(keyring_file))
    except KeyringError as error:
        flag = "--gossip-key" if args.gossip_key else "--gossip-keyring-file"
        raise ConfigError(f"{flag}: {error}") from None
    join = _join_entries(list_flag(args, "--join"))
    return GossipSettings(tuple(knobs.items()), join, chosen_port, keys, keyring_file)
