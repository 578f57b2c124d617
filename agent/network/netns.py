"""Named network namespaces (/run/netns/NAME) and the mount namespace they must be made in.

`ip netns add` keeps a namespace alive by bind-mounting it on /run/netns/NAME. That mount must be
made in the machine's mount namespace, or the rest of the machine (the runtime's helpers, `kubelab
down`, the next agent after a restart) sees an empty file where the pod's namespace should be. A
process started with `ip netns exec NODE ...` runs in a mount namespace of its own that only
*receives* mounts from the host ("master:" in /proc/self/mountinfo), so the agent must be put in
its node's network namespace alone: `nsenter --net=/run/netns/NODE kubelab agent ...`.
`propagation_problem` spots the wrong way from /proc/self/mountinfo (a pure function).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

NETNS_DIR = Path("/run/netns")


def netns_path(name: str) -> Path:
    return NETNS_DIR / name


def netns_state(path: Path) -> str:
    """"mounted" (a live namespace), "stale" (a file with nothing mounted on it) or "absent".

    Blocking (stat): call from a thread."""
    try:
        own = os.stat(path)
    except FileNotFoundError:
        return "absent"
    return "mounted" if own.st_dev != os.stat(path.parent).st_dev else "stale"


def propagation_problem(mountinfo: str, netns_dir: str = str(NETNS_DIR)) -> str | None:
    """Why namespaces mounted under `netns_dir` from this mount namespace would not reach the
    host's, or None when they would. `mountinfo` is the text of /proc/self/mountinfo."""
    directory = PurePosixPath(netns_dir)
    best: tuple[int, list[str]] | None = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) < 7 or "-" not in fields[6:]:
            continue
        mount_point = PurePosixPath(fields[4].replace("\\040", " "))
        if directory != mount_point and mount_point not in directory.parents:
            continue
        depth = len(mount_point.parts)
        if best is None or depth >= best[0]:  # the deepest, and of equal ones the last (topmost)
            best = (depth, fields[6:fields.index("-", 6)])
    if best is None:
        return None
    tags = best[1]
    if any(tag.startswith("master:") for tag in tags):
        return (f"this process runs in a mount namespace that only receives mounts from the host (as under "
                f"`ip netns exec`), so the pod network namespaces it would mount under {directory} would be "
                "invisible to the rest of the machine and vanish with it; start the agent in its node's "
                "network namespace alone (`nsenter --net=/run/netns/NODE kubelab agent ...`) or in the root "
                "namespaces")
    return None
