"""Inside the container, before its command: namespaces, mounts, root, then exec. Runs in the monitor's
forked child, which is PID 1 of the container's new PID namespace; imports only the standard library.

Steps, from init.marshal (written by the agent, see rootfs.py for the mount plan):
1. join the container's cgroups (write 0 to each cgroup.procs, while the host's /sys is still seen);
2. join the pod's network namespace (setns), unshare mount, UTS and IPC namespaces, set the hostname;
3. make every mount private, mount the overlay (lowerdir=/), apply the mount plan under it;
4. pivot_root into it and detach the old root; chdir to the working directory (made if missing);
5. new session (and the terminal as controlling tty), capability bounding set cut to the spec's list,
   default signal dispositions, execve with
   exactly the configured env, the executable looked up in the container's PATH.
A failure raises StartFailure with a message in runc's words; the monitor reports it as StartError.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # `signal` imports enum: slower starts
import ctypes
import marshal
import os
import stat

TYPE_CHECKING = False  # typing costs milliseconds at each container start
if TYPE_CHECKING:
    from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000

MS_FLAGS = {
    "ro": 0x1, "nosuid": 0x2, "nodev": 0x4, "noexec": 0x8, "remount": 0x20, "bind": 0x1000,
    "rec": 0x4000, "private": 0x40000, "strictatime": 0x1000000, "relatime": 0x200000,
}
MNT_DETACH = 2
PR_CAPBSET_DROP = 24
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217, "armv7l": 218}
MAX_SYMLINKS = 40


class StartFailure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.start_message = message


_libc: Any = None


def libc() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(libc().mount(source.encode() if source else None, target.encode(),
                        fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                        data.encode() if data else None), f"mount {target}")


def flags_of(names: list[str]) -> int:
    value = 0
    for name in names:
        value |= MS_FLAGS[name]
    return value


def secure_join(root: str, path: str) -> str:
    """`path` resolved inside `root` as if `root` were `/`: symlinks and `..` never leave it."""
    pending = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            resolved.append(part)
            continue
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > MAX_SYMLINKS:
                raise OSError(40, f"too many levels of symbolic links: {path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p not in ("", ".")] + pending
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


def _mount_point(root: str, target: str, directory: bool, replace_symlink: bool = False) -> str:
    """The host path of `target` inside `root`, created (a directory or an empty file) if missing."""
    parent = secure_join(root, os.path.dirname(target.rstrip("/")) or "/")
    path = os.path.join(parent, os.path.basename(target.rstrip("/")))
    if not replace_symlink:
        path = secure_join(root, target)
    elif os.path.islink(path):
        os.unlink(path)
    if directory:
        os.makedirs(path, exist_ok=True)
    elif not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    return path


def apply(root: str, op: dict[str, Any]) -> None:
    kind = op["op"]
    if kind == "mount":
        target = _mount_point(root, op["target"], True)
        try:
            mount(op["source"], target, op["fstype"], flags_of(op.get("flags", [])), op.get("data", ""))
        except OSError as error:
            raise StartFailure(f'error mounting "{op["source"]}" to rootfs at "{op["target"]}": '
                               f"{error.strerror}") from None
    elif kind == "bind":
        source = op["source"]
        try:
            directory = os.path.isdir(source)
            if not directory and not os.path.exists(source):
                raise FileNotFoundError(2, "no such file or directory")
            target = _mount_point(root, op["target"], directory, op.get("replace_symlink", False))
            flags = MS_FLAGS["bind"] | (MS_FLAGS["rec"] if op.get("recursive", True) else 0)
            mount(source, target, None, flags)
            if op.get("readonly"):
                mount(None, target, None, MS_FLAGS["bind"] | MS_FLAGS["remount"] | MS_FLAGS["ro"]
                      | MS_FLAGS["rec"])
        except OSError as error:
            raise StartFailure(f'error mounting "{source}" to rootfs at "{op["target"]}": '
                               f"{(error.strerror or str(error)).lower()}") from None
    elif kind == "readonly":
        path = secure_join(root, op["target"])
        if os.path.exists(path):
            mount(path, path, None, MS_FLAGS["bind"] | MS_FLAGS["rec"])
            mount(None, path, None, MS_FLAGS["bind"] | MS_FLAGS["remount"] | MS_FLAGS["ro"] | MS_FLAGS["rec"])
    elif kind == "mask":
        path = secure_join(root, op["target"])
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_FLAGS["ro"], "size=0")
        elif os.path.exists(path):
            mount(os.path.join(root, "dev/null"), path, None, MS_FLAGS["bind"])
    elif kind == "mknod":
        path = secure_join(root, op["target"])
        if not os.path.exists(path):
            os.mknod(path, stat.S_IFCHR | op["mode"], os.makedev(op["major"], op["minor"]))
            os.chmod(path, op["mode"])
    elif kind == "symlink":
        path = secure_join(root, op["target"])
        if not os.path.lexists(path):
            os.symlink(op["link"], path)
    else:
        raise StartFailure(f"unknown mount plan step {kind!r}")


def pivot_root(root: str) -> None:
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    os.chdir(root)
    if number is None:  # no pivot_root number known for this machine: a chroot does
        os.chroot(".")
    else:
        _check(libc().syscall(number, b".", b"."), "pivot_root")
        _check(libc().umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


def drop_capabilities(keep: list[int]) -> None:
    """Cut the bounding set: a root process exec'd afterwards gets only these capabilities."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for capability in range(last + 1):
        if capability not in keep:
            _check(libc().prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), f"drop capability {capability}")


def find_executable(name: str, env: dict[str, str]) -> str:
    if "/" in name:
        if not os.path.exists(name):
            raise StartFailure(f'exec: "{name}": stat {name}: no such file or directory')
        return name
    for directory in env.get("PATH", "").split(":"):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise StartFailure(f'exec: "{name}": executable file not found in $PATH')


def start(spec_path: str, tty: bool) -> None:
    with open(spec_path, "rb") as f:
        config = marshal.load(f)
    argv: list[str] = config["argv"]
    env: dict[str, str] = dict(config["env"])
    rootfs = config["rootfs"]
    root = rootfs["merged"]

    for procs in config["cgroup_procs"]:
        with open(procs, "w") as f:
            f.write("0")

    fd = os.open(config["netns"], os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(libc().setns(fd, CLONE_NEWNET), f"join network namespace {config['netns']}")
    finally:
        os.close(fd)
    _check(libc().unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC), "unshare")
    hostname = config["hostname"].encode()
    _check(libc().sethostname(hostname, len(hostname)), "sethostname")

    mount(None, "/", None, MS_FLAGS["rec"] | MS_FLAGS["private"])
    mount("overlay", root, "overlay", 0,
          f"lowerdir={rootfs['lower']},upperdir={rootfs['upper']},workdir={rootfs['work']}")
    for op in config["mounts"]:
        apply(root, op)
    pivot_root(root)

    cwd = config["cwd"]
    try:
        os.makedirs(cwd, exist_ok=True)
        os.chdir(cwd)
    except OSError as error:
        raise StartFailure(f"chdir to cwd (\"{cwd}\") failed: {error.strerror}") from None

    os.setsid()
    if tty:
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        fcntl.ioctl(0, termios.TIOCSWINSZ, b"\x18\x00\x50\x00\x00\x00\x00\x00")  # 24 rows, 80 columns
    drop_capabilities(config["capabilities"])
    for signum in range(1, _signal.NSIG):
        try:
            if _signal.getsignal(signum) is not _signal.SIG_DFL:
                _signal.signal(signum, _signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            continue
    executable = find_executable(argv[0], env)
    try:
        os.execve(executable, argv, env)
    except OSError as error:
        raise StartFailure(f'exec: "{argv[0]}": {(error.strerror or str(error)).lower()}') from None
