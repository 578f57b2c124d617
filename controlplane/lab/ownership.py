"""Which namespaces, interfaces, cgroups and mounts belong to the lab with prefix P: pure functions.

Everything a lab makes is named `<P>-...` (cgroups: `kubelab-<P>-...`), and a prefix holds no dash,
so the dash ends the prefix: `kl-master` is lab kl's, `klt123-master` is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

NETNS_DIR = PurePosixPath("/run/netns")
NODE_DIR = re.compile(r"master|worker[1-9][0-9]*")


def owns_name(prefix: str, name: str) -> bool:
    """`name` is one the lab `prefix` made: a netns (`<P>-worker1`, pods `<P>-worker1-<uid>`) or an interface."""
    return name.startswith(f"{prefix}-")


def owned_names(prefix: str, names: Iterable[str]) -> list[str]:
    return sorted(name for name in names if owns_name(prefix, name))


def cgroup_name_prefix(prefix: str) -> str:
    return f"kubelab-{prefix}-"


def owns_cgroup(prefix: str, dirname: str) -> bool:
    """A top-level cgroup directory of the lab: `kubelab-<P>-<node>` (the agents' --cgroup-parent)."""
    return dirname.startswith(cgroup_name_prefix(prefix))


def is_node_dir(name: str) -> bool:
    """A per-node directory in the state dir (`master`, `worker3`), the only ones `down` deletes."""
    return NODE_DIR.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class Mount:
    mount_id: int
    parent_id: int
    mount_point: PurePosixPath
    fstype: str
    source: str


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes (`\\040`)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[Mount]:
    """The lines of /proc/<pid>/mountinfo (see proc(5)): `id parent major:minor root mountpoint opts
    [optional fields...] - fstype source superopts`."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 7 or "-" not in fields[6:]:
            continue
        separator = fields.index("-", 6)
        fstype = fields[separator + 1] if len(fields) > separator + 1 else ""
        source = _unescape(fields[separator + 2]) if len(fields) > separator + 2 else ""
        mounts.append(Mount(int(fields[0]), int(fields[1]), PurePosixPath(_unescape(fields[4])), fstype, source))
    return mounts


def in_node_dir(path: PurePosixPath, state_dir: PurePosixPath) -> bool:
    """`path` is inside a node's directory of the state dir (`<state>/worker1/agent/pods/...`)."""
    if state_dir not in path.parents:
        return False
    return is_node_dir(path.relative_to(state_dir).parts[0])


def owned_mounts(mounts: Iterable[Mount], state_dir: PurePosixPath, prefix: str) -> list[Mount]:
    """The lab's mounts, in the order to unmount them: those inside a node's directory of the state dir
    (what the agents mount lives there), and the lab's netns files under /run/netns; deepest path
    first, and on one path the latest mount first."""
    owned = [m for m in mounts
             if in_node_dir(m.mount_point, state_dir)
             or (m.mount_point.parent == NETNS_DIR and owns_name(prefix, m.mount_point.name))]
    return sorted(owned, key=lambda m: (len(m.mount_point.parts), m.mount_id), reverse=True)


def cgroup_roots(mounts: Iterable[Mount]) -> list[PurePosixPath]:
    """Mount points of cgroup hierarchies: each v1 controller (/sys/fs/cgroup/memory, ...) and v2
    (/sys/fs/cgroup or /sys/fs/cgroup/unified)."""
    return sorted({m.mount_point for m in mounts if m.fstype in ("cgroup", "cgroup2")})
