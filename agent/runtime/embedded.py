"""The embedded runtime: containers as processes in the pod's namespaces on a copy-on-write view of the
host, each watched by its own small monitor process, everything recorded under one state directory.

start():  resolve the image in the catalog; write the upper layer, the cgroup, init.marshal and
          config.json (blocking work, in a thread); spawn `unshare --pid -- python -I -S -c "import
          monitor..."` in its own session; wait for its `ok PID` (the command was exec'd) or
          `error MESSAGE` on a pipe. See monitor.py and nsinit.py for what happens there.
wait():   a pidfd on the monitor (identified by pid and start time, so it works from any process and
          after an agent restart); when it exits, state.json has the end. A monitor that died without
          recording (kill -9) is noticed, and its container reported ContainerStatusUnknown once gone.
status(), list(): read from disk, so a new runtime object on the same state directory sees everything.
exec():   enter.py, a helper that joins the container's namespaces, root and cgroups and is the
          parent of the command: killing it kills the command.
The agent holds no per-container state in memory but caches of what never changes once written (each
container's config.json and log path, the resolved images and their upper-layer plans), so a pod's
start reads the files of its own containers only; the monitors it spawned are reaped by a reader on
their pidfd, not by a task.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from agent import pidwait
from agent.images.catalog import CatalogError, HostTools, ImageConfig, discover_host_tools, resolve
from agent.runtime import procs, rootfs
from agent.runtime.attachinput import FifoInput
from agent.runtime.cgroups import CgroupError, Cgroups, ContainerCgroup, Resources
from agent.runtime.ids import is_container_id, new_container_id, short_id
from agent.runtime.interface import (
    ContainerConfig,
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStatus,
    ImagePullError,
)
from agent.runtime.resolve import resolve_argv, resolve_env, resolve_working_dir
from agent.runtime.state import (
    INIT_SPEC,
    START_ERROR_EXIT_CODE,
    Layout,
    Record,
    read_json,
    status_of,
    write_init_spec,
    write_json_atomically,
)

log = structlog.get_logger("runtime")

HERE = Path(__file__).resolve().parent
# Imported rather than run as a script: its cached bytecode spares each monitor a compile (~1 MB).
MONITOR_BOOT = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import monitor; "
                "sys.exit(monitor.main(sys.argv[1:]))")
ENTER = HERE / "enter.py"
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_MAX_LOG_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Launch:
    container_id: str
    directory: Path
    log_file: Path
    oom_file: str
    stdin: bool
    tty: bool


class _StartError(Exception):
    pass


class EmbeddedRuntime:
    """The `Runtime` of agent/runtime/interface.py, for the catalog's images. Needs root."""

    def __init__(self, state_dir: Path, cgroup_parent: str, *, max_log_bytes: int = DEFAULT_MAX_LOG_BYTES,
                 start_timeout: float = 30.0) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.layout = Layout(self.state_dir)
        self.layout.containers.mkdir(parents=True, exist_ok=True)
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        self.cgroups = Cgroups.detect(cgroup_parent)
        if self.cgroups.version == "none":
            log.warning("runtime.no_cgroups", detail=self.cgroups.hierarchies.describe())
        self.max_log_bytes = max_log_bytes
        self.start_timeout = start_timeout
        self._boot_id = procs.boot_id()
        self._root_device = os.stat("/").st_dev
        self._unshare = shutil.which("unshare", path=HOST_PATH) or ""
        self._host: HostTools | None = None
        self._host_lock = asyncio.Lock()
        self._log_paths: dict[str, Path] = {}
        self._configs: dict[str, dict[str, Any]] = {}  # container id -> its config.json, written once
        self._images: dict[str, ImageConfig] = {}
        self._hidden = rootfs.hidden_dirs(self.state_dir)
        self._uppers: dict[str, rootfs.UpperPlan] = {}  # per image reference: read from the host once

    # ---- images -----------------------------------------------------------------------------------

    async def ensure_image(self, image: str) -> None:
        await self._image(image)

    async def _image(self, image: str) -> ImageConfig:
        cached = self._images.get(image)
        if cached is not None:
            return cached
        async with self._host_lock:
            if self._host is None:
                self._host = await asyncio.to_thread(discover_host_tools)
        try:
            resolved = resolve(image, self._host)
        except CatalogError as error:
            raise ImagePullError("InvalidImageName" if error.reason == "InvalidImageName" else "ErrImagePull",
                                 error.message) from None
        if len(self._images) < 256:  # a few names in practice; bounded whatever the pods say
            self._images[image] = resolved
        return resolved

    # ---- start ------------------------------------------------------------------------------------

    async def start(self, config: ContainerConfig) -> ContainerStatus:
        image = await self._image(config.image)
        started = time.monotonic()
        container_id = new_container_id()
        launch = await asyncio.to_thread(self._prepare, container_id, config, image)
        if launch is not None:
            await self._launch(launch)
        status = await self.status(container_id)
        log.info("container.started" if status.state == "running" else "container.start_failed",
                 id=short_id(container_id), pod=f"{config.pod_namespace}/{config.pod_name}", container=config.name,
                 attempt=config.attempt, image=config.image, pid=status.pid, reason=status.reason,
                 message=status.message, ms=round((time.monotonic() - started) * 1000, 1))
        return status

    def _prepare(self, container_id: str, config: ContainerConfig, image: ImageConfig) -> _Launch | None:
        """Everything on disk before the monitor starts (blocking). None when the start failed already."""
        directory = self.layout.container(container_id)
        directory.mkdir(parents=True)
        log_file = self.layout.log_file(config.pod_namespace, config.pod_name, config.pod_uid, config.name,
                                        config.attempt)
        base: dict[str, Any] = {
            "version": 1, "id": container_id, "pod_uid": config.pod_uid, "pod_namespace": config.pod_namespace,
            "pod_name": config.pod_name, "name": config.name, "attempt": config.attempt, "image": config.image,
            "image_ref": image.reference, "created_at_ns": time.time_ns(), "log_path": str(log_file),
        }
        self._log_paths[container_id] = log_file
        cgroup: ContainerCgroup | None = None
        try:
            argv = resolve_argv(image.entrypoint, image.cmd, config.command, config.args)
            if not argv:
                raise _StartError("no command specified")
            if not config.netns_path.exists():
                raise _StartError(f'network namespace "{config.netns_path}" does not exist')
            for path in (config.etc_hosts, config.resolv_conf):
                if not path.exists():
                    raise _StartError(f'"{path}" does not exist')
            upper, work, merged = directory / "upper", directory / "work", directory / "rootfs"
            for path in (upper, work, merged):
                path.mkdir()
            rootfs.write_upper(upper, self._upper_plan(image))
            hostname_file = directory / "hostname"
            hostname_file.write_text(config.hostname + "\n")
            shared = [(rootfs.ensure_shared_dir(self.layout.images, d), d.target) for d in image.shared_dirs]
            plan = rootfs.mount_plan(etc_hosts=config.etc_hosts, resolv_conf=config.resolv_conf,
                                     hostname_file=hostname_file, volumes=config.mounts,
                                     host_paths=image.host_paths, root_device=self._root_device, shared=shared)
            log_file.parent.mkdir(parents=True, exist_ok=True)
            _prune_old_logs(log_file.parent, config.attempt)
            if config.attempt >= 2:
                self._collect_old_attempts(config)
            cgroup = self.cgroups.create(config.pod_uid, container_id, Resources(
                memory_limit=config.memory_limit, cpu_limit_millicores=config.cpu_limit_millicores,
                cpu_request_millicores=config.cpu_request_millicores))
            cwd = resolve_working_dir(image.working_dir, config.working_dir)
            write_init_spec(directory / INIT_SPEC, {
                "argv": list(argv),
                "env": [list(pair) for pair in resolve_env(image.env, config.env, config.hostname)],
                "cwd": cwd,
                "hostname": config.hostname,
                "netns": str(config.netns_path),
                "rootfs": {"lower": "/", "upper": str(upper), "work": str(work), "merged": str(merged)},
                "mounts": plan,
                "cgroup_procs": list(cgroup.procs) if cgroup else [],
                "capabilities": sorted(rootfs.CAPABILITIES.values()),
            })
            write_json_atomically(directory / "config.json", base | {
                "argv": list(argv), "cwd": cwd, "hostname": config.hostname, "netns": str(config.netns_path),
                "cgroup": cgroup.to_json() if cgroup else None, "stdin": config.stdin, "tty": config.tty,
            })
        except (_StartError, CgroupError, OSError, ValueError) as error:
            if cgroup is not None:
                self.cgroups.remove(cgroup, timeout=0)
            now = time.time_ns()
            write_json_atomically(directory / "config.json", base)
            write_json_atomically(directory / "state.json", {
                "status": "exited", "start_error": str(error), "exit_code": START_ERROR_EXIT_CODE,
                "started_at_ns": now, "finished_at_ns": now, "boot_id": self._boot_id})
            return None
        return _Launch(container_id, directory, log_file, cgroup.oom_file if cgroup else "",
                       config.stdin, config.tty)

    def _upper_plan(self, image: ImageConfig) -> rootfs.UpperPlan:
        """The image's upper layer as planned on this node (blocking the first time: it reads the host)."""
        plan = self._uppers.get(image.reference)
        if plan is None:
            plan = rootfs.plan_upper(image, self._hidden)
            if len(self._uppers) < 256:  # bounded as the images are
                self._uppers[image.reference] = plan
        return plan

    def _collect_old_attempts(self, config: ContainerConfig) -> None:
        """Forget the exited attempts of this container before the previous one, as the kubelet's container
        garbage collection does: a container that restarts all day leaves two, not hundreds (blocking)."""
        for record in self._scan(config.pod_uid, True):
            old = record.config.get("name") == config.name and int(record.config["attempt"]) < config.attempt - 1
            if old and (record.removed or not record.running):
                if not record.removed:
                    self._remove_files(record)
                shutil.rmtree(self.layout.container(record.id), ignore_errors=True)
                self._forget(record.id)

    async def _launch(self, launch: _Launch) -> None:
        if not self._unshare:
            await asyncio.to_thread(self._record_start_failure, launch, "unshare (util-linux) is not installed")
            return
        read_end, write_end = os.pipe()
        if write_end == 3:  # dup2 onto itself would keep close-on-exec
            write_end, old = os.dup(write_end), write_end
            os.close(old)
        argv = [self._unshare, "--pid", "--", sys.executable, "-I", "-S", "-c", MONITOR_BOOT,
                f"dir={launch.directory}", f"log={launch.log_file}", "sync=3", f"oom={launch.oom_file}",
                f"stdin={int(launch.stdin)}", f"tty={int(launch.tty)}", f"maxlog={self.max_log_bytes}"]
        try:
            pid = os.posix_spawn(self._unshare, argv, {"PATH": HOST_PATH, "LANG": "C.UTF-8"}, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, str(launch.directory / "monitor.log"),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640),
                (os.POSIX_SPAWN_DUP2, write_end, 3),
            ], setsid=True, setsigmask=(), setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
        finally:
            os.close(write_end)
        pidwait.watch_child(pid)
        try:
            reply = await self._read_reply(read_end)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # the monitor and its child, not yet in a session of its own
            reply = ""
            message = f"timed out after {self.start_timeout:g}s setting up the container"
            await asyncio.to_thread(self._record_start_failure, launch, message)
            return
        if not reply.startswith(("ok ", "error ")):
            detail = await asyncio.to_thread(_tail, launch.directory / "monitor.log")
            await asyncio.to_thread(self._record_start_failure, launch,
                                    f"the container monitor exited before starting it: {detail or 'no output'}")

    async def _read_reply(self, fd: int) -> str:
        loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        done: asyncio.Future[bytes] = loop.create_future()
        buffer = bytearray()

        def readable() -> None:
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                return
            buffer.extend(chunk)
            if (not chunk or b"\n" in buffer) and not done.done():
                done.set_result(bytes(buffer))

        loop.add_reader(fd, readable)
        try:
            async with asyncio.timeout(self.start_timeout):
                return (await done).decode("utf-8", "replace").strip()
        finally:
            loop.remove_reader(fd)
            os.close(fd)

    def _record_start_failure(self, launch: _Launch, message: str) -> None:
        path = launch.directory / "state.json"
        try:
            state = read_json(path)
        except (OSError, ValueError):
            state = {}
        if state.get("status") == "exited":
            return
        now = time.time_ns()
        state.update(status="exited", start_error=message, exit_code=START_ERROR_EXIT_CODE,
                     started_at_ns=state.get("started_at_ns") or now, finished_at_ns=now, boot_id=self._boot_id)
        write_json_atomically(path, state)

    # ---- observing --------------------------------------------------------------------------------

    async def status(self, container_id: str) -> ContainerStatus:
        return status_of(await asyncio.to_thread(self._current, container_id))

    async def list(self, pod_uid: str | None = None) -> builtins.list[ContainerStatus]:
        records = await asyncio.to_thread(self._scan, pod_uid, False)
        return [status_of(record) for record in records]

    async def wait(self, container_id: str) -> ContainerStatus:
        while True:
            record = await asyncio.to_thread(self._current, container_id)
            if not record.running:
                return status_of(record)
            state = record.state
            monitor = procs.open_pidfd(int(state.get("monitor_pid") or 0), state.get("monitor_start"))
            if monitor is not None:
                try:
                    await pidwait.wait_exit(monitor)
                    pidwait.reap(monitor)
                finally:
                    os.close(monitor)
                continue
            # no monitor: a container orphaned by its monitor's death, or one still being created
            process = procs.open_pidfd(int(state.get("pid") or 0), state.get("pid_start"))
            if process is None:
                await asyncio.sleep(0.05)
                continue
            try:
                await pidwait.wait_exit(process)
                pidwait.reap(process)  # ours if we are the subreaper it was reparented to
            finally:
                os.close(process)

    def _record(self, container_id: str) -> Record:
        """The container's files (blocking); ContainerNotFound if there are none."""
        if not is_container_id(container_id):
            raise ContainerNotFound(container_id)
        directory = self.layout.container(container_id)
        config = self._config(container_id)
        if config is None:
            raise ContainerNotFound(container_id)
        try:
            state = read_json(directory / "state.json")
        except FileNotFoundError:
            if not directory.is_dir():  # removed by another runtime on this state directory
                self._forget(container_id)
                raise ContainerNotFound(container_id) from None
            state = {}
        return Record(container_id, config, state, removed=(directory / "removed").exists())

    def _config(self, container_id: str) -> dict[str, Any] | None:
        """The container's config.json (blocking the first time), None while it has none. Written once
        before its start and kept until the container's directory goes, so it is read once."""
        config = self._configs.get(container_id)
        if config is None:
            try:
                config = read_json(self.layout.config(container_id))
            except (FileNotFoundError, NotADirectoryError):
                return None
            self._configs[container_id] = config
        return config

    def _forget(self, container_id: str) -> None:
        """The container's directory is gone: so are its cached files."""
        self._configs.pop(container_id, None)
        self._log_paths.pop(container_id, None)

    def _current(self, container_id: str) -> Record:
        record = self._record(container_id)
        if record.removed:
            raise ContainerNotFound(container_id)
        return self._reconcile(record)

    def _reconcile(self, record: Record) -> Record:
        """Settle a record that says running but whose monitor is gone (blocking)."""
        state = record.state
        if state.get("status") == "exited":
            return record
        if not state:
            if time.time_ns() - record.created_at_ns < (self.start_timeout + 5) * 1e9:
                return record  # being created
            return self._mark_lost(record, "the runtime stopped before starting the container")
        if state.get("boot_id") != self._boot_id:
            return self._mark_lost(record, "the node restarted while the container was running")
        if procs.is_alive(int(state.get("monitor_pid") or 0), state.get("monitor_start")):
            return record
        record = self._record(record.id)  # it may have recorded the end just before exiting
        state = record.state
        if state.get("status") == "exited":
            return record
        if procs.is_alive(int(state.get("pid") or 0), state.get("pid_start")):
            return record  # still running, unmonitored: its end will be noticed by pidfd
        return self._mark_lost(record, f"the container's monitor (pid {state.get('monitor_pid')}) died and "
                                       "its exit status was not recorded")

    def _mark_lost(self, record: Record, message: str) -> Record:
        log.warning("container.lost", id=short_id(record.id), message=message)
        state = dict(record.state)
        state.update(status="exited", lost=message, finished_at_ns=time.time_ns())
        write_json_atomically(self.layout.state(record.id), state)
        return Record(record.id, record.config, state, record.removed)

    def _scan(self, pod_uid: str | None, include_removed: bool) -> builtins.list[Record]:
        records = []
        try:
            entries = builtins.list(os.scandir(self.layout.containers))
        except FileNotFoundError:
            return []
        for entry in entries:
            if not is_container_id(entry.name):
                continue
            try:
                if pod_uid is not None:  # other pods' containers: their configs say so, from the cache
                    config = self._config(entry.name)
                    if config is None or config.get("pod_uid") != pod_uid:
                        continue
                record = self._record(entry.name)
            except (ContainerNotFound, OSError, ValueError):
                continue
            if pod_uid is not None and record.pod_uid != pod_uid:
                continue
            if record.removed and not include_removed:
                continue
            records.append(record if record.removed else self._reconcile(record))
        records.sort(key=lambda r: r.created_at_ns)
        return records

    # ---- stopping and removing -----------------------------------------------------------------------

    async def stop(self, container_id: str, grace_seconds: float) -> ContainerStatus:
        record = await asyncio.to_thread(self._current, container_id)
        if not record.running:
            return status_of(record)
        if grace_seconds > 0:
            self._signal(record, signal.SIGTERM)
            try:
                async with asyncio.timeout(grace_seconds):
                    return await self.wait(container_id)
            except TimeoutError:
                log.info("container.kill_after_grace", id=short_id(container_id), grace_seconds=grace_seconds)
        self._signal(record, signal.SIGKILL)
        return await self.wait(container_id)

    def _signal(self, record: Record, signum: int) -> None:
        state = record.state
        pidfd = procs.open_pidfd(int(state.get("pid") or 0), state.get("pid_start"))
        if pidfd is not None:
            try:
                procs.send_signal(pidfd, signum)
            finally:
                os.close(pidfd)
        elif signum == signal.SIGKILL and not state.get("pid"):
            # still being set up: the monitor's process group holds the monitor and its child until the exec
            monitor_pid = int(state.get("monitor_pid") or 0)
            if procs.is_alive(monitor_pid, state.get("monitor_start")):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(monitor_pid, signal.SIGKILL)

    async def remove(self, container_id: str) -> None:
        record = await asyncio.to_thread(self._record, container_id)
        if record.removed:
            return
        record = await asyncio.to_thread(self._reconcile, record)
        if record.running:
            raise ContainerNotRunning(f"container {short_id(container_id)} is running: stop it before removing it")
        await asyncio.to_thread(self._remove_files, record)

    def _remove_files(self, record: Record) -> None:
        """The writable layer, mount point and cgroup go; config, state and the log stay (blocking)."""
        cgroup = ContainerCgroup.from_json(record.config.get("cgroup"))
        if cgroup is not None:
            self.cgroups.remove(cgroup)
        directory = self.layout.container(record.id)
        merged = directory / "rootfs"
        if os.path.ismount(merged):  # never mounted here normally: the overlay lives in the container's namespace
            subprocess.run(["umount", "-l", str(merged)], check=False, capture_output=True)
        for name in ("upper", "work", "rootfs"):
            shutil.rmtree(directory / name, ignore_errors=True)
        for name in ("stdin", "control", "hostname", "monitor.log"):
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()
        (directory / "removed").touch()

    async def remove_pod(self, pod_uid: str) -> None:
        records = await asyncio.to_thread(self._scan, pod_uid, True)
        for record in records:
            if not record.removed and record.running and (record.state.get("pid") or record.state.get("monitor_pid")):
                self._signal(record, signal.SIGKILL)
                try:
                    async with asyncio.timeout(10):
                        await self.wait(record.id)
                except TimeoutError:
                    log.warning("container.kill_timeout", id=short_id(record.id))
        await asyncio.to_thread(self._remove_pod_files, pod_uid, records)
        log.info("pod.removed", pod_uid=pod_uid, containers=len(records))

    def _remove_pod_files(self, pod_uid: str, records: builtins.list[Record]) -> None:
        for record in records:
            if not record.removed:
                self._remove_files(self._record(record.id))
            shutil.rmtree(self.layout.container(record.id), ignore_errors=True)
            self._forget(record.id)
        self.cgroups.remove_pod(pod_uid)
        for directory in self.layout.logs.glob(f"*_{pod_uid}"):
            if directory.name.endswith(f"_{pod_uid}"):
                shutil.rmtree(directory, ignore_errors=True)

    # ---- streams --------------------------------------------------------------------------------------

    def log_path(self, container_id: str) -> Path:
        cached = self._log_paths.get(container_id)
        if cached is not None:
            return cached
        path = Path(self._record(container_id).config["log_path"])
        self._log_paths[container_id] = path
        return path

    async def attach_input(self, container_id: str) -> FifoInput | None:
        record = await asyncio.to_thread(self._current, container_id)
        if not record.running:
            raise ContainerNotRunning(f"cannot attach to a stopped container ({short_id(container_id)})")
        if not record.config.get("stdin"):
            return None
        return FifoInput(self.layout.container(container_id))

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool,
                   tty: bool) -> asyncio.subprocess.Process:
        if not command:
            raise ValueError("exec needs a command")
        record = await asyncio.to_thread(self._current, container_id)
        state = record.state
        pid = int(state.get("pid") or 0)
        if not record.running or not procs.is_alive(pid, state.get("pid_start")):
            raise ContainerNotRunning(f"cannot exec in a stopped container ({short_id(container_id)})")
        spec = self.layout.container(container_id) / INIT_SPEC
        args = [sys.executable, "-I", "-S", str(ENTER), str(pid), str(spec),
                *(["--tty"] if tty else []), "--", *command]
        return await asyncio.create_subprocess_exec(
            *args, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={"PATH": HOST_PATH}, start_new_session=True)


def _tail(path: Path, size: int = 2000) -> str:
    try:
        text = path.read_bytes()[-size:].decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return text.splitlines()[-1] if text else ""


def _prune_old_logs(directory: Path, attempt: int) -> None:
    """Keep the logs of this attempt and the one before (`logs --previous`), as the kubelet does."""
    for path in directory.glob("*.log*"):
        number = path.name.split(".", 1)[0]
        if number.isdigit() and int(number) < attempt - 1:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
