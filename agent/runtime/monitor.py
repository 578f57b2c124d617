"""The per-container monitor (like conmon): the parent of one container's process, outliving the agent.

Started by the agent as `unshare --pid -- python -I -S -c "import monitor..." key=value...` (imported, so
that its bytecode is cached) in a new session, so
that the one child it forks is PID 1 of a new PID namespace. The child joins the pod's network
namespace, sets up its mounts and root, and execs the container's command (nsinit.py); the monitor:

- tells the agent on the sync fd: `ok PID` once the command was exec'd, or `error MESSAGE`;
- writes the child's stdout and stderr to the log file as CRI entries (rotating it at maxlog bytes);
  for a container with stdin or a tty, what does not end a line is written at once as a partial (P)
  entry, so a prompt shows to whoever follows the log (an attach) before the line is finished;
- with stdin=1, forwards what is written to the FIFO `stdin` in the container's directory to the
  child's stdin (a pipe, or the terminal), and obeys the FIFO `control`: a line `eof` ends the
  child's input (its stdin closes; ^D on a terminal), `resize COLUMNS ROWS` sizes the terminal.
  This is how an attach reaches the container's own process;
- forwards SIGTERM and SIGINT to the child;
- records in state.json (atomically, by rename): its own pid and start time, the child's, the start
  and finish times, the exit code (128+N for signal N), the signal and whether the cgroup counted an
  OOM kill while it ran; then exits.

Memory matters (one monitor per container), so this file imports only builtin modules (no json, no
signal/enum, no ctypes: the child imports what it needs after the fork) and runs with `-I -S`.
Arguments: dir=CONTAINER_DIR log=LOG_FILE sync=FD [oom=FILE] [stdin=1] [tty=1] [maxlog=BYTES].
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # `signal` would import enum: +1 MB
import os
import select
import sys
import time

MAX_ENTRY = 16 * 1024
DRAIN_SECONDS = 2.0

child_pid = 0
term_pending = 0


def timestamp() -> bytes:
    ns = time.time_ns()
    seconds, fraction = divmod(ns, 1_000_000_000)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z").encode()


def json_value(value: object) -> str:
    """JSON for the few types state.json holds (the json module costs a megabyte of memory)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    out = ['"']
    for ch in str(value):
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def encode_state(fields: dict[str, object]) -> bytes:
    return ("{" + ", ".join(json_value(k) + ": " + json_value(v) for k, v in sorted(fields.items())) + "}\n").encode()


def write_state(path: str, fields: dict[str, object]) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        write_all(fd, encode_state(fields))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def proc_start(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read()
        return int(text[text.rindex(b")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def read_oom_kills(path: str) -> int:
    if not path:
        return 0
    try:
        with open(path, "rb") as f:
            for line in f.read().splitlines():
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class LogWriter:
    """CRI entries into the log file; output lines longer than MAX_ENTRY become P entries."""

    def __init__(self, path: str, max_bytes: int, eager: bool = False) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.eager = eager  # write an unfinished line at once, as a P entry
        self.partial = {b"stdout": b"", b"stderr": b""}
        self.fd = -1
        self.size = 0
        self.open()

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size

    def feed(self, stream: bytes, data: bytes) -> None:
        buffer = self.partial[stream] + data
        lines = buffer.split(b"\n")
        rest = lines.pop()
        stamp = timestamp()
        out = []
        for line in lines:
            while len(line) > MAX_ENTRY:
                out.append(stamp + b" " + stream + b" P " + line[:MAX_ENTRY] + b"\n")
                line = line[MAX_ENTRY:]
            out.append(stamp + b" " + stream + b" F " + line + b"\n")
        while len(rest) >= MAX_ENTRY or (self.eager and rest):
            out.append(stamp + b" " + stream + b" P " + rest[:MAX_ENTRY] + b"\n")
            rest = rest[MAX_ENTRY:]
        self.partial[stream] = rest
        if out:
            self.write(b"".join(out))

    def flush(self) -> None:
        stamp = timestamp()
        for stream, rest in self.partial.items():
            if rest:
                self.write(stamp + b" " + stream + b" F " + rest + b"\n")
                self.partial[stream] = b""

    def write(self, data: bytes) -> None:
        try:
            write_all(self.fd, data)
        except OSError as error:  # a full disk must not kill the container: drop the output
            sys.stderr.write(f"monitor: log write failed: {error}\n")
            return
        self.size += len(data)
        if self.max_bytes and self.size >= self.max_bytes:
            os.close(self.fd)
            try:
                os.replace(self.path, self.path + ".1")
            except OSError as error:
                sys.stderr.write(f"monitor: log rotation failed: {error}\n")
            self.open()


def on_signal(signum: int, frame: object) -> None:
    global term_pending
    if child_pid:
        try:  # noqa: SIM105 - contextlib costs memory here
            os.kill(child_pid, signum)
        except OSError:
            pass
    else:
        term_pending = signum


def run_child(directory: str, sync_fd: int, err_w: int, stdin_fd: int, out_w: int, err_fd: int,
              tty: bool) -> None:
    """In the forked child (PID 1 of the new PID namespace): never returns."""
    try:
        for signum in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP):
            _signal.signal(signum, _signal.SIG_DFL)
        os.close(sync_fd)
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_fd, 2)
        for fd in {stdin_fd, out_w, err_fd}:
            if fd > 2:
                os.close(fd)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        nsinit = __import__("nsinit")  # only the child pays for its imports

        nsinit.start(os.path.join(directory, "init.marshal"), tty=tty)
    except BaseException as error:  # everything goes to the monitor as the start error
        message = getattr(error, "start_message", None) or f"{type(error).__name__}: {error}"
        try:  # noqa: SIM105
            write_all(err_w, message.encode("utf-8", "replace"))
        except OSError:
            pass
    os._exit(127)


def main(argv: list[str]) -> int:
    global child_pid
    options = dict(arg.split("=", 1) for arg in argv)
    directory = options["dir"]
    sync_fd = int(options["sync"])
    tty = options.get("tty") == "1"
    state_path = os.path.join(directory, "state.json")
    oom_file = options.get("oom", "")
    for signum in (_signal.SIGTERM, _signal.SIGINT):
        _signal.signal(signum, on_signal)
    _signal.signal(_signal.SIGHUP, _signal.SIG_IGN)

    with open("/proc/sys/kernel/random/boot_id") as f:
        boot_id = f.read().strip()
    me = os.getpid()
    state: dict[str, object] = {"status": "creating", "monitor_pid": me, "monitor_start": proc_start(me),
                                "boot_id": boot_id}
    oom_before = read_oom_kills(oom_file)

    if tty:
        master, slave = os.openpty()
        out_r, out_w, err_r, err_fd = master, slave, -1, slave
    else:
        out_r, out_w = os.pipe()
        err_r, err_fd = os.pipe()
    attach = options.get("stdin") == "1"
    input_fifo = control_fifo = input_w = -1
    if attach:
        # Reader and writer of each FIFO: never EOF, whoever attaches can open and write to them.
        input_fifo = open_fifo(os.path.join(directory, "stdin"))
        control_fifo = open_fifo(os.path.join(directory, "control"))
    if tty:
        stdin_fd = slave
        input_w = master if attach else -1
    elif attach:
        stdin_fd, input_w = os.pipe()
        os.set_blocking(input_w, False)
    else:
        stdin_fd = os.open("/dev/null", os.O_RDONLY)
    error_r, error_w = os.pipe()  # close-on-exec: EOF without data means the exec happened
    logs = LogWriter(options["log"], int(options.get("maxlog", "0")), eager=attach or tty)

    pid = os.fork()
    if pid == 0:
        os.close(error_r)
        run_child(directory, sync_fd, error_w, stdin_fd, out_w, err_fd, tty)
    child_pid = pid
    os.close(error_w)
    for fd in {stdin_fd, out_w, err_fd}:
        os.close(fd)
    if term_pending:
        on_signal(term_pending, None)

    failure = b""
    while True:
        chunk = os.read(error_r, 65536)
        if not chunk:
            break
        failure += chunk
    os.close(error_r)

    if failure:
        _, status = os.waitpid(pid, 0)
        state.update(status="exited", pid=0, started_at_ns=time.time_ns(), finished_at_ns=time.time_ns(),
                     start_error=failure.decode("utf-8", "replace"), exit_code=128)
        write_state(state_path, state)
        tell(sync_fd, "error " + failure.decode("utf-8", "replace").replace("\n", " "))
        return 0

    state.update(status="running", pid=pid, pid_start=proc_start(pid), started_at_ns=time.time_ns())
    write_state(state_path, state)
    tell(sync_fd, f"ok {pid}")

    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    streams = {out_r: b"stdout"}
    if err_r >= 0:
        streams[err_r] = b"stderr"
    for fd in streams:
        poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    if attach:
        poller.register(input_fifo, select.POLLIN)
        poller.register(control_fifo, select.POLLIN)
    exited = False
    while not exited:
        for fd, _ in poller.poll():
            if fd == pidfd:
                exited = True
            elif fd == input_fifo:
                forward_input(read_ready(input_fifo), input_w, tty)
            elif fd == control_fifo:
                input_w = obey(read_ready(control_fifo), input_w, tty)
            else:
                pump(fd, streams, poller, logs)
    child_pid = 0  # no more forwarding: the pid is about to be released
    _, status = os.waitpid(pid, 0)
    finished = time.time_ns()
    poller.unregister(pidfd)
    os.close(pidfd)
    # what is still in the pipes (the PID namespace's other processes died with its PID 1)
    deadline = time.monotonic() + DRAIN_SECONDS
    while streams and time.monotonic() < deadline:
        events = poller.poll(100)
        for fd, _ in events:
            pump(fd, streams, poller, logs)
    logs.flush()

    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        state.update(exit_code=128 + signum, signal=signum)
    else:
        state.update(exit_code=os.waitstatus_to_exitcode(status), signal=None)
    state.update(status="exited", finished_at_ns=finished, oom_killed=read_oom_kills(oom_file) > oom_before)
    write_state(state_path, state)
    return 0


def open_fifo(path: str) -> int:
    if not os.path.exists(path):
        os.mkfifo(path, 0o600)
    return os.open(path, os.O_RDWR | os.O_NONBLOCK)


def read_ready(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


def forward_input(data: bytes, input_w: int, tty: bool) -> None:
    """Attach input to the child, never blocking the monitor: what its stdin cannot take now (the
    child does not read) is dropped, as a terminal drops what overflows its input queue."""
    if input_w < 0 or not data:
        return
    if tty:
        os.set_blocking(input_w, False)  # the terminal's master; reads of it stay blocking
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(input_w, view):]
    except OSError:  # EAGAIN: full; EIO/EPIPE: nobody reads any more
        sys.stderr.write(f"monitor: {len(view)} bytes of container input dropped\n")
    finally:
        if tty:
            os.set_blocking(input_w, True)


def obey(commands: bytes, input_w: int, tty: bool) -> int:
    """Control lines: `eof` ends the child's input, `resize W H` sizes its terminal. The input fd after."""
    for line in commands.decode("ascii", "replace").splitlines():
        words = line.split()
        if words == ["eof"] and input_w >= 0:
            if tty:
                forward_input(b"\x04", input_w, tty)  # ^D, the terminal's end of input
            else:
                os.close(input_w)
                input_w = -1
        elif len(words) == 3 and words[0] == "resize" and tty and words[1].isdigit() and words[2].isdigit():
            import fcntl  # only for a terminal that is resized: memory matters here
            import struct
            import termios

            size = struct.pack("HHHH", int(words[2]), int(words[1]), 0, 0)
            fcntl.ioctl(input_w, termios.TIOCSWINSZ, size)
    return input_w


def pump(fd: int, streams: dict[int, bytes], poller: select.poll, logs: LogWriter) -> None:
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: a pty whose other side is closed
        data = b""
    if data:
        logs.feed(streams[fd], data)
        return
    poller.unregister(fd)
    os.close(fd)
    del streams[fd]


def tell(sync_fd: int, message: str) -> None:
    try:  # noqa: SIM105
        write_all(sync_fd, (message + "\n").encode("utf-8", "replace"))
    except OSError:
        pass  # the agent is gone; the state file says the same
    os.close(sync_fd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
