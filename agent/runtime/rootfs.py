"""A container's root filesystem: a copy-on-write overlay of the host's `/`, and its mount plan.

The overlay is `lowerdir=/`, with the container's own `upper/` and `work/` under the state directory;
it is mounted by the container's first process inside its new mount namespace (nsinit.py), so it
never appears in the host's mount table and goes away with the container's last process.

Before the start, the agent writes into `upper/` what the image adds (nginx's html and config, busybox's
applet links, see agent/images/catalog.py) and empty *opaque* directories that hide the host's
content: /tmp and /run (as fresh as in an image), the runtime's state directory (other containers'
layers and logs) and the directories of kubelab's own credentials. Paths are placed where the host
resolves them (/bin/sh lands in upper/usr/bin/sh when /bin links to usr/bin).

The mount plan (pure data, carried out by nsinit.py, targets resolved inside the new root):
/proc, /sys (read-only), a tmpfs /dev with the usual device nodes, /dev/pts (a new instance),
/dev/shm, /dev/mqueue, runc's read-only and masked /proc and /sys paths, then /etc/hosts,
/etc/resolv.conf and /etc/hostname (replacing a symlink, as Docker does), then host directories an
image's programs need that the overlay does not show (they are on another filesystem than /), then
the image's shared directories (made once per node, read-only: busybox's applet links), then the
pod's volumes, read-only where asked. Before the exec, the capability bounding set is cut to
CAPABILITIES. This is a teaching runtime's isolation, not a security boundary: the container runs as
root in the host's user namespace and sees the host's files.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import structlog

from agent.images.catalog import ImageConfig, ImageFile, SharedDir
from agent.runtime.interface import Mount

log = structlog.get_logger("runtime.rootfs")

OPAQUE_XATTR = "trusted.overlay.opaque"
ALWAYS_HIDDEN = ("/tmp", "/run")
# kubelab's own secrets on a node: not for containers' eyes (hidden only where they exist)
CREDENTIAL_DIRS = ("/etc/kubelab", "/root/.kubelab", "/var/lib/kubelab")

# runc's defaults: what a container must not write (the host's kernel settings) or read (its memory)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
MASKED_PATHS = ("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware")
# The capabilities a container keeps (Docker's default set less MKNOD, as there is no device cgroup here):
# no CAP_SYS_ADMIN (mounts), CAP_NET_ADMIN (the pod's network), CAP_SYS_MODULE, CAP_SYS_PTRACE...
CAPABILITIES = {"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6, "SETUID": 7,
                "SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13, "SYS_CHROOT": 18, "AUDIT_WRITE": 29,
                "SETFCAP": 31}

DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))


def mount_plan(*, etc_hosts: Path, resolv_conf: Path, hostname_file: Path, volumes: Sequence[Mount],
               host_paths: Iterable[str], root_device: int | None, shared: Sequence[tuple[Path, str]] = (),
               device_of: Callable[[str], int | None] | None = None) -> list[dict[str, Any]]:
    """The steps nsinit.py carries out under the new root, in order (pure but for `device_of`)."""
    device_of = device_of or _device_of
    plan: list[dict[str, Any]] = [
        {"op": "mount", "source": "proc", "target": "/proc", "fstype": "proc",
         "flags": ["nosuid", "nodev", "noexec"]},
        {"op": "mount", "source": "sysfs", "target": "/sys", "fstype": "sysfs",
         "flags": ["nosuid", "nodev", "noexec", "ro"]},
        {"op": "mount", "source": "tmpfs", "target": "/dev", "fstype": "tmpfs",
         "flags": ["nosuid", "strictatime"], "data": "mode=755,size=65536k"},
    ]
    plan += [{"op": "mknod", "target": f"/dev/{name}", "major": major, "minor": minor, "mode": 0o666}
             for name, major, minor in DEVICES]
    plan += [
        {"op": "mount", "source": "devpts", "target": "/dev/pts", "fstype": "devpts",
         "flags": ["nosuid", "noexec"], "data": "newinstance,ptmxmode=0666,mode=0620,gid=5"},
        {"op": "symlink", "target": "/dev/ptmx", "link": "pts/ptmx"},
        {"op": "mount", "source": "shm", "target": "/dev/shm", "fstype": "tmpfs",
         "flags": ["nosuid", "nodev", "noexec"], "data": "mode=1777,size=65536k"},
        {"op": "mount", "source": "mqueue", "target": "/dev/mqueue", "fstype": "mqueue",
         "flags": ["nosuid", "nodev", "noexec"]},
        {"op": "symlink", "target": "/dev/fd", "link": "/proc/self/fd"},
        {"op": "symlink", "target": "/dev/stdin", "link": "/proc/self/fd/0"},
        {"op": "symlink", "target": "/dev/stdout", "link": "/proc/self/fd/1"},
        {"op": "symlink", "target": "/dev/stderr", "link": "/proc/self/fd/2"},
    ]
    plan += [{"op": "readonly", "target": path} for path in READONLY_PATHS]
    plan += [{"op": "mask", "target": path} for path in MASKED_PATHS]
    for source, target in ((etc_hosts, "/etc/hosts"), (resolv_conf, "/etc/resolv.conf"),
                           (hostname_file, "/etc/hostname")):
        plan.append({"op": "bind", "source": str(source), "target": target, "readonly": False,
                     "recursive": False, "replace_symlink": True})
    for path in dict.fromkeys(host_paths):
        if device_of(path) not in (None, root_device):
            plan.append({"op": "bind", "source": path, "target": path, "readonly": True, "recursive": True})
    for source, target in shared:
        plan.append({"op": "bind", "source": str(source), "target": target, "readonly": True, "recursive": False})
    for volume in volumes:
        if not volume.target.startswith("/"):
            raise ValueError(f"mount target {volume.target!r} must be an absolute path")
        plan.append({"op": "bind", "source": str(volume.source), "target": volume.target,
                     "readonly": volume.read_only, "recursive": True})
    return plan


def _device_of(path: str) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def hidden_dirs(state_dir: Path) -> list[str]:
    """Directories made empty in every container: /tmp, /run, the state dir, kubelab's credentials."""
    candidates = [os.path.realpath(d) for d in (*ALWAYS_HIDDEN, state_dir)]
    candidates += [os.path.realpath(d) for d in CREDENTIAL_DIRS if os.path.isdir(d)]
    hidden: list[str] = []
    for path in sorted(set(candidates), key=len):
        # under a hidden directory already: hiding it again would make its parents appear
        if not any(path == h or path.startswith(h.rstrip("/") + "/") for h in hidden):
            hidden.append(path)
    return hidden


@dataclass(frozen=True, slots=True)
class UpperDir:
    path: str  # relative to the upper layer: where the host resolves it, without the leading "/"
    mode: int  # the host directory's mode (0o755 where the host has none)
    opaque: bool  # hides the host's content (trusted.overlay.opaque)


@dataclass(frozen=True, slots=True)
class UpperPlan:
    """What an image's upper layer holds before its container starts: directories (each after its
    parent), then files. Planned once per image on a node (it reads the host's directories), then
    written into each container's empty upper layer with a few system calls per entry."""

    dirs: tuple[UpperDir, ...]
    files: tuple[tuple[str, ImageFile], ...]  # (path relative to the upper layer, file)


def plan_upper(image: ImageConfig, hidden: Iterable[str], *, realpath: Callable[[str], str] = os.path.realpath,
               mode_of: Callable[[str], int] | None = None) -> UpperPlan:
    """The upper layer of `image`: the opaque directories `hidden` and the image's, its files, and
    the directories leading to them with the host's modes. Pure but for `realpath` and `mode_of`."""
    mode_of = mode_of or _host_mode
    dirs: dict[str, UpperDir] = {}

    def parents(resolved: str) -> None:
        current = "/"
        for part in PurePosixPath(resolved).parent.parts[1:]:
            current = posixpath.join(current, part)
            if current.lstrip("/") not in dirs:
                dirs[current.lstrip("/")] = UpperDir(current.lstrip("/"), mode_of(current), opaque=False)

    for directory in (*hidden, *image.opaque_dirs):
        resolved = realpath(directory)  # /var/run is hidden where it leads: /run
        parents(resolved)
        dirs[resolved.lstrip("/")] = UpperDir(resolved.lstrip("/"), mode_of(resolved), opaque=True)
    files: dict[str, ImageFile] = {}
    for file in image.files:
        parent, name = posixpath.split(posixpath.normpath(file.path))
        resolved = posixpath.join(realpath(parent), name)  # /bin/sh lands in usr/bin/sh when /bin -> usr/bin
        parents(resolved)
        files[resolved.lstrip("/")] = file  # a path given twice: the last one
    return UpperPlan(tuple(dirs.values()), tuple(files.items()))


def write_upper(upper: Path, plan: UpperPlan) -> None:
    """Write `plan` into the empty upper layer `upper` (blocking)."""
    root = str(upper)
    for directory in plan.dirs:
        path = os.path.join(root, directory.path)
        os.mkdir(path)
        os.chmod(path, directory.mode)  # not left to the umask
        if directory.opaque:
            try:
                os.setxattr(path, OPAQUE_XATTR, b"y")
            except OSError as error:
                log.warning("rootfs.opaque_unsupported", path="/" + directory.path, error=str(error))
    for relative, file in plan.files:
        path = os.path.join(root, relative)
        if file.symlink:
            os.symlink(file.symlink, path)
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(file.content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.chmod(path, file.mode)


def prepare_upper(upper: Path, image: ImageConfig, hidden: Iterable[str]) -> None:
    """Write the image's files and the opaque directories into an empty upper layer (blocking)."""
    write_upper(upper, plan_upper(image, hidden))


def ensure_shared_dir(images_dir: Path, shared: SharedDir) -> Path:
    """The image's shared directory, made once (blocking). Its name carries a digest of its content,
    so a changed content (a busybox upgrade) makes a new one."""
    digest = hashlib.sha256(repr(shared.files).encode()).hexdigest()[:12]
    path = images_dir / f"{shared.key}-{digest}"
    if path.is_dir():
        return path
    images_dir.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{shared.key}-", dir=images_dir))
    try:
        for file in shared.files:
            target = building / file.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if file.symlink:
                os.symlink(file.symlink, target)
            else:
                target.write_bytes(file.content)
                os.chmod(target, file.mode)
        os.chmod(building, 0o755)
        try:
            building.rename(path)
        except OSError:  # made meanwhile by another start
            if not path.is_dir():
                raise
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return path


def _host_mode(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o755
