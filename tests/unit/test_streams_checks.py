"""What `klctl logs/exec/port-forward` and the API server check before a stream starts, in kubectl's words."""

from __future__ import annotations

import pytest

from agent.streams.containers import current_and_previous
from agent.streams.execsession import exit_status
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2
from controlplane.apiserver.streams import agent_address, check_log_status, require_node, resolve_container
from controlplane.klctl.context import UsageError
from controlplane.klctl.main import _parser
from controlplane.klctl.verbs_streams import PortMapping, default_container, parse_port_mapping, resolve_named_port


def pod(*containers: str, init: tuple[str, ...] = (), node: str = "worker1") -> core_pb2.Pod:
    p = core_pb2.Pod()
    p.metadata.name = "web"
    p.metadata.namespace = "default"
    p.spec.node_name = node
    for name in containers:
        p.spec.containers.add(name=name)
    for name in init:
        p.spec.init_containers.add(name=name)
    return p


# ---------------------------------------------------------------- port mappings

@pytest.mark.parametrize(("spec", "mapping"), [
    ("8080:80", PortMapping(8080, 80)),
    (":80", PortMapping(0, 80)),
    ("0:80", PortMapping(0, 80)),
    ("80", PortMapping(80, 80)),
    ("8080:http", PortMapping(8080, "http")),
    ("65535:1", PortMapping(65535, 1)),
])
def test_port_mappings_parse_as_kubectl_reads_them(spec: str, mapping: PortMapping) -> None:
    assert parse_port_mapping(spec) == mapping


@pytest.mark.parametrize(("spec", "message"), [
    ("1:2:3", "invalid port format '1:2:3'"),
    ("x:80", "error parsing local port 'x'"),
    ("70000:80", "error parsing local port '70000'"),
    ("8080:0", "remote port must be > 0"),
    ("8080:99999", "error parsing remote port '99999'"),
    ("8080:", "error parsing remote port ''"),
    ("http", "error parsing local port 'http'"),
])
def test_bad_port_mappings_are_refused_with_the_part_that_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse_port_mapping(spec)


def test_a_named_remote_port_is_the_containers_port_of_that_name() -> None:
    p = pod("web")
    p.spec.containers[0].ports.add(name="http", container_port=3000)
    assert resolve_named_port(p, PortMapping(8080, "http")) == (8080, 3000)
    assert resolve_named_port(p, PortMapping(8080, 80)) == (8080, 80)
    with pytest.raises(UsageError, match="Pod 'web' does not have a named port 'grpc'"):
        resolve_named_port(p, PortMapping(8080, "grpc"))


# ---------------------------------------------------------------- which container

def test_the_only_container_is_the_default_and_several_need_a_name() -> None:
    assert resolve_container(pod("web"), "") == "web"
    assert resolve_container(pod("a", "b"), "b") == "b"
    assert resolve_container(pod("a", init=("setup",)), "setup") == "setup"
    with pytest.raises(ApiError, match=r"^a container name must be specified for pod web, choose one of: \[a b\]$"):
        resolve_container(pod("a", "b"), "")
    with pytest.raises(ApiError, match=r"choose one of: \[a b\] or one of the init containers: \[setup\]$"):
        resolve_container(pod("a", "b", init=("setup",)), "")
    with pytest.raises(ApiError, match=r"^container c is not valid for pod web$") as refused:
        resolve_container(pod("a", "b"), "c")
    assert refused.value.reason is Reason.BAD_REQUEST


def test_klctl_defaults_to_the_annotated_or_first_container_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert default_container(pod("web"), "") == "web"
    assert capsys.readouterr().err == ""
    assert default_container(pod("a", "b", init=("setup",)), "") == "a"
    assert capsys.readouterr().err == 'Defaulted container "a" out of: a, b, setup (init)\n'
    annotated = pod("a", "b")
    annotated.metadata.annotations["kubectl.kubernetes.io/default-container"] = "b"
    assert default_container(annotated, "") == "b"
    assert default_container(pod("a", "b"), "", quiet=True) == "a"
    assert default_container(pod("a", "b"), "b") == "b"
    assert capsys.readouterr().err == ""


def test_a_pod_without_a_node_has_no_streams() -> None:
    with pytest.raises(ApiError, match=r"^pod web does not have a host assigned$"):
        require_node(pod("web", node=""))
    assert require_node(pod("web")) == "worker1"


# ---------------------------------------------------------------- log status, as the kubelet judges it

def with_status(**states: str) -> core_pb2.Pod:
    """`web="running"`, `web="waiting:CrashLoopBackOff+terminated"` (state, then + last state)."""
    p = pod(*states)
    for name, text in states.items():
        status = p.status.container_statuses.add(name=name)
        state, _, last = text.partition("+")
        kind, _, reason = state.partition(":")
        getattr(status.state, kind).SetInParent()
        if reason:
            status.state.waiting.reason = reason
        if last:
            status.last_state.terminated.exit_code = 1
    return p


@pytest.mark.parametrize(("states", "previous", "refusal"), [
    ({"web": "running"}, False, None),
    ({"web": "terminated"}, False, None),
    ({"web": "waiting:CrashLoopBackOff+terminated"}, False, None),  # the last run's logs
    ({"web": "running+terminated"}, True, None),
    ({"web": "running"}, True, 'previous terminated container "web" in pod "web" not found'),
    ({"web": "waiting:ContainerCreating"}, False,
     'container "web" in pod "web" is waiting to start: ContainerCreating'),
    ({"web": "waiting:ErrImagePull"}, False,
     'container "web" in pod "web" is waiting to start: image can\'t be pulled'),
    ({"web": "waiting:ImagePullBackOff"}, False,
     'container "web" in pod "web" is waiting to start: trying and failing to pull image'),
    ({}, False, 'container "web" in pod "web" is waiting to start: ContainerCreating'),
    ({"other": "running"}, False, 'container "web" in pod "web" is not available'),
])
def test_logs_that_cannot_exist_yet_are_refused_in_the_kubelets_words(
        states: dict[str, str], previous: bool, refusal: str | None) -> None:
    p = with_status(**states)
    if refusal is None:
        check_log_status(p, "web", previous)
        return
    with pytest.raises(ApiError) as refused:
        check_log_status(p, "web", previous)
    assert refused.value.message == refusal and refused.value.reason is Reason.BAD_REQUEST


def test_the_agent_is_reached_at_the_nodes_internal_ip_and_kubelet_port() -> None:
    node = core_pb2.Node()
    node.status.addresses.add(type="Hostname", address="worker1")
    assert agent_address(node) == "worker1:10250"
    node.status.addresses.add(type="InternalIP", address="10.240.0.11")
    node.status.daemon_endpoints.kubelet_endpoint.port = 11250
    assert agent_address(node) == "10.240.0.11:11250"
    six = core_pb2.Node()
    six.status.addresses.add(type="InternalIP", address="fd00::11")
    assert agent_address(six) == "[fd00::11]:10250"
    with pytest.raises(ApiError, match=r"no preferred addresses found; known addresses: \[\]"):
        agent_address(core_pb2.Node())


# ---------------------------------------------------------------- on the node

class Instance:
    def __init__(self, name: str, attempt: int, state: str = "exited") -> None:
        self.id, self.name, self.attempt, self.state = f"{name}-{attempt}", name, attempt, state


def test_the_current_instance_is_the_newest_attempt_and_previous_the_one_before() -> None:
    instances = [Instance("web", 1), Instance("web", 0), Instance("log", 0), Instance("web", 2, "running")]
    current, previous = current_and_previous(instances, "web")
    assert (current and current.id, previous and previous.id) == ("web-2", "web-1")
    assert [c and c.id for c in current_and_previous(instances, "log")] == ["log-0", None]
    assert current_and_previous(instances, "none") == (None, None)


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (3, 3), (-9, 137), (-15, 143)])
def test_exit_status_is_what_a_shell_reports(returncode: int, status: int) -> None:
    assert exit_status(returncode) == status


# ---------------------------------------------------------------- klctl's command line

@pytest.mark.parametrize(("argv", "words", "command"), [
    (["exec", "-it", "web", "--", "sh", "-c", "exit 3"], ["web"], ["sh", "-c", "exit 3"]),
    (["exec", "web", "-c", "app", "--", "ls", "-la", "--", "x"], ["web"], ["ls", "-la", "--", "x"]),
    (["-n", "team", "exec", "web", "-i", "--", "cat"], ["web"], ["cat"]),
    (["exec", "web", "date"], ["web", "date"], None),  # the deprecated form, without --
])
def test_everything_after_the_double_dash_is_the_command(argv: list[str], words: list[str],
                                                         command: list[str] | None) -> None:
    args = _parser().parse_args(argv)
    assert (args.words, args.command) == (words, command)
