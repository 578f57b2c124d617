"""`exec` into a running container, as `nsenter -t PID -m -u -i -n -p -r -w` would, but tied to its caller.

    python -I -S enter.py PID INIT_SPEC [--tty] -- COMMAND...

This process opens the container process's namespaces, root and working directory and its cgroups'
cgroup.procs files, joins the IPC, UTS, network, PID and mount namespaces, chroots to the container's
root and changes to its working directory, then forks the command: the child joins the cgroups (so it
counts against the container's limits; this helper does not), cuts its capabilities to the
container's, and execs COMMAND (looked up in the container's PATH) with the container's env. The
helper stays its parent outside: it passes SIGTERM, SIGINT, SIGHUP and SIGQUIT on, exits with the
command's status (128+N for signal N), and when the helper is killed, even with SIGKILL, the command
gets SIGKILL too (PR_SET_PDEATHSIG). So a caller that kills the exec process (a probe's timeout, a
closed stream) leaves nothing running in the container, which nsenter cannot promise.

With --tty the command gets a pseudo-terminal of the container's own /dev/pts (so `tty` names it
inside) and this helper copies between it and its own stdin/stdout until the command exits; EOF on
stdin sends ^D once. A command that cannot be started exits 127 (not found) or 126, with runc's words.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # `signal` imports enum: slower execs
import marshal
import os
import select
import sys

NAMESPACES = ("ipc", "uts", "net", "pid", "mnt")  # mnt last: the others are opened through the host's /proc
PR_SET_PDEATHSIG = 1
TIOCGPTN = 0x80045430  # the pty's number
TIOCSPTLCK = 0x40045431  # (un)lock its slave
WINSIZE_24X80 = b"\x18\x00\x50\x00\x00\x00\x00\x00"


def main(argv: list[str]) -> int:
    if "--" not in argv or argv.index("--") < 2 or argv.index("--") == len(argv) - 1:
        print("usage: enter.py PID INIT_SPEC [--tty] -- COMMAND...", file=sys.stderr)
        return 2
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    pid, spec_path, tty = int(head[0]), head[1], "--tty" in head[2:]
    with open(spec_path, "rb") as f:
        spec = marshal.load(f)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fcntl
    import termios

    nsinit = __import__("nsinit")
    env: dict[str, str] = dict(spec["env"])
    cgroups = []
    for procs in spec["cgroup_procs"]:
        try:
            cgroups.append(os.open(procs, os.O_WRONLY | os.O_CLOEXEC))
        except OSError as error:  # the command still runs; its accounting is what is lost
            print(f"exec: cannot join cgroup {procs}: {error.strerror}", file=sys.stderr)
    try:
        namespaces = [os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC) for name in NAMESPACES]
        root = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        cwd = os.open(f"/proc/{pid}/cwd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        print(f"exec: the container's process {pid} is gone: {error.strerror}", file=sys.stderr)
        return 126
    master, slave = open_pty(pid) if tty else (-1, -1)
    if tty:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, WINSIZE_24X80)
    for fd in namespaces:
        nsinit._check(nsinit.libc().setns(fd, 0), "setns")
        os.close(fd)
    os.fchdir(root)
    os.chroot(".")
    os.fchdir(cwd)
    os.close(root)
    os.close(cwd)

    watch, held = os.pipe()  # `held` stays open in this process only: EOF on `watch` means it died
    child = os.fork()
    if child == 0:
        os.close(held)
        start_command(command, env, spec["capabilities"], cgroups, watch, slave if tty else -1)
    os.close(watch)
    for fd in cgroups:
        os.close(fd)

    def forward(signum: int, frame: object) -> None:
        try:  # noqa: SIM105 - contextlib costs an import
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT):
        _signal.signal(signum, forward)
    if tty:
        os.close(slave)
        relay(master)
    _, status = os.waitpid(child, 0)
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)


def start_command(command: list[str], env: dict[str, str], capabilities: list[int], cgroups: list[int],
                  watch: int, terminal: int) -> None:
    """In the forked child, inside the container's namespaces: never returns."""
    code = 126
    try:
        nsinit = __import__("nsinit")
        nsinit._check(nsinit.libc().prctl(PR_SET_PDEATHSIG, _signal.SIGKILL, 0, 0, 0), "prctl")
        if select.select([watch], [], [], 0)[0]:  # EOF: the helper died before the prctl
            os._exit(137)
        os.close(watch)
        for fd in cgroups:
            os.write(fd, b"0")
            os.close(fd)
        if terminal >= 0:
            import fcntl
            import termios

            os.setsid()
            fcntl.ioctl(terminal, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(terminal, fd)
            os.close(terminal)
        for signum in range(1, _signal.NSIG):  # what this helper ignores or handles, the command must not
            try:
                _signal.signal(signum, _signal.SIG_DFL)
            except (OSError, ValueError):
                continue
        nsinit.drop_capabilities(capabilities)
        code = 127
        executable = nsinit.find_executable(command[0], env)
        code = 126
        os.execve(executable, command, env)
    except BaseException as error:
        message = getattr(error, "start_message", None) or f'exec: "{command[0]}": {error}'
        try:
            os.write(2, f"exec failed: unable to start container process: {message}\n".encode())
        finally:
            os._exit(code)


def open_pty(pid: int) -> tuple[int, int]:
    """A pseudo-terminal of the container's own /dev/pts; the host's if that fails."""
    import fcntl
    import struct

    pts = f"/proc/{pid}/root/dev/pts"
    try:
        master = os.open(f"{pts}/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return os.openpty()
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0\0\0\0"))[0]
        slave = os.open(f"{pts}/{number}", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        os.close(master)
        return os.openpty()
    return master, slave


def relay(master: int) -> None:
    """Copy stdin to the terminal and the terminal to stdout until every holder of it is gone."""
    stdin_open = True
    poller = select.poll()
    poller.register(master, select.POLLIN)
    poller.register(0, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd == 0:
                data = os.read(0, 65536)
                if data:
                    _write_all(master, data)
                else:
                    poller.unregister(0)
                    if stdin_open:
                        stdin_open = False
                        _write_all(master, b"\x04")
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                data = b""
            if not data:
                os.close(master)
                return
            _write_all(1, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
