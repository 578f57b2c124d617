"""Manifests from tutorials decode unchanged; mistakes are refused with their field path."""

import pytest
import yaml

from controlplane.api import codec, kinds
from controlplane.api.v1 import apps_pb2, core_pb2

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 6
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 20%, maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: kubelab/demo:1
        ports: [{containerPort: 3000, name: http}]
        resources:
          requests: {cpu: 400m, memory: 64Mi}
          limits: {cpu: 0.7, memory: 128Mi}
        startupProbe:
          httpGet: {path: /healthz, port: http}
          failureThreshold: 3
          periodSeconds: 10
        volumeMounts: [{name: scratch, mountPath: /scratch}]
      volumes:
      - name: scratch
        emptyDir: {}
"""


def _decode(text: str):
    return codec.decode_object(yaml.safe_load(text))


def test_tutorial_deployment_decodes_with_int_or_string_and_quantities() -> None:
    deployment = _decode(DEPLOYMENT)
    assert isinstance(deployment, apps_pb2.Deployment)
    assert deployment.spec.replicas == 6
    rolling = deployment.spec.strategy.rolling_update
    assert rolling.max_unavailable.str_val == "20%"
    assert rolling.max_surge.int_val == 1
    container = deployment.spec.template.spec.containers[0]
    assert container.startup_probe.http_get.port.str_val == "http"
    assert container.resources.requests["cpu"].string == "400m"
    assert container.resources.limits["cpu"].string == "0.7"
    assert deployment.spec.template.spec.volumes[0].HasField("empty_dir")


def test_encode_round_trips_and_keeps_empty_objects_and_zero_replicas() -> None:
    deployment = _decode(DEPLOYMENT.replace("replicas: 6", "replicas: 0"))
    document = codec.encode(deployment)
    assert document["spec"]["replicas"] == 0
    assert document["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": "20%", "maxSurge": 1}
    assert document["spec"]["template"]["spec"]["volumes"][0] == {"name": "scratch", "emptyDir": {}}
    assert codec.decode_object(document) == deployment


def test_kubernetes_json_names_that_protobuf_would_spell_differently() -> None:
    service = codec.decode_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                                   "spec": {"clusterIP": "None", "externalIPs": ["1.2.3.4"]}})
    assert service.spec.cluster_ip == "None"
    assert codec.encode(service)["spec"] == {"clusterIP": "None", "externalIPs": ["1.2.3.4"]}


def test_secret_data_is_base64_on_the_wire() -> None:
    secret = codec.decode_object({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                  "data": {"token": "aGVsbG8="}})
    assert secret.data["token"] == b"hello"
    assert codec.encode(secret)["data"] == {"token": "aGVsbG8="}


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["startupProbe"].update(initalDelaySeconds=5),
     "spec.template.spec.containers[0].startupProbe.initalDelaySeconds: unknown field"),
    (lambda d: d["spec"].update(replicas="six"), "spec.replicas: expected an integer, got string 'six'"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0].update(env=[{"name": "PORT", "value": 8080}]),
     "spec.template.spec.containers[0].env[0].value: expected a string, got integer 8080 (quote it)"),
    (lambda d: d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].update(memory="5MiB"),
     "spec.template.spec.containers[0].resources.limits.memory: quantities must match the regular expression"),
    (lambda d: d["spec"].update(selector=["app"]), "spec.selector: expected an object, got array"),
    (lambda d: d["spec"]["template"]["spec"].update(containers={"name": "x"}),
     "spec.template.spec.containers: expected an array, got object"),
    (lambda d: d["metadata"]["labels"].update(version=2), "metadata.labels.version: expected a string"),
])
def test_mistakes_are_refused_with_the_field_path(mutate, expected: str) -> None:
    document = yaml.safe_load(DEPLOYMENT)
    mutate(document)
    with pytest.raises(codec.DecodeError) as refused:
        codec.decode_object(document)
    assert str(refused.value).startswith(expected)


@pytest.mark.parametrize(("document", "expected"), [
    ({"apiVersion": "v1", "metadata": {"name": "x"}}, "kind: Required value"),
    ({"kind": "Pod", "metadata": {"name": "x"}}, "apiVersion: Required value"),
    ({"apiVersion": "v1", "kind": "Deployment"}, 'apiVersion: no kind "Deployment" is registered for version "v1"'),
    ({"apiVersion": "v1", "kind": "Widget"}, 'kind: no kind "Widget" is registered'),
    ("just text", "a manifest must be an object"),
])
def test_type_information_is_checked(document, expected: str) -> None:
    with pytest.raises(codec.DecodeError) as refused:
        codec.decode_object(document)
    assert expected in str(refused.value)


def test_null_values_mean_unset() -> None:
    pod = codec.decode_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": None},
                               "spec": {"containers": [{"name": "c", "image": "busybox", "args": None}]}})
    assert isinstance(pod, core_pb2.Pod)
    assert not pod.metadata.labels


def test_envelope_wraps_and_unwraps_every_kind() -> None:
    for kind in kinds.KINDS:
        message = kind.new()
        message.metadata.name = "x"
        assert kinds.unwrap(kinds.wrap(message)) == (kind, message)


@pytest.mark.parametrize(("word", "kind"), [
    ("po", "Pod"), ("pods", "Pod"), ("Pod", "Pod"), ("deploy", "Deployment"), ("deployments.apps", "Deployment"),
    ("svc", "Service"), ("ep", "Endpoints"), ("endpointslices", "EndpointSlice"), ("ing", "Ingress"),
    ("pvc", "PersistentVolumeClaim"), ("ev", "Event"), ("no", "Node"), ("cm", "ConfigMap"), ("sts", "StatefulSet"),
])
def test_short_names_resolve_like_kubectl(word: str, kind: str) -> None:
    assert kinds.resolve(word).kind == kind
