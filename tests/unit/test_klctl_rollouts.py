"""What klctl's workload verbs print and decide, by tables (klctl/rollouts.py and the verbs' helpers)."""

from __future__ import annotations

import argparse

import pytest

from controlplane.api.v1 import apps_pb2
from controlplane.klctl import rollouts
from controlplane.klctl.context import UsageError
from controlplane.klctl.runpod import new_pod, parse_labels
from controlplane.klctl.verbs_workloads import new_deployment, targets_of


def deployment(replicas: int = 3, generation: int = 2, observed: int = 2, updated: int = 3, total: int = 3,
               available: int = 3, reason: str = "") -> apps_pb2.Deployment:
    d = apps_pb2.Deployment()
    d.metadata.name = "web"
    d.metadata.generation = generation
    d.spec.replicas = replicas
    d.status.observed_generation = observed
    d.status.updated_replicas, d.status.replicas, d.status.available_replicas = updated, total, available
    if reason:
        d.status.conditions.add(type="Progressing", status="False", reason=reason)
    return d


WAITING = 'Waiting for deployment "web" rollout to finish: '


@pytest.mark.parametrize(("d", "line", "done"), [
    (deployment(generation=3), "Waiting for deployment spec update to be observed...", False),
    (deployment(updated=1, total=4), WAITING + "1 out of 3 new replicas have been updated...", False),
    (deployment(total=4), WAITING + "1 old replicas are pending termination...", False),
    (deployment(available=2), WAITING + "2 of 3 updated replicas are available...", False),
    (deployment(), 'deployment "web" successfully rolled out', True),
])
def test_rollout_status_lines_are_kubectls(d: apps_pb2.Deployment, line: str, done: bool) -> None:
    assert rollouts.status_line(d) == (line, done)


def test_rollout_status_past_the_deadline_is_an_error() -> None:
    with pytest.raises(UsageError, match=r'^deployment "web" exceeded its progress deadline$'):
        rollouts.status_line(deployment(available=1, reason="ProgressDeadlineExceeded"))


def rs(revision: int | None, image: str = "kubelab/demo:1", cause: str = "") -> apps_pb2.ReplicaSet:
    result = apps_pb2.ReplicaSet()
    result.metadata.name = f"web-r{revision}"
    if revision is not None:
        result.metadata.annotations["deployment.kubernetes.io/revision"] = str(revision)
    if cause:
        result.metadata.annotations["kubernetes.io/change-cause"] = cause
    result.spec.template.metadata.labels.update({"app": "web", "pod-template-hash": f"h{revision}"})
    result.spec.template.spec.containers.add(name="web", image=image)
    return result


def test_history_lists_revisions_in_order_with_their_change_cause() -> None:
    table = rollouts.history_table([rs(10, cause="image v3"), rs(2), rs(None), rs(9, cause="kubectl set image")])
    assert table == "REVISION  CHANGE-CAUSE\n2         <none>\n9         kubectl set image\n10        image v3\n"


def test_undo_goes_to_the_revision_before_the_latest_or_the_one_asked() -> None:
    sets = [rs(3), rs(1), rs(2)]
    assert rollouts.revision_set(sets, 0, "web").metadata.name == "web-r2"
    assert rollouts.revision_set(sets, 1, "web").metadata.name == "web-r1"
    with pytest.raises(UsageError, match=r"^unable to find specified revision 7 in history$"):
        rollouts.revision_set(sets, 7, "web")
    with pytest.raises(UsageError, match=r'^no rollout history found for deployment "web"$'):
        rollouts.revision_set([rs(1)], 0, "web")


def test_the_rollback_patch_restores_the_template_without_its_hash_and_the_annotations() -> None:
    d = apps_pb2.Deployment()
    d.metadata.annotations.update({"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "v3",
                                   "kubectl.kubernetes.io/last-applied-configuration": "{}"})
    d.spec.template.metadata.labels["app"] = "web"
    d.spec.template.spec.containers.add(name="web", image="kubelab/demo:3")
    target = rs(1, cause="v1")
    patch = rollouts.rollback_patch(d, target)
    assert patch is not None
    template, annotations = patch[0]["value"], patch[1]["value"]
    assert template["metadata"]["labels"] == {"app": "web"}  # type: ignore[index]
    assert template["spec"]["containers"][0]["image"] == "kubelab/demo:1"  # type: ignore[index]
    assert annotations == {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "v1",
                           "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    same = rs(3, image="kubelab/demo:3")
    assert rollouts.rollback_patch(d, same) is None


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("30", 30.0), ("0s", 0.0), ("90s", 90.0), ("2m30s", 150.0), ("1h", 3600.0), ("1.5m", 90.0),
    ("500ms", 0.5),
])
def test_durations_are_read_as_go_writes_them(text: str, seconds: float) -> None:
    assert rollouts.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5x", "m", "1m-2s", "-1s"])
def test_a_bad_duration_is_refused_with_what_to_write(text: str) -> None:
    with pytest.raises(UsageError, match="invalid duration"):
        rollouts.parse_duration(text)


@pytest.mark.parametrize(("image", "name"), [
    ("nginx", "nginx"), ("kubelab/demo:2", "demo"), ("registry.example/team/my_app:1.0", "my-app-abcde"),
    ("busybox@sha256:0123", "busybox"), ("localhost:5000/web.v2", "web-v2-abcde"),
])
def test_create_deployment_names_a_container_after_its_image(image: str, name: str) -> None:
    assert rollouts.container_name(image, "abcde") == name


def test_create_deployment_labels_everything_app_name() -> None:
    d = new_deployment("web", "team", ["kubelab/demo:1", "busybox"], 3, 3000, ["sleep", "1d"])
    assert (d.metadata.namespace, dict(d.metadata.labels), d.spec.replicas) == ("team", {"app": "web"}, 3)
    assert dict(d.spec.selector.match_labels) == dict(d.spec.template.metadata.labels) == {"app": "web"}
    first, second = d.spec.template.spec.containers
    assert (first.name, first.image, [p.container_port for p in first.ports]) == ("demo", "kubelab/demo:1", [3000])
    assert (second.name, list(second.command), list(second.ports)) == ("busybox", ["sleep", "1d"], [])


def _run_args(**changes: object) -> argparse.Namespace:
    values: dict[str, object] = {"name": "t", "image": "busybox", "labels": "", "command": ["nslookup", "kubernetes"],
                                 "as_command": False, "env": [], "port": -1, "stdin": True, "tty": True,
                                 "restart": "Never"}
    values.update(changes)
    return argparse.Namespace(**values)


def test_run_makes_a_pod_named_and_labelled_after_itself() -> None:
    pod = new_pod(_run_args(), "default")
    container = pod.spec.containers[0]
    assert dict(pod.metadata.labels) == {"run": "t"} and pod.spec.restart_policy == "Never"
    assert (container.name, container.image, list(container.args), list(container.command)) == (
        "t", "busybox", ["nslookup", "kubernetes"], [])
    assert (container.stdin, container.stdin_once, container.tty) == (True, True, True)
    with_command = new_pod(_run_args(as_command=True, env=["A=1", "B=x=y"], port=80, labels="a=b,c=d"), "ns")
    container = with_command.spec.containers[0]
    assert list(container.command) == ["nslookup", "kubernetes"] and not container.args
    assert [(e.name, e.value) for e in container.env] == [("A", "1"), ("B", "x=y")]
    assert [p.container_port for p in container.ports] == [80]
    assert dict(with_command.metadata.labels) == {"a": "b", "c": "d"}
    with pytest.raises(UsageError, match="invalid label spec: nope"):
        parse_labels("a=b,nope")


@pytest.mark.parametrize(("words", "expected"), [
    (["deployment", "web"], [("Deployment", "web")]),
    (["deploy/web"], [("Deployment", "web")]),
    (["rs", "a", "b"], [("ReplicaSet", "a"), ("ReplicaSet", "b")]),
    (["deploy/web", "sts/db"], [("Deployment", "web"), ("StatefulSet", "db")]),
])
def test_targets_are_named_as_kubectl_takes_them(words: list[str], expected: list[tuple[str, str]]) -> None:
    assert [(kind.kind, name) for kind, name in targets_of(words)] == expected


def test_a_kind_without_a_name_is_refused() -> None:
    with pytest.raises(UsageError, match="required resource not specified"):
        targets_of(["deployment"])
