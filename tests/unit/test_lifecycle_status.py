"""build_pod_status: container states, phase per restartPolicy, conditions and their transition times."""

from __future__ import annotations

import pytest

from agent.lifecycle.status import (
    ContainerFacts,
    PodFacts,
    Running,
    Terminated,
    Waiting,
    build_pod_status,
    image_pull_back_off_message,
    rfc3339,
)
from controlplane.api.v1 import core_pb2, meta_pb2

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
AT = {t: rfc3339(T0 + t) for t in range(0, 200)}


def spec(*names: str, init: tuple[str, ...] = (), sidecars: tuple[str, ...] = (),
         policy: str = "Always") -> core_pb2.PodSpec:
    pod_spec = core_pb2.PodSpec(restart_policy=policy)
    for name in init:
        pod_spec.init_containers.add(name=name, image="busybox",
                                     restart_policy="Always" if name in sidecars else "")
    for name in names:
        pod_spec.containers.add(name=name, image="kubelab/demo:v1")
    return pod_spec


def running(name: str = "api", *, at: float = 0, **fields: object) -> ContainerFacts:
    return ContainerFacts(name, Running(T0 + at), container_id=f"kubelab://{name}", **fields)  # type: ignore[arg-type]


def ended(name: str = "api", code: int = 0, **fields: object) -> ContainerFacts:
    return ContainerFacts(name, Terminated(code, T0, T0 + 5, container_id=f"kubelab://{name}"),
                          **fields)  # type: ignore[arg-type]


def build(pod_spec: core_pb2.PodSpec, *containers: ContainerFacts, init: tuple[ContainerFacts, ...] = (),
          previous: core_pb2.PodStatus | None = None, now: float = 0, **pod: object) -> core_pb2.PodStatus:
    facts = PodFacts(containers=containers, init_containers=init, **pod)  # type: ignore[arg-type]
    return build_pod_status(pod_spec, facts, previous, T0 + now)


def condition(status: core_pb2.PodStatus, kind: str) -> meta_pb2.Condition:
    (found,) = [c for c in status.conditions if c.type == kind]
    return found


def conditions(status: core_pb2.PodStatus) -> dict[str, tuple[str, str, str]]:
    return {c.type: (c.status, c.reason, c.message) for c in status.conditions}


# ---------------------------------------------------------------------------------------------- containers


@pytest.mark.parametrize(("reason", "message"), [
    ("ContainerCreating", ""),
    ("CrashLoopBackOff", "back-off 20s restarting failed container=api pod=web-1_default(6b1f)"),
    ("ErrImagePull", 'failed to pull image "nginx:nope": not found in the image catalog'),
    ("ImagePullBackOff", 'Back-off pulling image "nginx:nope"'),
    ("CreateContainerConfigError", 'configmap "app-config" not found'),
])
def test_waiting_reasons_are_shown_as_given(reason: str, message: str) -> None:
    status = build(spec("api"), ContainerFacts("api", Waiting(reason, message)))
    (api,) = status.container_statuses
    assert api.state.HasField("waiting")
    assert (api.state.waiting.reason, api.state.waiting.message) == (reason, message)
    assert not api.ready and api.HasField("started") and not api.started
    assert status.phase == "Pending"
    assert conditions(status)["Ready"] == ("False", "ContainersNotReady", "containers with unready status: [api]")


def test_image_pull_back_off_message() -> None:
    assert image_pull_back_off_message("nginx:nope") == 'Back-off pulling image "nginx:nope"'


def test_a_container_not_created_yet_waits_container_creating() -> None:
    status = build(spec("api"))
    (api,) = status.container_statuses
    assert api.state.waiting.reason == "ContainerCreating" and api.image == "kubelab/demo:v1"
    assert status.phase == "Pending"
    assert conditions(status)["ContainersReady"] == ("False", "ContainersNotReady",
                                                     "containers with unready status: [api]")


@pytest.mark.parametrize(("state", "reason"), [
    (Terminated(0), "Completed"),
    (Terminated(1), "Error"),
    (Terminated(137), "Error"),
    (Terminated(137, oom_killed=True), "OOMKilled"),
    (Terminated(128, reason="StartError", message="exec: \"nope\": not found"), "StartError"),
])
def test_terminated_reasons(state: Terminated, reason: str) -> None:
    status = build(spec("api", policy="Never"), ContainerFacts("api", state))
    assert status.container_statuses[0].state.terminated.reason == reason
    assert status.container_statuses[0].state.terminated.exit_code == state.exit_code


def test_terminated_state_carries_times_id_and_message() -> None:
    state = Terminated(2, started_at=T0 + 1, finished_at=T0 + 61, message="bye", container_id="kubelab://c1")
    status = build(spec("api", policy="Never"), ContainerFacts("api", state, container_id="kubelab://c1"))
    terminated = status.container_statuses[0].state.terminated
    assert (terminated.started_at, terminated.finished_at) == ("2023-11-14T22:13:21Z", "2023-11-14T22:14:21Z")
    assert (terminated.container_id, terminated.message) == ("kubelab://c1", "bye")
    assert status.container_statuses[0].container_id == "kubelab://c1"


def test_running_restart_count_and_last_state() -> None:
    facts = ContainerFacts("api", Running(T0 + 30), last_state=Terminated(1, T0, T0 + 20, container_id="kubelab://a"),
                           restart_count=3, image="docker.io/kubelab/demo:v1", image_id="sha256:abc",
                           container_id="kubelab://b")
    (api,) = build(spec("api"), facts).container_statuses
    assert api.state.running.started_at == AT[30]
    assert (api.last_state.terminated.exit_code, api.last_state.terminated.reason) == (1, "Error")
    assert api.last_state.terminated.finished_at == AT[20]
    assert (api.restart_count, api.image, api.image_id, api.container_id) == (
        3, "docker.io/kubelab/demo:v1", "sha256:abc", "kubelab://b")


@pytest.mark.parametrize(("state", "startup_passed", "readiness_passed", "started", "ready"), [
    (Running(T0), True, True, True, True),
    (Running(T0), True, False, True, False),  # readiness not passed yet
    (Running(T0), False, False, False, False),  # startup probe still running
    (Running(T0), False, True, False, False),  # not ready before started
    (Terminated(0), True, True, False, False),  # a container that ended is neither
    (Waiting("CrashLoopBackOff"), True, True, False, False),
])
def test_started_and_ready_follow_state_and_probes(state: Running | Terminated | Waiting, startup_passed: bool,
                                                   readiness_passed: bool, started: bool, ready: bool) -> None:
    facts = ContainerFacts("api", state, startup_passed=startup_passed, readiness_passed=readiness_passed)
    (api,) = build(spec("api", policy="OnFailure"), facts).container_statuses
    assert (api.started, api.ready) == (started, ready)


def test_container_statuses_sorted_by_name_and_init_in_spec_order() -> None:
    status = build(spec("web", "api", "cache", init=("zeta", "alpha")))
    assert [s.name for s in status.container_statuses] == ["api", "cache", "web"]
    assert [s.name for s in status.init_container_statuses] == ["zeta", "alpha"]


def test_a_container_without_facts_keeps_its_restart_count_and_last_state() -> None:
    previous = build(spec("api"), ContainerFacts("api", Running(T0), restart_count=4,
                                                 last_state=Terminated(1, T0, T0 + 1)))
    (api,) = build(spec("api"), previous=previous).container_statuses
    assert api.state.waiting.reason == "ContainerCreating"
    assert api.restart_count == 4 and api.last_state.terminated.exit_code == 1


# ---------------------------------------------------------------------------------------------- phase


@pytest.mark.parametrize(("policy", "containers", "phase"), [
    ("Always", [running()], "Running"),
    ("Always", [ended(code=0)], "Running"),  # on its way back
    ("Always", [ended(code=1)], "Running"),
    ("Always", [ContainerFacts("api", Waiting("CrashLoopBackOff"), last_state=Terminated(1))], "Running"),
    ("OnFailure", [running()], "Running"),
    ("OnFailure", [ended(code=0)], "Succeeded"),
    ("OnFailure", [ended(code=1)], "Running"),  # will be restarted
    ("OnFailure", [ended("a", 0), ended("b", 0)], "Succeeded"),
    ("OnFailure", [ended("a", 0), ended("b", 3)], "Running"),
    ("Never", [running()], "Running"),
    ("Never", [ended(code=0)], "Succeeded"),
    ("Never", [ended(code=1)], "Failed"),
    ("Never", [ended("a", 0), ended("b", 1)], "Failed"),
    ("Never", [ended("a", 0), running("b")], "Running"),
    ("Always", [running("a"), ContainerFacts("b", Waiting("ContainerCreating"))], "Pending"),
    ("Always", [running("a"), ContainerFacts("b", Waiting("ErrImagePull", "nope"))], "Pending"),
    ("Never", [ContainerFacts("api", Waiting("ImagePullBackOff"))], "Pending"),
])
def test_phase_for_each_restart_policy(policy: str, containers: list[ContainerFacts], phase: str) -> None:
    names = [c.name for c in containers]
    assert build(spec(*names, policy=policy), *containers).phase == phase


@pytest.mark.parametrize(("containers", "phase"), [
    ([ended(code=0)], "Succeeded"),
    ([ended(code=137)], "Failed"),
    ([ended("a", 0), ended("b", 143)], "Failed"),
])
def test_a_terminal_pod_ends_by_its_exits_whatever_the_policy(containers: list[ContainerFacts], phase: str) -> None:
    names = [c.name for c in containers]
    assert build(spec(*names, policy="Always"), *containers, terminal=True).phase == phase


def test_a_terminal_phase_never_changes_back() -> None:
    done = build(spec("api", policy="Never"), ended(code=0))
    assert done.phase == "Succeeded"
    again = build(spec("api", policy="Never"), running(), previous=done, now=10)
    assert again.phase == "Succeeded"


def test_pod_reason_and_message_from_facts_or_kept_with_the_phase() -> None:
    evicted = build(spec("api", policy="Always"), ended(code=137), terminal=True, reason="Evicted",
                    message="The node was low on resource: memory.")
    assert (evicted.phase, evicted.reason, evicted.message) == ("Failed", "Evicted",
                                                                 "The node was low on resource: memory.")
    later = build(spec("api", policy="Always"), ended(code=137), terminal=True, previous=evicted, now=5)
    assert (later.reason, later.message) == ("Evicted", "The node was low on resource: memory.")


# ---------------------------------------------------------------------------------------------- conditions


def test_ready_and_containers_ready_keep_their_transition_time_until_they_flip() -> None:
    pod_spec = spec("api")
    t0 = build(pod_spec, running(readiness_passed=False), now=0)
    assert condition(t0, "Ready").status == "False" and condition(t0, "Ready").last_transition_time == AT[0]
    t1 = build(pod_spec, running(readiness_passed=False), previous=t0, now=10)
    assert condition(t1, "Ready").last_transition_time == AT[0]
    assert condition(t1, "ContainersReady").last_transition_time == AT[0]
    t2 = build(pod_spec, running(), previous=t1, now=20)
    assert [(c.status, c.last_transition_time) for c in (condition(t2, "Ready"), condition(t2, "ContainersReady"))] \
        == [("True", AT[20]), ("True", AT[20])]
    assert condition(t2, "Ready").reason == "" and condition(t2, "Ready").message == ""
    t3 = build(pod_spec, running(), previous=t2, now=30)
    assert condition(t3, "Ready").last_transition_time == AT[20]
    assert condition(t3, "Initialized").last_transition_time == AT[0]
    assert condition(t3, "PodScheduled").last_transition_time == AT[0]
    t4 = build(pod_spec, running(readiness_passed=False), previous=t3, now=40)
    assert (condition(t4, "Ready").status, condition(t4, "Ready").last_transition_time) == ("False", AT[40])
    assert condition(t4, "Ready").message == "containers with unready status: [api]"


def test_conditions_in_kubelet_order_and_others_kept() -> None:
    previous = core_pb2.PodStatus()
    previous.conditions.add(type="PodScheduled", status="True", last_transition_time=AT[0])
    previous.conditions.add(type="DisruptionTarget", status="True", reason="EvictionByEvictionAPI",
                            last_transition_time=AT[1])
    status = build(spec("api"), running(), previous=previous, now=5, sandbox_ready=True)
    assert [c.type for c in status.conditions] == ["DisruptionTarget", "PodReadyToStartContainers", "Initialized",
                                                   "Ready", "ContainersReady", "PodScheduled"]
    assert condition(status, "PodScheduled").last_transition_time == AT[0]  # the scheduler's time
    assert condition(status, "DisruptionTarget").reason == "EvictionByEvictionAPI"
    assert condition(status, "PodReadyToStartContainers").status == "True"
    assert all(c.last_probe_time == "" for c in status.conditions)


def test_ready_names_every_unready_container() -> None:
    status = build(spec("api", "cache", "web"), running("api"), running("cache", readiness_passed=False),
                   ContainerFacts("web", Waiting("ContainerCreating")))
    assert conditions(status)["ContainersReady"] == ("False", "ContainersNotReady",
                                                     "containers with unready status: [cache web]")


@pytest.mark.parametrize(("policy", "code", "phase", "ready_reason"), [
    ("Never", 0, "Succeeded", "PodCompleted"),
    ("Never", 1, "Failed", "PodFailed"),
    ("OnFailure", 0, "Succeeded", "PodCompleted"),
])
def test_finished_pods_are_not_ready_with_the_reason(policy: str, code: int, phase: str, ready_reason: str) -> None:
    status = build(spec("api", policy=policy), ended(code=code))
    assert status.phase == phase
    assert conditions(status)["Ready"] == ("False", ready_reason, "")
    assert conditions(status)["ContainersReady"] == ("False", ready_reason, "")


def test_succeeded_pod_is_initialized_with_pod_completed() -> None:
    status = build(spec("api", policy="Never"), ended(code=0))
    assert conditions(status)["Initialized"] == ("True", "PodCompleted", "")


# ---------------------------------------------------------------------------------------------- init containers


def test_init_containers_pending_then_initialized() -> None:
    pod_spec = spec("api", init=("init-db", "init-cache"))
    t0 = build(pod_spec, init=(running("init-db"),), now=0)
    assert t0.phase == "Pending"
    assert conditions(t0)["Initialized"] == ("False", "ContainersNotInitialized",
                                             "containers with incomplete status: [init-db init-cache]")
    db, cache = t0.init_container_statuses
    assert db.state.HasField("running") and not db.ready
    assert cache.state.waiting.reason == "PodInitializing"
    assert t0.container_statuses[0].state.waiting.reason == "PodInitializing"

    t1 = build(pod_spec, init=(ended("init-db", 0), running("init-cache")), previous=t0, now=5)
    assert t1.init_container_statuses[0].ready and t1.init_container_statuses[0].state.terminated.reason == \
        "Completed"
    assert conditions(t1)["Initialized"][2] == "containers with incomplete status: [init-cache]"
    assert condition(t1, "Initialized").last_transition_time == AT[0]

    t2 = build(pod_spec, init=(ended("init-db", 0), ended("init-cache", 0)), previous=t1, now=10)
    assert conditions(t2)["Initialized"] == ("True", "", "")
    assert condition(t2, "Initialized").last_transition_time == AT[10]
    assert t2.phase == "Pending"  # api is not started yet
    t3 = build(pod_spec, running(), init=(ended("init-db", 0), ended("init-cache", 0)), previous=t2, now=12)
    assert t3.phase == "Running" and conditions(t3)["Ready"][0] == "True"
    assert condition(t3, "Initialized").last_transition_time == AT[10]


@pytest.mark.parametrize(("policy", "phase"), [("Never", "Failed"), ("Always", "Pending"), ("OnFailure", "Pending")])
def test_a_failed_init_container(policy: str, phase: str) -> None:
    pod_spec = spec("api", init=("init-db",), policy=policy)
    if policy == "Never":
        init = ContainerFacts("init-db", Terminated(1))
    else:
        init = ContainerFacts("init-db", Waiting("CrashLoopBackOff", "back-off 10s ..."), last_state=Terminated(1),
                              restart_count=1)
    status = build(pod_spec, init=(init,))
    assert status.phase == phase
    assert conditions(status)["Initialized"][0] == "False"
    assert not status.init_container_statuses[0].ready


def test_init_containers_lost_after_the_pod_ran_count_as_completed() -> None:
    status = build(spec("api", init=("init-db",)), running())
    (init,) = status.init_container_statuses
    assert init.state.terminated.reason == "Completed" and init.ready
    assert status.phase == "Running" and conditions(status)["Initialized"][0] == "True"


def test_a_started_sidecar_lets_the_pod_initialize_and_must_be_ready() -> None:
    pod_spec = spec("api", init=("proxy",), sidecars=("proxy",))
    starting = build(pod_spec, init=(running("proxy", startup_passed=False),))
    assert starting.phase == "Pending"
    assert conditions(starting)["Initialized"][2] == "containers with incomplete status: [proxy]"
    up = build(pod_spec, running(), init=(running("proxy", readiness_passed=False),))
    assert up.phase == "Running" and conditions(up)["Initialized"][0] == "True"
    assert conditions(up)["ContainersReady"][2] == "containers with unready status: [proxy]"
    ready = build(pod_spec, running(), init=(running("proxy"),))
    assert conditions(ready)["Ready"][0] == "True"


# ---------------------------------------------------------------------------------------------- the rest


def test_addresses_start_time_and_qos_class() -> None:
    previous = core_pb2.PodStatus(qos_class="Burstable")
    first = build(spec("api"), running(), previous=previous, now=3, pod_ips=("10.244.1.5",),
                  host_ips=("10.240.0.11",), start_time=T0 + 1)
    assert (first.pod_ip, [i.ip for i in first.pod_ips]) == ("10.244.1.5", ["10.244.1.5"])
    assert (first.host_ip, [i.ip for i in first.host_ips]) == ("10.240.0.11", ["10.240.0.11"])
    assert first.start_time == AT[1] and first.qos_class == "Burstable"
    later = build(spec("api"), ended(code=0), previous=first, now=50, start_time=T0 + 40)
    assert later.pod_ip == "10.244.1.5" and later.host_ip == "10.240.0.11"
    assert later.start_time == AT[1] and later.qos_class == "Burstable"


def test_start_time_defaults_to_now() -> None:
    assert build(spec("api"), now=7).start_time == AT[7]


def test_a_terminated_state_takes_the_container_id_of_its_facts() -> None:
    facts = ContainerFacts("api", Terminated(0), container_id="kubelab://c9")
    (api,) = build(spec("api", policy="Never"), facts).container_statuses
    assert api.state.terminated.container_id == "kubelab://c9" == api.container_id


def test_crash_loop_without_last_state_looks_like_a_first_start() -> None:
    never_ran = build(spec("api"), ContainerFacts("api", Waiting("CrashLoopBackOff")))
    ran = build(spec("api"), ContainerFacts("api", Waiting("CrashLoopBackOff"), last_state=Terminated(1)))
    assert (never_ran.phase, ran.phase) == ("Pending", "Running")
