"""One pod on this node, from its sandbox to its last container's exit.

The worker makes the pod real (network sandbox, volumes, init containers in order, then every
container under its own supervisor with probes and restarts), reports what it observes as the
pod's status, and on deletion stops everything within the grace period and removes the pod for
good. It is level-triggered: a new version of the pod (or a restart of the agent, when it finds
the containers already running) is met by looking at what exists and going on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from google.protobuf.message import Message

from agent import podenv
from agent.context import AgentContext
from agent.hooks import HookError, run_hook
from agent.lifecycle.backoff import REASON_CRASH_LOOP_BACK_OFF, RestartBackOff
from agent.lifecycle.events import back_off_restarting
from agent.lifecycle.restart import should_restart
from agent.network import DnsSettings, Sandbox
from agent.podstatus import ContainerRecord, PodStatusReporter
from agent.probing import ContainerProbes
from agent.runtime.interface import ContainerConfig, ContainerStatus, ImagePullError
from agent.volumes import PreparedVolume, VolumeError, container_mounts, prepare_volumes
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.quantity import milli_value, parse_quantity
from controlplane.api.quantity import value as quantity_value
from controlplane.api.v1 import core_pb2

log = structlog.get_logger("agent.pod")

POD = kinds.by_kind("Pod")
T = TypeVar("T")
_RETRY = 2.0  # seconds between attempts at something that can heal (a missing ConfigMap, a volume)


class PodWorker:
    def __init__(self, context: AgentContext, pod: core_pb2.Pod) -> None:
        self.context = context
        self.pod = pod
        self.uid = pod.metadata.uid
        self.key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        self._changed = asyncio.Event()
        self._gone_from_api = False
        self.sandbox: Sandbox | None = None
        self.volumes: dict[str, PreparedVolume] = {}
        self.records: dict[str, ContainerRecord] = {}
        self.reporter = PodStatusReporter(context, self)
        self._stopping = asyncio.Event()

    # ---------------------------------------------------------------------------- from the manager

    def update(self, pod: core_pb2.Pod) -> None:
        self.pod = pod
        self.reporter.observe(pod)
        self._changed.set()

    def removed_from_api(self) -> None:
        self._gone_from_api = True
        self._changed.set()

    @property
    def deleting(self) -> bool:
        return self._gone_from_api or bool(self.pod.metadata.deletion_timestamp)

    # ---------------------------------------------------------------------------- the pod's life

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            reporter = group.create_task(self.reporter.run())
            if not self.deleting:
                # A cancellation here is the agent stopping: the containers keep running, and the
                # next agent adopts them. Only the pod's deletion goes on to terminate them.
                await self._live()
            await self._terminate()
            await self.reporter.flush()
            reporter.cancel()
        await self._remove()

    async def _live(self) -> None:
        """Run the pod until it is deleted (or, for a pod that finishes, until it is deleted too)."""
        life = asyncio.create_task(self._start_and_supervise())
        deletion = asyncio.create_task(self._wait_for_deletion())
        try:
            done, _ = await asyncio.wait({life, deletion}, return_when=asyncio.FIRST_COMPLETED)
            if life in done:
                life.result()
                await deletion  # finished pods stay, with their status, until deleted
        finally:
            for task in (life, deletion):
                task.cancel()
            await asyncio.gather(life, deletion, return_exceptions=True)

    async def _wait_for_deletion(self) -> None:
        while not self.deleting:
            self._changed.clear()
            await self._changed.wait()

    async def _start_and_supervise(self) -> None:
        self.sandbox = await self._until_ready("FailedCreatePodSandBox", self._create_sandbox)
        self.reporter.mark_dirty()
        self.volumes = await self._until_ready("FailedMount", self._prepare_volumes)
        for container in self.pod.spec.init_containers:
            if not await self._run_init_container(container):
                return  # the pod failed (restartPolicy Never)
        self.reporter.initialized = True
        async with asyncio.TaskGroup() as group:
            for container in self.pod.spec.containers:
                group.create_task(self._supervise(container))
        if self.sandbox is not None:
            await self.context.network.remove_sandbox(self.uid)  # the pod is done: free its address

    async def _until_ready(self, reason: str, step: Callable[[], Awaitable[T]]) -> T:
        """Retry a setup step that may heal (missing ConfigMap, unbound claim), reporting each failure."""
        while True:
            try:
                return await step()
            except (VolumeError, OSError, RuntimeError) as error:
                await self.context.events.record(self.pod, "Warning", reason, str(error))
                self.reporter.waiting_all("ContainerCreating", "")
                await asyncio.sleep(_RETRY)

    async def _create_sandbox(self) -> Sandbox:
        spec = self.pod.spec
        dns = DnsSettings(policy=spec.dns_policy or "ClusterFirst", namespace=self.pod.metadata.namespace,
                          nameservers=tuple(spec.dns_config.nameservers), searches=tuple(spec.dns_config.searches),
                          options=tuple((o.name, o.value if o.HasField("value") else None)
                                        for o in spec.dns_config.options),
                          host_network=spec.host_network)
        return await self.context.network.create_sandbox(
            pod_uid=self.uid, pod_name=self.pod.metadata.name, namespace=self.pod.metadata.namespace,
            hostname=spec.hostname or self.pod.metadata.name, subdomain=spec.subdomain,
            host_aliases=tuple((a.ip, tuple(a.hostnames)) for a in spec.host_aliases), dns=dns)

    async def _prepare_volumes(self) -> dict[str, PreparedVolume]:
        return await prepare_volumes(self.pod, self.context.pods_dir / self.uid, self._fetch)

    async def _fetch(self, kind_name: str, name: str) -> Message | None:
        kind = kinds.by_kind(kind_name)
        try:
            return await self.context.client.get(kind, self.pod.metadata.namespace if kind.namespaced else "", name)
        except ApiError as error:
            if error.reason is Reason.NOT_FOUND:
                return None
            raise

    # ---------------------------------------------------------------------------- containers

    async def _run_init_container(self, container: core_pb2.Container) -> bool:
        """Run an init container to success (restarting it as the policy says); False if the pod failed."""
        record = self._record(container, init=True)
        while not self._stopping.is_set():
            status = await self._run_once(container, record)
            if status is None:
                continue
            if status.exit_code == 0:
                return True
            if self.pod.spec.restart_policy == "Never":
                self.reporter.failed = True
                self.reporter.mark_dirty()
                return False
            await self._back_off(container, record, status)
        return False

    async def _supervise(self, container: core_pb2.Container) -> None:
        record = self._record(container, init=False)
        while not self._stopping.is_set():
            status = await self._run_once(container, record)
            if status is None or self._stopping.is_set():
                continue
            if not should_restart(self.pod.spec.restart_policy or "Always", status.exit_code or 0):
                return
            await self._back_off(container, record, status)

    def _record(self, container: core_pb2.Container, *, init: bool) -> ContainerRecord:
        record = ContainerRecord(container.name, container.image, init=init,
                                 backoff=RestartBackOff(self.context.config.backoff_initial,
                                                        self.context.config.backoff_max,
                                                        self.context.config.backoff_reset))
        self.records[container.name] = record
        return record

    async def _back_off(self, container: core_pb2.Container, record: ContainerRecord,
                        status: ContainerStatus) -> None:
        """Wait out CrashLoopBackOff before the next attempt (the wait grows with each quick crash)."""
        now = time.time()
        started = status.started_at.timestamp()
        finished = (status.finished_at or datetime.now(UTC)).timestamp()
        restart_at = record.backoff.next_restart_at(now, finished, finished - started)
        delay = max(0.0, restart_at - now)
        if delay > 0:
            meta = self.pod.metadata
            record.waiting(REASON_CRASH_LOOP_BACK_OFF,
                           record.backoff.message(container.name, meta.name, meta.namespace, self.uid))
            self.reporter.mark_dirty()
            event = back_off_restarting(container.name, meta.name, meta.namespace, self.uid)
            await self.context.events.record(self.pod, event.type, event.reason, event.message,
                                             field_path=self._field_path(container, record))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    def _field_path(self, container: core_pb2.Container, record: ContainerRecord) -> str:
        group = "initContainers" if record.init else "containers"
        return f"spec.{group}{{{container.name}}}"

    async def _run_once(self, container: core_pb2.Container, record: ContainerRecord) -> ContainerStatus | None:
        """Start (or adopt) one attempt of the container and wait for its end; None when it could not start."""
        runtime = self.context.runtime
        field_path = self._field_path(container, record)
        existing, previous = await self._latest_attempts(container.name)
        if existing is not None and existing.state == "running" and record.container_id != existing.id:
            status = existing  # adopted after an agent restart
            record.adopt(existing, previous)
            log.info("container.adopted", pod=self.key, container=container.name, id=existing.id)
        else:
            attempt = existing.attempt + 1 if existing is not None else 0
            if existing is not None and record.container_id != existing.id:
                record.adopt(existing, previous)  # its exit happened while the agent was away
            config = await self._container_config(container, record, attempt)
            if config is None:
                return None
            try:
                await runtime.ensure_image(container.image)
            except ImagePullError as error:
                record.waiting(error.reason, error.message)
                self.reporter.mark_dirty()
                await self.context.events.record(self.pod, "Warning", "Failed", error.message, field_path)
                await asyncio.sleep(_RETRY)
                record.waiting("ImagePullBackOff", f'Back-off pulling image "{container.image}"')
                self.reporter.mark_dirty()
                await asyncio.sleep(_RETRY)
                return None
            if attempt == 0:
                await self.context.events.record(self.pod, "Normal", "Pulled",
                                                 f'Container image "{container.image}" already present on machine',
                                                 field_path)
            status = await runtime.start(config)
            record.started(status)
            self.reporter.mark_dirty()
            await self.context.events.record(self.pod, "Normal", "Created", f"Created container {container.name}",
                                             field_path)
            await self.context.events.record(self.pod, "Normal", "Started", f"Started container {container.name}",
                                             field_path)
            if container.lifecycle.HasField("post_start"):
                try:
                    await run_hook(container.lifecycle.post_start, runtime=runtime, container_id=status.id,
                                   pod_ip=self.sandbox.ip if self.sandbox else "", ports=self._ports(container),
                                   timeout=30)
                except HookError as error:
                    await self.context.events.record(self.pod, "Warning", "FailedPostStartHook", str(error),
                                                     field_path)
                    await runtime.stop(status.id, self.grace_period())
        probes = ContainerProbes(self, container, record, status)
        async with asyncio.TaskGroup() as group:
            prober = group.create_task(probes.run())
            ended = await runtime.wait(status.id)
            prober.cancel()
        record.finished(ended)
        self.reporter.mark_dirty()
        return ended

    async def _latest_attempts(self, name: str) -> tuple[ContainerStatus | None, ContainerStatus | None]:
        """The newest attempt of a container the runtime knows, and the one before it."""
        attempts = sorted((c for c in await self.context.runtime.list(self.uid) if c.name == name),
                          key=lambda c: c.attempt)
        return (attempts[-1] if attempts else None), (attempts[-2] if len(attempts) > 1 else None)

    def _ports(self, container: core_pb2.Container) -> dict[str, int]:
        return {p.name: p.container_port for p in container.ports if p.name}

    def grace_period(self) -> float:
        spec = self.pod.spec
        return float(spec.termination_grace_period_seconds if spec.HasField("termination_grace_period_seconds")
                     else 30)

    async def _container_config(self, container: core_pb2.Container, record: ContainerRecord,
                                attempt: int) -> ContainerConfig | None:
        """Everything the runtime needs, or None (CreateContainerConfigError) when a reference is missing."""
        field_path = self._field_path(container, record)
        try:
            sources = await self._env_sources(container)
            resolved = podenv.resolve_env(self.pod, container, sources)
            mounts = container_mounts(container, self.volumes)
        except (podenv.ConfigError, VolumeError) as error:
            record.waiting("CreateContainerConfigError", str(error))
            self.reporter.mark_dirty()
            await self.context.events.record(self.pod, "Warning", "Failed", f"Error: {error}", field_path)
            await asyncio.sleep(_RETRY)
            return None
        for warning in resolved.warnings:
            await self.context.events.record(self.pod, "Warning", "InvalidEnvironmentVariableNames", warning,
                                             field_path)
        command, args = podenv.command_line(container, resolved.env)
        assert self.sandbox is not None
        limits = container.resources.limits
        requests = container.resources.requests
        return ContainerConfig(
            pod_uid=self.uid, pod_namespace=self.pod.metadata.namespace, pod_name=self.pod.metadata.name,
            name=container.name, attempt=attempt, image=container.image, command=command, args=args,
            env=tuple(resolved.env), working_dir=container.working_dir, mounts=mounts,
            netns_path=self.context.host_netns if self.pod.spec.host_network else self.sandbox.netns_path,
            hostname=self.pod.spec.hostname or self.pod.metadata.name, etc_hosts=self.sandbox.hosts_file,
            resolv_conf=self.sandbox.resolv_conf,
            memory_limit=quantity_value(parse_quantity(limits["memory"].string)) if "memory" in limits else None,
            cpu_limit_millicores=milli_value(parse_quantity(limits["cpu"].string)) if "cpu" in limits else None,
            cpu_request_millicores=milli_value(parse_quantity(requests["cpu"].string)) if "cpu" in requests else None,
            stdin=container.stdin, stdin_once=container.stdin_once, tty=container.tty)

    async def _env_sources(self, container: core_pb2.Container) -> podenv.EnvSources:
        config_maps: dict[str, core_pb2.ConfigMap] = {}
        secrets: dict[str, core_pb2.Secret] = {}
        names = {(s.config_map_ref.name, "ConfigMap") for s in container.env_from if s.HasField("config_map_ref")}
        names |= {(s.secret_ref.name, "Secret") for s in container.env_from if s.HasField("secret_ref")}
        for var in container.env:
            if var.value_from.HasField("config_map_key_ref"):
                names.add((var.value_from.config_map_key_ref.name, "ConfigMap"))
            if var.value_from.HasField("secret_key_ref"):
                names.add((var.value_from.secret_key_ref.name, "Secret"))
        for name, kind in names:
            found = await self._fetch(kind, name)
            if isinstance(found, core_pb2.ConfigMap):
                config_maps[name] = found
            elif isinstance(found, core_pb2.Secret):
                secrets[name] = found
        # As the kubelet, wait until the Services were read once: variables from a cache still filling
        # would silently miss some.
        await self.context.services.wait_synced()
        services = self.context.services
        namespace = self.pod.metadata.namespace
        candidates = services.list(namespace) + (
            services.list(podenv.MASTER_SERVICE_NAMESPACE) if namespace != podenv.MASTER_SERVICE_NAMESPACE else [])
        service_env = podenv.pod_service_env(self.pod, candidates)
        return podenv.EnvSources(config_maps, secrets, service_env=service_env)

    # ---------------------------------------------------------------------------- the end

    async def kill_container(self, container: core_pb2.Container, status: ContainerStatus, grace: float) -> None:
        """Stop one container (a failed liveness or startup probe): its preStop hook, then the runtime."""
        await self._pre_stop(container, status, grace)
        await self.context.runtime.stop(status.id, grace)

    async def _pre_stop(self, container: core_pb2.Container, status: ContainerStatus, grace: float) -> None:
        if not container.lifecycle.HasField("pre_stop"):
            return
        try:
            await run_hook(container.lifecycle.pre_stop, runtime=self.context.runtime, container_id=status.id,
                           pod_ip=self.sandbox.ip if self.sandbox else "", ports=self._ports(container),
                           timeout=grace)
        except HookError as error:
            record = self.records.get(container.name)
            await self.context.events.record(self.pod, "Warning", "FailedPreStopHook", str(error),
                                             self._field_path(container, record) if record else "")

    async def _terminate(self) -> None:
        """Stop every running container within the pod's grace period (preStop hooks first)."""
        self._stopping.set()
        grace = float(self.pod.metadata.deletion_grace_period_seconds) if self.pod.metadata.HasField(
            "deletion_grace_period_seconds") else self.grace_period()
        containers: Mapping[str, core_pb2.Container] = {
            c.name: c for c in (*self.pod.spec.init_containers, *self.pod.spec.containers)}
        running = [c for c in await self.context.runtime.list(self.uid) if c.state == "running"]
        for status in running:
            container = containers.get(status.name)
            if container is not None:
                await self.context.events.record(self.pod, "Normal", "Killing",
                                                 f"Stopping container {status.name}")
        async with asyncio.TaskGroup() as group:
            for status in running:
                container = containers.get(status.name)
                if container is not None:
                    group.create_task(self.kill_container(container, status, grace))
                else:
                    group.create_task(self.context.runtime.stop(status.id, grace))
        for status in await self.context.runtime.list(self.uid):
            record = self.records.get(status.name)
            if record is not None and status.state == "exited":
                record.finished(status)
        self.reporter.mark_dirty()

    async def _remove(self) -> None:
        """After the last container stopped: the final delete (grace 0) and the node's leftovers."""
        if not self._gone_from_api:
            try:
                await self.context.client.delete(POD, self.pod.metadata.namespace, self.pod.metadata.name,
                                                 grace_period=0)
            except ApiError as error:
                if error.reason is not Reason.NOT_FOUND:
                    raise
        await self.context.runtime.remove_pod(self.uid)
        await self.context.network.remove_sandbox(self.uid)
        shutil.rmtree(self.context.pods_dir / self.uid, ignore_errors=True)
        log.info("pod.removed", pod=self.key)
