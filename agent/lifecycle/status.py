"""A pod's status, built from what the agent observed, as the kubelet writes it.

The agent core gathers plain facts about a pod (`PodFacts`: its addresses and, per container,
a `ContainerFacts` with the runtime state and the probes' outcome) and calls

    status = build_pod_status(pod.spec, facts, previous=pod.status, now=time.time())

which returns the whole `core_pb2.PodStatus` to write: phase, conditions, container statuses,
addresses, start time. The rules are the kubelet's (getPhase, convertToAPIContainerStatuses and the
condition generators of pkg/kubelet/status), in short:

- Container statuses: one per spec container, regular ones sorted by name, init containers in spec
  order. A container the facts do not mention yet waits with reason `ContainerCreating` (or
  `PodInitializing` when the pod has init containers), keeping its restart count and last state.
  `started` is true for a running container whose startup probe (if any) succeeded; `ready` for a
  started one whose readiness probe (if any) succeeded; an ordinary init container is `ready` once
  it exited 0.
- Phase: `Pending` while an init container has not succeeded or a container waits for its first
  start; `Running` once every container started and one runs, or all ended but some will be
  restarted (Always; OnFailure after a failure); `Succeeded` when all ended with 0 and none will
  run again; `Failed` when all ended, one in failure, and none will run again (Never, or any policy
  once the pod is terminal), or when an init container failed under Never. A terminal phase
  never changes back.
- Conditions `Initialized`, `Ready`, `ContainersReady`, `PodScheduled` (and
  `PodReadyToStartContainers` when the facts say whether the sandbox is up), with Kubernetes'
  reasons and messages (`containers with unready status: [api]`). `lastTransitionTime` changes
  only when a condition's status flips; otherwise the previous one is kept. Conditions other
  components own (DisruptionTarget, readiness gates) are kept as they were.

Times in the facts are wall-clock seconds since the epoch (`time.time()`); they are written as
RFC 3339 with second precision, as Kubernetes' metav1.Time is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from agent.lifecycle.goformat import go_quote
from agent.lifecycle.restart import ALWAYS, NEVER
from controlplane.api.timestamps import format_time
from controlplane.api.v1 import core_pb2, meta_pb2

# ---------------------------------------------------------------------------------------------- words

# Phases.
PENDING = "Pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"

# Waiting reasons.
CONTAINER_CREATING = "ContainerCreating"  # not created yet (the default)
POD_INITIALIZING = "PodInitializing"  # the default when the pod has init containers
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"  # message: RestartBackOff.message(...)
ERR_IMAGE_PULL = "ErrImagePull"  # message: the runtime's pull error
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"  # message: image_pull_back_off_message(image)
CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"  # message: e.g. `configmap "app-config" not found`
CREATE_CONTAINER_ERROR = "CreateContainerError"  # the runtime refused to create it

# Terminated reasons.
COMPLETED = "Completed"
ERROR = "Error"
OOM_KILLED = "OOMKilled"

# Condition types, statuses, reasons.
POD_SCHEDULED = "PodScheduled"
POD_READY_TO_START_CONTAINERS = "PodReadyToStartContainers"
INITIALIZED = "Initialized"
CONTAINERS_READY = "ContainersReady"
READY = "Ready"
KUBELET_CONDITIONS = frozenset({POD_SCHEDULED, POD_READY_TO_START_CONTAINERS, INITIALIZED, CONTAINERS_READY, READY})
TRUE = "True"
FALSE = "False"
CONTAINERS_NOT_READY = "ContainersNotReady"
CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
POD_COMPLETED = "PodCompleted"
POD_FAILED = "PodFailed"

_INIT_INFERRED_MESSAGE = ("Unable to get init container status from container runtime and pod has been "
                          "initialized, treat it as exited normally")


def terminated_reason(exit_code: int, oom_killed: bool = False) -> str:
    """The reason of a terminated state, as container runtimes give it: OOMKilled, Completed or Error."""
    if oom_killed:
        return OOM_KILLED
    return COMPLETED if exit_code == 0 else ERROR


def image_pull_back_off_message(image: str) -> str:
    """`Back-off pulling image "nginx:nope"`, the message of an ImagePullBackOff."""
    return f"Back-off pulling image {go_quote(image)}"


def rfc3339(epoch: float | None) -> str:
    """Seconds since the epoch as Kubernetes writes a time: `2024-05-01T12:00:00Z` ("" for None)."""
    if epoch is None:
        return ""
    return format_time(datetime.fromtimestamp(epoch, UTC))


# ---------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class Waiting:
    """The container is not running: not created yet, or waiting to be (re)started.

    `reason` is one of the waiting reasons above (ContainerCreating, CrashLoopBackOff, ErrImagePull,
    ImagePullBackOff, CreateContainerConfigError ...), `message` says why in Kubernetes' words.
    """

    reason: str = CONTAINER_CREATING
    message: str = ""


@dataclass(frozen=True, slots=True)
class Running:
    """The container's process runs since `started_at` (epoch seconds)."""

    started_at: float


@dataclass(frozen=True, slots=True)
class Terminated:
    """One run of the container ended.

    `reason` may be left "": it is then OOMKilled when `oom_killed`, Completed for exit code 0,
    Error otherwise. `message` is the termination message (the file at terminationMessagePath, or
    the log tail for FallbackToLogsOnError), if any. `container_id` is that run's ID as written in
    the API (`kubelab://3f2a...`, `containerd://...`).
    """

    exit_code: int
    started_at: float | None = None
    finished_at: float | None = None
    reason: str = ""
    message: str = ""
    signal: int = 0
    container_id: str = ""
    oom_killed: bool = False

    @property
    def effective_reason(self) -> str:
        return self.reason or terminated_reason(self.exit_code, self.oom_killed)


ContainerState = Waiting | Running | Terminated


@dataclass(frozen=True, slots=True)
class ContainerFacts:
    """What the agent knows about one container of a pod (regular or init).

    state            Running, Terminated (it ended and stays so, or is about to be restarted at once),
                     or Waiting (not created yet, CrashLoopBackOff, image or config errors).
    last_state       the previous run's end, shown as lastState (None before any restart).
    restart_count    how many times the container was started again after its first run.
    image, image_id  as the runtime reports them; "" takes the image from the spec.
    container_id     the newest run's ID (the running one, or the one that ended while the
                     container waits to be restarted); "" before the first run.
    startup_passed   the container has no startup probe, or it succeeded for this run.
    readiness_passed the container has no readiness probe, or its verdict is Success.

    `started` and `ready` in the status are derived: started = running and startup_passed;
    ready = started and readiness_passed (an ordinary init container: ready = exited 0). So the
    probes' last verdicts can be passed as they are, whatever the state.

    A container waiting to be restarted (CrashLoopBackOff, or an image error after a run) must
    carry its `last_state`: that is how the phase knows it ran before (Running, not Pending).
    A Terminated state without its own container_id takes `container_id`.
    """

    name: str
    state: ContainerState
    last_state: Terminated | None = None
    restart_count: int = 0
    image: str = ""
    image_id: str = ""
    container_id: str = ""
    startup_passed: bool = True
    readiness_passed: bool = True


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What the agent knows about one pod.

    containers, init_containers  facts per container, by name; a spec container missing here has
                     not been created yet (it waits with ContainerCreating or PodInitializing).
    pod_ips          the sandbox's addresses, primary first; empty keeps the previous ones.
    host_ips         the node's addresses, primary first; empty keeps the previous ones.
    start_time       when the agent accepted the pod (epoch seconds); kept once set, and `now`
                     when neither it nor the previous status has one.
    terminal         no container of this pod will run again (the pod is being deleted and all its
                     containers stopped, or it exceeded activeDeadlineSeconds, or was evicted): the
                     phase is then Succeeded or Failed by the exits alone, whatever the policy.
    reason, message  the pod's own reason and message (Evicted, DeadlineExceeded); "" keeps the
                     previous ones while the phase stays the same.
    sandbox_ready    whether the pod's sandbox (network namespace and address) is up; reported as
                     the PodReadyToStartContainers condition, which is left out when None.
    """

    containers: Sequence[ContainerFacts] = ()
    init_containers: Sequence[ContainerFacts] = ()
    pod_ips: Sequence[str] = ()
    host_ips: Sequence[str] = ()
    start_time: float | None = None
    terminal: bool = False
    reason: str = ""
    message: str = ""
    sandbox_ready: bool | None = None


# ---------------------------------------------------------------------------------------------- build


def build_pod_status(spec: core_pb2.PodSpec, facts: PodFacts, previous: core_pb2.PodStatus | None,
                     now: float) -> core_pb2.PodStatus:
    """The pod's status from the facts, the spec and the status written before (None for a new pod)."""
    previous = previous if previous is not None else core_pb2.PodStatus()
    status = core_pb2.PodStatus()
    has_init = len(spec.init_containers) > 0
    default_waiting = POD_INITIALIZING if has_init else CONTAINER_CREATING

    regular_facts = {f.name: f for f in facts.containers}
    init_facts = {f.name: f for f in facts.init_containers}
    previous_regular = {s.name: s for s in previous.container_statuses}
    previous_init = {s.name: s for s in previous.init_container_statuses}
    regular_has_run = any(isinstance(f.state, Running | Terminated) for f in regular_facts.values())

    for container in spec.init_containers:
        status.init_container_statuses.append(_container_status(
            container, init_facts.get(container.name), previous_init.get(container.name), default_waiting,
            init=True, pod_initialized=regular_has_run))
    regular = [_container_status(container, regular_facts.get(container.name), previous_regular.get(container.name),
                                 default_waiting, init=False, pod_initialized=regular_has_run)
               for container in spec.containers]
    status.container_statuses.extend(sorted(regular, key=lambda s: s.name))

    phase = _phase(spec, status, terminal=facts.terminal, has_initialized=regular_has_run)
    if previous.phase in (SUCCEEDED, FAILED):
        phase = previous.phase  # pods never leave a terminal phase
    status.phase = phase
    if facts.reason or facts.message:
        status.reason, status.message = facts.reason, facts.message
    elif phase == previous.phase:
        status.reason, status.message = previous.reason, previous.message

    status.conditions.extend(_conditions(spec, status, facts, previous, rfc3339(now)))

    pod_ips = list(facts.pod_ips) or [ip.ip for ip in previous.pod_ips] or ([previous.pod_ip] if previous.pod_ip
                                                                             else [])
    host_ips = list(facts.host_ips) or [ip.ip for ip in previous.host_ips] or ([previous.host_ip]
                                                                               if previous.host_ip else [])
    if pod_ips:
        status.pod_ip = pod_ips[0]
        status.pod_ips.extend(core_pb2.PodIP(ip=ip) for ip in pod_ips)
    if host_ips:
        status.host_ip = host_ips[0]
        status.host_ips.extend(core_pb2.PodIP(ip=ip) for ip in host_ips)
    status.start_time = previous.start_time or rfc3339(facts.start_time if facts.start_time is not None else now)
    status.qos_class = previous.qos_class
    status.nominated_node_name = previous.nominated_node_name
    return status


def _is_sidecar(container: core_pb2.Container) -> bool:
    return container.restart_policy == ALWAYS


def _terminated(state: Terminated) -> core_pb2.ContainerStateTerminated:
    return core_pb2.ContainerStateTerminated(
        exit_code=state.exit_code, signal=state.signal, reason=state.effective_reason, message=state.message,
        started_at=rfc3339(state.started_at), finished_at=rfc3339(state.finished_at),
        container_id=state.container_id)


def _container_status(container: core_pb2.Container, facts: ContainerFacts | None,
                      previous: core_pb2.ContainerStatus | None, default_waiting: str, *, init: bool,
                      pod_initialized: bool) -> core_pb2.ContainerStatus:
    sidecar = init and _is_sidecar(container)
    status = core_pb2.ContainerStatus(name=container.name, image=container.image)
    if facts is None:
        if previous is not None and previous.state.HasField("terminated"):
            status.CopyFrom(previous)  # the last word on a run that ended; the runtime forgot it
        else:
            status.state.waiting.reason = default_waiting
            if previous is not None:
                status.restart_count = previous.restart_count
                status.last_state.CopyFrom(previous.last_state)
            if init and not sidecar and pod_initialized:
                # The regular containers ran, so this init container succeeded before.
                status.state.Clear()
                status.state.terminated.CopyFrom(core_pb2.ContainerStateTerminated(
                    exit_code=0, reason=COMPLETED, message=_INIT_INFERRED_MESSAGE))
        started = False
        readiness_passed = False
    else:
        state = facts.state
        if isinstance(state, Running):
            status.state.running.started_at = rfc3339(state.started_at)
        elif isinstance(state, Terminated):
            status.state.terminated.CopyFrom(_terminated(state))
            if not state.container_id:
                status.state.terminated.container_id = facts.container_id
        else:
            status.state.waiting.reason = state.reason
            status.state.waiting.message = state.message
        if facts.last_state is not None:
            status.last_state.terminated.CopyFrom(_terminated(facts.last_state))
        status.restart_count = facts.restart_count
        status.image = facts.image or container.image
        status.image_id = facts.image_id
        status.container_id = facts.container_id
        started = isinstance(state, Running) and facts.startup_passed
        readiness_passed = facts.readiness_passed
    status.started = started
    if init and not sidecar:
        status.ready = status.state.HasField("terminated") and status.state.terminated.exit_code == 0
    else:
        status.ready = started and readiness_passed
    return status


# ---------------------------------------------------------------------------------------------- phase


def _waiting_after_exit(status: core_pb2.ContainerStatus) -> bool:
    return status.last_state.HasField("terminated")


def _phase(spec: core_pb2.PodSpec, status: core_pb2.PodStatus, *, terminal: bool, has_initialized: bool) -> str:
    """Kubernetes' getPhase over the container statuses just built."""
    init_statuses = {s.name: s for s in status.init_container_statuses}
    statuses = {s.name: s for s in status.container_statuses}
    restart_policy = spec.restart_policy or ALWAYS

    pending_init = 0
    pending_sidecars = 0
    failed_init = 0
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.init_containers:
        s = init_statuses[container.name]
        state = s.state
        if _is_sidecar(container):
            if state.HasField("running"):
                if not s.started:
                    pending_sidecars += 1
                running += 1
            elif state.HasField("terminated"):
                pass  # an ended sidecar does not count
            elif not _waiting_after_exit(s):
                pending_sidecars += 1
                waiting += 1
            continue
        if state.HasField("running"):
            pending_init += 1
        elif state.HasField("terminated"):
            if state.terminated.exit_code != 0:
                failed_init += 1
        elif _waiting_after_exit(s):
            if s.last_state.terminated.exit_code != 0:
                failed_init += 1
        else:
            pending_init += 1

    for container in spec.containers:
        s = statuses[container.name]
        state = s.state
        if state.HasField("running"):
            running += 1
        elif state.HasField("terminated"):
            stopped += 1
            if state.terminated.exit_code == 0:
                succeeded += 1
        elif _waiting_after_exit(s):
            stopped += 1
        elif state.HasField("waiting"):
            waiting += 1
        else:
            unknown += 1

    if failed_init > 0 and restart_policy == NEVER:
        return FAILED
    if pending_init > 0 or (pending_sidecars > 0 and not has_initialized) or waiting > 0:
        return PENDING
    if running > 0 and unknown == 0:
        return RUNNING
    if running == 0 and stopped > 0 and unknown == 0:
        if terminal:
            return SUCCEEDED if stopped == succeeded else FAILED
        if restart_policy == ALWAYS:
            return RUNNING  # every container is on its way back
        if stopped == succeeded:
            return SUCCEEDED
        if restart_policy == NEVER:
            return FAILED
        return RUNNING  # OnFailure: the failed ones will be restarted
    return PENDING


# ---------------------------------------------------------------------------------------------- conditions


def _go_list(names: Iterable[str]) -> str:
    """A []string as Go's %s prints it: `[api sidecar]`."""
    return "[" + " ".join(names) + "]"


def _initialized(spec: core_pb2.PodSpec, status: core_pb2.PodStatus) -> meta_pb2.Condition:
    incomplete = []
    for container, s in zip(spec.init_containers, status.init_container_statuses, strict=True):
        done = s.started if _is_sidecar(container) else s.ready
        if not done:
            incomplete.append(container.name)
    if status.phase == SUCCEEDED:
        return meta_pb2.Condition(type=INITIALIZED, status=TRUE, reason=POD_COMPLETED)
    if any(s.state.HasField("running") or s.state.HasField("terminated") for s in status.container_statuses):
        return meta_pb2.Condition(type=INITIALIZED, status=TRUE)  # initialized before; a sidecar restarts
    if incomplete:
        return meta_pb2.Condition(type=INITIALIZED, status=FALSE, reason=CONTAINERS_NOT_INITIALIZED,
                                  message=f"containers with incomplete status: {_go_list(incomplete)}")
    return meta_pb2.Condition(type=INITIALIZED, status=TRUE)


def _containers_ready(spec: core_pb2.PodSpec, status: core_pb2.PodStatus) -> meta_pb2.Condition:
    if status.phase == SUCCEEDED:
        return meta_pb2.Condition(type=CONTAINERS_READY, status=FALSE, reason=POD_COMPLETED)
    if status.phase == FAILED:
        return meta_pb2.Condition(type=CONTAINERS_READY, status=FALSE, reason=POD_FAILED)
    unready = [c.name for c, s in zip(spec.init_containers, status.init_container_statuses, strict=True)
               if _is_sidecar(c) and not s.ready]
    regular = {s.name: s for s in status.container_statuses}
    unready += [c.name for c in spec.containers if not regular[c.name].ready]
    if unready:
        return meta_pb2.Condition(type=CONTAINERS_READY, status=FALSE, reason=CONTAINERS_NOT_READY,
                                  message=f"containers with unready status: {_go_list(unready)}")
    return meta_pb2.Condition(type=CONTAINERS_READY, status=TRUE)


def _conditions(spec: core_pb2.PodSpec, status: core_pb2.PodStatus, facts: PodFacts,
                previous: core_pb2.PodStatus, now: str) -> list[meta_pb2.Condition]:
    kept = [c for c in previous.conditions if c.type not in KUBELET_CONDITIONS]
    generated = []
    if facts.sandbox_ready is not None:
        generated.append(meta_pb2.Condition(type=POD_READY_TO_START_CONTAINERS,
                                            status=TRUE if facts.sandbox_ready else FALSE))
    generated.append(_initialized(spec, status))
    containers_ready = _containers_ready(spec, status)
    generated.append(meta_pb2.Condition(type=READY, status=containers_ready.status, reason=containers_ready.reason,
                                        message=containers_ready.message))
    generated.append(containers_ready)
    generated.append(meta_pb2.Condition(type=POD_SCHEDULED, status=TRUE))
    before = {c.type: c for c in previous.conditions}
    for condition in generated:
        old = before.get(condition.type)
        if old is not None and old.status == condition.status and old.last_transition_time:
            condition.last_transition_time = old.last_transition_time
        else:
            condition.last_transition_time = now
    return kept + generated
