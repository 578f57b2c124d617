"""Short commands (`ip`) run from the agent cheaply: posix_spawn, pipes on the event loop, a pidfd.

asyncio's subprocesses fork the agent: every page table of a process of ~80 MB with many threads is
copied, the interpreter's fork handlers run, and the child tears it all down again at its exec. That
cost ~8 ms of CPU per `ip` call, twice per pod, when many pods start at once. `posix_spawn` (a vfork
in glibc) shares the parent's memory until the exec and runs no Python in the child, for ~1 ms.

The command's stdout and stderr are read, and its stdin written, by the event loop on non-blocking
pipes; its exit is awaited on a pidfd, and it is reaped here (it is our child, and nothing else
reaps it). On a timeout or a cancellation the command is killed and reaped before this returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from agent import pidwait


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int  # negative: killed by that signal, as subprocess reports it
    stdout: bytes
    stderr: bytes


async def run(argv: Sequence[str], *, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
              timeout: float) -> Completed:
    """Run `argv` (looked up in PATH) to its end; TimeoutError after `timeout` seconds (it is killed).
    FileNotFoundError when there is no such command."""
    loop = asyncio.get_running_loop()
    fds: list[int] = []  # every pipe end still open in this process

    def pipe() -> tuple[int, int]:
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        fds.extend((read_end, write_end))
        return read_end, write_end

    def close(fd: int) -> None:
        if fd in fds:
            fds.remove(fd)
            os.close(fd)

    pidfd = -1
    pid = 0
    try:
        out_r, out_w = pipe()
        err_r, err_w = pipe()
        actions: list[tuple[int, int, int] | tuple[int, int, str, int, int]] = [
            (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        in_w = -1
        if stdin is None:
            actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
        else:
            in_r, in_w = pipe()
            actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
        pid = os.posix_spawnp(argv[0], list(argv), dict(os.environ if env is None else env), file_actions=actions,
                              setsigmask=(), setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
        pidfd = os.pidfd_open(pid)
        for fd in (out_w, err_w):
            close(fd)
        if stdin is not None:
            close(in_r)
        async with asyncio.timeout(timeout):
            # input and output move together (callbacks), so a command that writes before it has
            # read all its input cannot block the other side
            writing = _write_all(loop, in_w, stdin, lambda: close(in_w)) if stdin is not None else None
            stdout, stderr, _ = await asyncio.gather(_read_all(loop, out_r), _read_all(loop, err_r),
                                                     pidwait.exit_future(pidfd))
            if writing is not None:
                await writing
        _, status = os.waitpid(pid, 0)
        pid = 0
        return Completed(os.waitstatus_to_exitcode(status), stdout, stderr)
    finally:
        # Readers and writers off before any close: a callback left on a closed fd number would act
        # on the next file to get that number.
        for fd in list(fds):
            loop.remove_reader(fd)
            loop.remove_writer(fd)
            close(fd)
        if pidfd >= 0:
            loop.remove_reader(pidfd)
        if pid:  # timed out, cancelled or failed half way: never leave the command behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still this child's
            if pidfd >= 0:
                pidwait.reap_when_exited(pidfd)
            else:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
        elif pidfd >= 0:
            os.close(pidfd)


def _read_all(loop: asyncio.AbstractEventLoop, fd: int) -> asyncio.Future[bytes]:
    """Everything written to the pipe `fd` until its end (the caller closes `fd` and, if it gives up
    first, removes the reader)."""
    os.set_blocking(fd, False)
    done: asyncio.Future[bytes] = loop.create_future()
    chunks: list[bytes] = []

    def readable() -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""  # not for a pipe; taken as its end
        if chunk:
            chunks.append(chunk)
            return
        loop.remove_reader(fd)
        if not done.done():
            done.set_result(b"".join(chunks))

    loop.add_reader(fd, readable)
    return done


def _write_all(loop: asyncio.AbstractEventLoop, fd: int, data: bytes,
               closed: Callable[[], None]) -> asyncio.Future[None]:
    """Write `data` to the pipe `fd`, then close it (`closed`), so the command sees its input end. A
    command that exits without reading it all is not an error: the rest is dropped."""
    os.set_blocking(fd, False)
    done: asyncio.Future[None] = loop.create_future()
    view = memoryview(data)

    def writable() -> None:
        nonlocal view
        try:
            while view:
                view = view[os.write(fd, view):]
        except BlockingIOError:
            return
        except OSError:  # EPIPE: the command is gone
            view = view[:0]
        loop.remove_writer(fd)
        closed()
        if not done.done():
            done.set_result(None)

    loop.add_writer(fd, writable)
    return done
