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

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
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


def prepare_upper(upper: Path, image: ImageConfig, hidden: Iterable[str]) -> None:
    """Write the image's files and the opaque directories into an empty upper layer (blocking)."""
    for directory in (*hidden, *image.opaque_dirs):
        _opaque_dir(upper, directory)
    for file in image.files:
        _place(upper, file)


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


def _host_resolved(path: str) -> str:
    """Where `path` is on the host (the lower layer): its directories' symlinks followed."""
    parent, name = os.path.split(os.path.normpath(path))
    return os.path.join(os.path.realpath(parent), name)


def _upper_path(upper: Path, resolved: str) -> Path:
    return upper / resolved.lstrip("/")


def _make_parents(upper: Path, resolved: str) -> None:
    """Create the upper-layer directories leading to `resolved`, with the host's modes."""
    current = "/"
    for part in Path(resolved).parent.parts[1:]:
        current = os.path.join(current, part)
        target = _upper_path(upper, current)
        if target.is_dir():
            continue
        try:
            mode = stat.S_IMODE(os.stat(current).st_mode)
        except OSError:
            mode = 0o755
        target.mkdir()
        os.chmod(target, mode)


def _opaque_dir(upper: Path, path: str) -> None:
    resolved = os.path.realpath(path)  # /var/run is hidden where it leads: /run
    _make_parents(upper, resolved)
    target = _upper_path(upper, resolved)
    try:
        mode = stat.S_IMODE(os.stat(resolved).st_mode)
    except OSError:
        mode = 0o755
    target.mkdir(exist_ok=True)
    os.chmod(target, mode)
    try:
        os.setxattr(target, OPAQUE_XATTR, b"y")
    except OSError as error:
        log.warning("rootfs.opaque_unsupported", path=path, error=str(error))


def _place(upper: Path, file: ImageFile) -> None:
    resolved = _host_resolved(file.path)
    _make_parents(upper, resolved)
    target = _upper_path(upper, resolved)
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    if file.symlink:
        os.symlink(file.symlink, target)
    else:
        target.write_bytes(file.content)
        os.chmod(target, file.mode)
