"""A container's environment and command line, resolved as the kubelet does."""

import pytest

from agent.podenv import ConfigError, EnvSources, command_line, expand, resolve_env
from controlplane.api import codec
from controlplane.api.v1 import core_pb2


def _pod(container: dict) -> core_pb2.Pod:
    return codec.decode_object({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "1234", "labels": {"app": "web"}},
        "spec": {"nodeName": "worker1", "containers": [{"name": "web", "image": "kubelab/demo:1", **container}]},
        "status": {"podIP": "10.244.1.5", "hostIP": "10.240.0.11"}})


def _sources() -> EnvSources:
    config = codec.decode_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                                  "data": {"GREETING": "hello", "LEVEL": "info", "1bad": "x"}})
    secret = codec.decode_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
                                  "data": {"TOKEN": "czNjcmV0"}})
    return EnvSources({"cfg": config}, {"sec": secret}, node_allocatable_cpu_millis=2000,
                      node_allocatable_memory=4 * 2**30)


@pytest.mark.parametrize(("text", "expected"), [
    ("$(A)-x", "1-x"), ("$(MISSING)", "$(MISSING)"), ("$$(A)", "$(A)"), ("a$$b", "a$b"), ("$(A)$(B)", "12"),
    ("$A", "$A"), ("$(", "$("),
])
def test_variable_expansion(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "B": "2"}) == expected


def test_env_from_config_map_and_secret_then_env_in_order() -> None:
    pod = _pod({"envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}, "prefix": "S_"}],
                "env": [{"name": "LEVEL", "value": "debug"}, {"name": "URL", "value": "http://$(GREETING):80"}]})
    resolved = resolve_env(pod, pod.spec.containers[0], _sources())
    env = dict(resolved.env)
    assert env["GREETING"] == "hello" and env["S_TOKEN"] == "s3cret"
    assert env["LEVEL"] == "debug", "env wins over envFrom"
    assert env["URL"] == "http://hello:80"
    assert "1bad" not in env
    assert resolved.warnings == ["Keys [1bad] from the EnvFrom configMap shop/cfg were skipped since they are "
                                 "considered invalid environment variable names."]


@pytest.mark.parametrize(("path", "expected"), [
    ("metadata.name", "web-1"), ("metadata.namespace", "shop"), ("metadata.uid", "1234"),
    ("metadata.labels['app']", "web"), ("spec.nodeName", "worker1"), ("status.podIP", "10.244.1.5"),
    ("status.hostIP", "10.240.0.11"),
])
def test_field_references(path: str, expected: str) -> None:
    pod = _pod({"env": [{"name": "V", "valueFrom": {"fieldRef": {"fieldPath": path}}}]})
    assert dict(resolve_env(pod, pod.spec.containers[0], _sources()).env)["V"] == expected


def test_resource_references_use_limits_then_node_allocatable() -> None:
    pod = _pod({"resources": {"limits": {"memory": "128Mi"}},
                "env": [{"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
                        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                        {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                               "divisor": "1Mi"}}}]})
    env = dict(resolve_env(pod, pod.spec.containers[0], _sources()).env)
    assert (env["MEM"], env["CPU"], env["MEM_MI"]) == (str(128 * 2**20), "2", "128")


@pytest.mark.parametrize(("container", "message"), [
    ({"envFrom": [{"configMapRef": {"name": "nope"}}]}, 'configmap "nope" not found'),
    ({"envFrom": [{"secretRef": {"name": "nope"}}]}, 'secret "nope" not found'),
    ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "NOPE"}}}]},
     "couldn't find key NOPE in ConfigMap shop/cfg"),
    ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "NOPE"}}}]},
     "couldn't find key NOPE in Secret shop/sec"),
])
def test_missing_references_are_create_container_config_errors(container: dict, message: str) -> None:
    pod = _pod(container)
    with pytest.raises(ConfigError, match=message):
        resolve_env(pod, pod.spec.containers[0], _sources())


def test_optional_references_may_be_missing() -> None:
    pod = _pod({"envFrom": [{"configMapRef": {"name": "nope", "optional": True}}],
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "NOPE",
                                                                     "optional": True}}}]})
    assert resolve_env(pod, pod.spec.containers[0], _sources()).env == []


def test_command_and_args_expand_against_the_final_environment() -> None:
    pod = _pod({"command": ["sh", "-c"], "args": ["echo $(GREETING) $$(HOME) $(NOPE)"]})
    assert command_line(pod.spec.containers[0], [("GREETING", "hi")]) == (
        ("sh", "-c"), ("echo hi $(HOME) $(NOPE)",))
