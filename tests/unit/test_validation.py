"""Validation refuses what Kubernetes refuses, in Kubernetes' words, and accepts tutorial objects.

Each table row starts from a valid, realistic object, changes one thing, and names the error a
student would see (after defaulting, as the API server runs it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.v1 import (
    apps_pb2,
    coordination_pb2,
    core_pb2,
    discovery_pb2,
    meta_pb2,
    networking_pb2,
    storage_pb2,
)
from controlplane.apiserver.defaults import apply_defaults
from controlplane.apiserver.validation import validate_create, validate_update

IOS = meta_pb2.IntOrString
Q = meta_pb2.Quantity


def meta(name: str, namespace: str = "default", **labels: str) -> meta_pb2.ObjectMeta:
    return meta_pb2.ObjectMeta(name=name, namespace=namespace, labels=labels)


def errors_of(obj: Message) -> list[str]:
    kind = kinds.of_message(obj)
    apply_defaults(kind, obj)
    return [str(error) for error in validate_create(kind, obj)]


def update_errors(old: Message, change: Callable[[Any], None]) -> list[str]:
    kind = kinds.of_message(old)
    apply_defaults(kind, old)
    new = type(old)()
    new.CopyFrom(old)
    change(new)
    apply_defaults(kind, new)
    return [str(error) for error in validate_update(kind, new, old)]


# ---------------------------------------------------------------------------------------- valid objects


def web_container() -> core_pb2.Container:
    """The tutorial web container: a named port, env from a ConfigMap, resources and probes."""
    return core_pb2.Container(
        name="web", image="kubelab/demo:v1",
        ports=[core_pb2.ContainerPort(name="http", container_port=3000)],
        env=[core_pb2.EnvVar(name="PORT", value="3000"),
             core_pb2.EnvVar(name="POD_NAME", value_from=core_pb2.EnvVarSource(
                 field_ref=core_pb2.ObjectFieldSelector(field_path="metadata.name"))),
             core_pb2.EnvVar(name="PASSWORD", value_from=core_pb2.EnvVarSource(
                 secret_key_ref=core_pb2.SecretKeySelector(name="web-secret", key="password")))],
        env_from=[core_pb2.EnvFromSource(config_map_ref=core_pb2.ConfigMapEnvSource(name="web-config"))],
        resources=core_pb2.ResourceRequirements(requests={"cpu": Q(string="100m"), "memory": Q(string="64Mi")},
                                                limits={"cpu": Q(string="500m"), "memory": Q(string="128Mi")}),
        liveness_probe=core_pb2.Probe(http_get=core_pb2.HTTPGetAction(path="/healthz", port=IOS(str_val="http")),
                                      initial_delay_seconds=3, period_seconds=5),
        readiness_probe=core_pb2.Probe(http_get=core_pb2.HTTPGetAction(path="/readyz", port=IOS(int_val=3000))),
        volume_mounts=[core_pb2.VolumeMount(name="config", mount_path="/etc/web", read_only=True)])


def web_pod_spec() -> core_pb2.PodSpec:
    return core_pb2.PodSpec(
        containers=[web_container()],
        volumes=[core_pb2.Volume(name="config", config_map=core_pb2.ConfigMapVolumeSource(name="web-config"))])


def web_template() -> core_pb2.PodTemplateSpec:
    return core_pb2.PodTemplateSpec(metadata=meta_pb2.ObjectMeta(labels={"app": "web"}), spec=web_pod_spec())


def valid_deployment() -> apps_pb2.Deployment:
    return apps_pb2.Deployment(metadata=meta("web", app="web"), spec=apps_pb2.DeploymentSpec(
        replicas=3, selector=meta_pb2.LabelSelector(match_labels={"app": "web"}), template=web_template()))


def valid_replica_set() -> apps_pb2.ReplicaSet:
    return apps_pb2.ReplicaSet(metadata=meta("web-5d4f8"), spec=apps_pb2.ReplicaSetSpec(
        replicas=2, selector=meta_pb2.LabelSelector(match_labels={"app": "web"}), template=web_template()))


def valid_stateful_set() -> apps_pb2.StatefulSet:
    template = core_pb2.PodTemplateSpec(metadata=meta_pb2.ObjectMeta(labels={"app": "db"}), spec=core_pb2.PodSpec(
        containers=[core_pb2.Container(
            name="db", image="kubelab/demo:v1", ports=[core_pb2.ContainerPort(name="db", container_port=5432)],
            volume_mounts=[core_pb2.VolumeMount(name="data", mount_path="/var/lib/data")])]))
    claim = core_pb2.PersistentVolumeClaim(
        metadata=meta_pb2.ObjectMeta(name="data"),
        spec=core_pb2.PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=core_pb2.VolumeResourceRequirements(requests={"storage": Q(string="1Gi")})))
    return apps_pb2.StatefulSet(metadata=meta("db"), spec=apps_pb2.StatefulSetSpec(
        replicas=3, service_name="db", selector=meta_pb2.LabelSelector(match_labels={"app": "db"}),
        template=template, volume_claim_templates=[claim]))


def valid_pod() -> core_pb2.Pod:
    return core_pb2.Pod(metadata=meta("web-1", app="web"), spec=web_pod_spec())


def valid_service() -> core_pb2.Service:
    """A NodePort Service, as in the tutorials that expose an app on every node."""
    return core_pb2.Service(metadata=meta("web"), spec=core_pb2.ServiceSpec(
        type="NodePort", selector={"app": "web"},
        ports=[core_pb2.ServicePort(name="http", port=80, target_port=IOS(str_val="http"), node_port=30080),
               core_pb2.ServicePort(name="metrics", port=9090, target_port=IOS(int_val=9090))]))


def valid_ingress() -> networking_pb2.Ingress:
    """An Ingress with two hosts, one with two paths, and TLS for one of them."""
    def backend(service: str, number: int = 0, name: str = "") -> networking_pb2.IngressBackend:
        return networking_pb2.IngressBackend(service=networking_pb2.IngressServiceBackend(
            name=service, port=networking_pb2.ServiceBackendPort(number=number, name=name)))

    return networking_pb2.Ingress(metadata=meta("web"), spec=networking_pb2.IngressSpec(
        ingress_class_name="kubelab",
        tls=[networking_pb2.IngressTLS(hosts=["shop.example.com"], secret_name="shop-tls")],
        rules=[
            networking_pb2.IngressRule(host="shop.example.com", http=networking_pb2.HTTPIngressRuleValue(paths=[
                networking_pb2.HTTPIngressPath(path="/", path_type="Prefix", backend=backend("web", 80)),
                networking_pb2.HTTPIngressPath(path="/api", path_type="Prefix", backend=backend("api", name="http")),
            ])),
            networking_pb2.IngressRule(host="*.blog.example.com", http=networking_pb2.HTTPIngressRuleValue(paths=[
                networking_pb2.HTTPIngressPath(path="/", path_type="Exact", backend=backend("blog", 8080))])),
        ]))


def valid_objects() -> dict[str, Message]:
    return {
        "Namespace": core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name="team-a")),
        "Node": core_pb2.Node(metadata=meta_pb2.ObjectMeta(name="kl-worker1", labels={
            "kubernetes.io/hostname": "kl-worker1"}), spec=core_pb2.NodeSpec(
            pod_cidr="10.244.1.0/24", pod_cidrs=["10.244.1.0/24"],
            taints=[core_pb2.Taint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")]),
            status=core_pb2.NodeStatus(capacity={"cpu": Q(string="2"), "memory": Q(string="4Gi"),
                                                 "pods": Q(string="110")})),
        "Pod": valid_pod(),
        "Service": valid_service(),
        "Endpoints": core_pb2.Endpoints(metadata=meta("web"), subsets=[core_pb2.EndpointSubset(
            addresses=[core_pb2.EndpointAddress(ip="10.244.1.5", node_name="kl-worker1")],
            not_ready_addresses=[core_pb2.EndpointAddress(ip="10.244.2.7")],
            ports=[core_pb2.EndpointPort(name="http", port=3000), core_pb2.EndpointPort(name="metrics", port=9090)])]),
        "EndpointSlice": discovery_pb2.EndpointSlice(
            metadata=meta("web-abc12", **{"kubernetes.io/service-name": "web"}), address_type="IPv4",
            endpoints=[discovery_pb2.Endpoint(addresses=["10.244.1.5"], hostname="web-0",
                                              conditions=discovery_pb2.EndpointConditions(ready=True))],
            ports=[discovery_pb2.EndpointSlicePort(name="http", port=3000)]),
        "ConfigMap": core_pb2.ConfigMap(metadata=meta("web-config"), data={"MESSAGE": "hello", "app.properties": "x=1"},
                                        binary_data={"logo.png": b"\x89PNG"}),
        "Secret": core_pb2.Secret(metadata=meta("shop-tls"), type="kubernetes.io/tls",
                                  data={"tls.crt": b"cert", "tls.key": b"key"}),
        "Event": core_pb2.Event(metadata=meta("web-1.17a"), involved_object=meta_pb2.ObjectReference(
            kind="Pod", namespace="default", name="web-1"), reason="Started", message="Started container web",
            type="Normal", count=1),
        "Deployment": valid_deployment(),
        "ReplicaSet": valid_replica_set(),
        "StatefulSet": valid_stateful_set(),
        "PersistentVolume": core_pb2.PersistentVolume(metadata=meta_pb2.ObjectMeta(name="pv-1"),
                                                      spec=core_pb2.PersistentVolumeSpec(
            capacity={"storage": Q(string="5Gi")}, access_modes=["ReadWriteOnce"], storage_class_name="manual",
            host_path=core_pb2.HostPathVolumeSource(path="/mnt/data"))),
        "PersistentVolumeClaim": core_pb2.PersistentVolumeClaim(
            metadata=meta("data"),
            spec=core_pb2.PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"], storage_class_name="manual",
                resources=core_pb2.VolumeResourceRequirements(requests={"storage": Q(string="1Gi")}))),
        "StorageClass": storage_pb2.StorageClass(metadata=meta_pb2.ObjectMeta(name="standard"),
                                                 provisioner="kubelab.io/hostpath",
                                                 volume_binding_mode="WaitForFirstConsumer"),
        "Ingress": valid_ingress(),
        "IngressClass": networking_pb2.IngressClass(metadata=meta_pb2.ObjectMeta(name="kubelab"),
                                                    spec=networking_pb2.IngressClassSpec(controller="kubelab.io/ingress")),
        "Lease": coordination_pb2.Lease(metadata=meta("kl-worker1", "kube-node-lease"), spec=coordination_pb2.LeaseSpec(
            holder_identity="kl-worker1", lease_duration_seconds=40)),
    }


def test_every_kind_has_a_valid_example() -> None:
    assert set(valid_objects()) == {kind.kind for kind in kinds.KINDS}


@pytest.mark.parametrize("kind", sorted(valid_objects()))
def test_a_realistic_object_of_every_kind_is_valid(kind: str) -> None:
    assert errors_of(valid_objects()[kind]) == []


@pytest.mark.parametrize("kind", sorted(valid_objects()))
def test_an_unchanged_object_is_a_valid_update(kind: str) -> None:
    assert update_errors(valid_objects()[kind], lambda new: None) == []


# ---------------------------------------------------------------------------------------- metadata


@pytest.mark.parametrize(("obj", "change", "expected"), [
    (valid_deployment(), lambda o: o.metadata.ClearField("name"),
     "metadata.name: Required value: name or generateName is required"),
    (valid_deployment(), lambda o: setattr(o.metadata, "name", "Web_App"),
     'metadata.name: Invalid value: "Web_App": a lowercase RFC 1123 subdomain must consist of lower case '
     "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
     "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    (valid_service(), lambda o: setattr(o.metadata, "name", "1web"),
     'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters '
     "or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
     "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
    (valid_objects()["Namespace"], lambda o: setattr(o.metadata, "name", "team.a"),
     'metadata.name: Invalid value: "team.a": must not contain dots'),
    (valid_stateful_set(), lambda o: setattr(o.metadata, "name", "db.v1"),
     'metadata.name: Invalid value: "db.v1": must not contain dots'),
    (valid_deployment(), lambda o: o.metadata.ClearField("namespace"), "metadata.namespace: Required value"),
    (valid_objects()["Node"], lambda o: setattr(o.metadata, "namespace", "default"),
     "metadata.namespace: Forbidden: not allowed on this type"),
    (valid_deployment(), lambda o: o.metadata.labels.update({"app": "web server"}),
     'metadata.labels: Invalid value: "web server": a valid label must be an empty string or consist of '
     "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
     "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
     "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    (valid_deployment(), lambda o: o.metadata.annotations.update({"bad key": "x"}),
     'metadata.annotations: Invalid value: "bad key": name part must consist of alphanumeric characters, '
     "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
     "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    (valid_pod(), lambda o: o.metadata.owner_references.add(api_version="apps/v1", kind="ReplicaSet", name="web"),
     'metadata.ownerReferences.uid: Invalid value: "": must not be empty'),
    (valid_pod(), lambda o: o.metadata.finalizers.append("cleanup"),
     'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it '
     "fully qualified"),
], ids=["name-missing", "name-not-subdomain", "service-name-dns1035", "namespace-name-label",
        "statefulset-name-label", "namespace-missing", "cluster-scoped-namespace", "label-value", "annotation-key",
        "owner-uid", "finalizer"])
def test_metadata_is_validated_per_kind(obj: Message, change: Callable[[Any], None], expected: str) -> None:
    change(obj)
    assert expected in errors_of(obj)


def test_generate_name_may_end_with_a_dash() -> None:
    deployment = valid_deployment()
    deployment.metadata.generate_name = "web-"
    deployment.metadata.name = "web-x7k2p"
    assert errors_of(deployment) == []


# ---------------------------------------------------------------------------------------- pods


def pod_with(change: Callable[[core_pb2.PodSpec], None]) -> core_pb2.Pod:
    pod = valid_pod()
    change(pod.spec)
    return pod


C0 = "spec.containers[0]"

POD_CASES: list[tuple[str, Callable[[core_pb2.PodSpec], None], str]] = [
    ("containers-required", lambda s: s.ClearField("containers"), "spec.containers: Required value"),
    ("container-name-label", lambda s: setattr(s.containers[0], "name", "Web"),
     f'{C0}.name: Invalid value: "Web": a lowercase RFC 1123 label must consist of lower case alphanumeric '
     "characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
     "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    ("duplicate-container", lambda s: s.containers.add(name="web", image="busybox"),
     'spec.containers[1].name: Duplicate value: "web"'),
    ("duplicate-init-container", lambda s: s.init_containers.add(name="web", image="busybox"),
     'spec.initContainers[0].name: Duplicate value: "web"'),
    ("image-required", lambda s: setattr(s.containers[0], "image", ""), f"{C0}.image: Required value"),
    ("container-port-range", lambda s: setattr(s.containers[0].ports[0], "container_port", 70000),
     f"{C0}.ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ("container-port-required", lambda s: setattr(s.containers[0].ports[0], "container_port", 0),
     f"{C0}.ports[0].containerPort: Required value"),
    ("host-port-range", lambda s: setattr(s.containers[0].ports[0], "host_port", -1),
     f"{C0}.ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive"),
    ("port-name", lambda s: setattr(s.containers[0].ports[0], "name", "web_http"),
     f'{C0}.ports[0].name: Invalid value: "web_http": must contain only alpha-numeric characters (a-z, 0-9), and '
     "hyphens (-)"),
    ("duplicate-port-name", lambda s: s.containers[0].ports.add(name="http", container_port=8080),
     f'{C0}.ports[1].name: Duplicate value: "http"'),
    ("protocol", lambda s: setattr(s.containers[0].ports[0], "protocol", "HTTP"),
     f'{C0}.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'),
    ("env-name", lambda s: setattr(s.containers[0].env[0], "name", "1PORT"),
     f'{C0}.env[0].name: Invalid value: "1PORT": a valid environment variable name must consist of alphabetic '
     "characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or "
     "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"),
    ("env-from-empty", lambda s: s.containers[0].env_from.add(prefix="X_"),
     f'{C0}.envFrom[1]: Invalid value: "": must specify one of: `configMapRef` or `secretRef`'),
    ("env-from-both", lambda s: s.containers[0].env_from[0].secret_ref.SetInParent(),
     f'{C0}.envFrom[0]: Invalid value: "": may not have more than one field specified at a time'),
    ("value-from-empty", lambda s: s.containers[0].env.add(name="X", value_from=core_pb2.EnvVarSource()),
     f'{C0}.env[3].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, '
     "`configMapKeyRef` or `secretKeyRef`"),
    ("value-from-two", lambda s: s.containers[0].env[2].value_from.config_map_key_ref.MergeFrom(
        core_pb2.ConfigMapKeySelector(name="cfg", key="k")),
     f'{C0}.env[2].valueFrom: Invalid value: "": may not have more than one field specified at a time'),
    ("value-and-value-from", lambda s: setattr(s.containers[0].env[1], "value", "x"),
     f'{C0}.env[1].valueFrom: Invalid value: "": may not be specified when `value` is not empty'),
    ("field-ref-path", lambda s: setattr(s.containers[0].env[1].value_from.field_ref, "field_path", "metadata.labels"),
     f'{C0}.env[1].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels": supported values: '
     '"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", '
     '"status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"'),
    ("mount-not-found", lambda s: setattr(s.containers[0].volume_mounts[0], "name", "cache"),
     f'{C0}.volumeMounts[0].name: Not found: "cache"'),
    ("mount-path-required", lambda s: setattr(s.containers[0].volume_mounts[0], "mount_path", ""),
     f"{C0}.volumeMounts[0].mountPath: Required value"),
    ("mount-path-unique", lambda s: s.containers[0].volume_mounts.add(name="config", mount_path="/etc/web"),
     f'{C0}.volumeMounts[1].mountPath: Invalid value: "/etc/web": must be unique'),
    ("duplicate-volume", lambda s: s.volumes.add(name="config", empty_dir=core_pb2.EmptyDirVolumeSource()),
     'spec.volumes[1].name: Duplicate value: "config"'),
    ("two-volume-sources", lambda s: s.volumes[0].secret.MergeFrom(core_pb2.SecretVolumeSource(secret_name="s")),
     "spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type"),
    ("config-map-name", lambda s: setattr(s.volumes[0].config_map, "name", ""),
     "spec.volumes[0].configMap.name: Required value"),
    ("default-mode", lambda s: setattr(s.volumes[0].config_map, "default_mode", 0o1777),
     "spec.volumes[0].configMap.defaultMode: Invalid value: 1023: must be a number between 0 and 0777 (octal), "
     "both inclusive"),
    ("host-path-type",
     lambda s: s.volumes.add(name="h", host_path=core_pb2.HostPathVolumeSource(path="/d", type="Dir")),
     'spec.volumes[1].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", '
     '"Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"'),
    ("probe-handler", lambda s: s.containers[0].liveness_probe.ClearField("http_get"),
     f"{C0}.livenessProbe: Required value: must specify a handler type"),
    ("probe-two-handlers", lambda s: s.containers[0].readiness_probe.exec.command.append("true"),
     f"{C0}.readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type"),
    ("probe-negative", lambda s: setattr(s.containers[0].liveness_probe, "initial_delay_seconds", -5),
     f"{C0}.livenessProbe.initialDelaySeconds: Invalid value: -5: must be greater than or equal to 0"),
    ("liveness-success-threshold", lambda s: setattr(s.containers[0].liveness_probe, "success_threshold", 2),
     f"{C0}.livenessProbe.successThreshold: Invalid value: 2: must be 1"),
    ("startup-success-threshold", lambda s: s.containers[0].startup_probe.MergeFrom(core_pb2.Probe(
        tcp_socket=core_pb2.TCPSocketAction(port=IOS(int_val=3000)), success_threshold=3)),
     f"{C0}.startupProbe.successThreshold: Invalid value: 3: must be 1"),
    ("probe-port", lambda s: setattr(s.containers[0].readiness_probe.http_get.port, "int_val", 0),
     f"{C0}.readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ("probe-port-name", lambda s: setattr(s.containers[0].liveness_probe.http_get.port, "str_val", "HTTP"),
     f'{C0}.livenessProbe.httpGet.port: Invalid value: "HTTP": must contain only alpha-numeric characters '
     "(a-z, 0-9), and hyphens (-)"),
    ("probe-scheme", lambda s: setattr(s.containers[0].liveness_probe.http_get, "scheme", "FTP"),
     f'{C0}.livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"'),
    ("restart-policy", lambda s: setattr(s, "restart_policy", "Sometimes"),
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"'),
    ("dns-policy", lambda s: setattr(s, "dns_policy", "Cluster"),
     'spec.dnsPolicy: Unsupported value: "Cluster": supported values: "ClusterFirst", "ClusterFirstWithHostNet", '
     '"Default", "None"'),
    ("request-over-limit", lambda s: s.containers[0].resources.requests["cpu"].MergeFrom(Q(string="2")),
     f'{C0}.resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 500m'),
    ("memory-request-over-limit", lambda s: setattr(s.containers[0].resources.requests["memory"], "string", "1Gi"),
     f'{C0}.resources.requests: Invalid value: "1Gi": must be less than or equal to memory limit of 128Mi'),
    ("bad-resource-name", lambda s: s.containers[0].resources.limits["gpu"].MergeFrom(Q(string="1")),
     f'{C0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers'),
    ("negative-quantity", lambda s: setattr(s.containers[0].resources.requests["cpu"], "string", "-1"),
     f'{C0}.resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0'),
    ("toleration-operator", lambda s: s.tolerations.add(key="gpu", operator="Is"),
     'spec.tolerations[0].operator: Unsupported value: "Is": supported values: "Equal", "Exists"'),
    ("toleration-effect", lambda s: s.tolerations.add(key="gpu", operator="Exists", effect="NoRun"),
     'spec.tolerations[0].effect: Unsupported value: "NoRun": supported values: "NoExecute", "NoSchedule", '
     '"PreferNoSchedule"'),
    ("toleration-exists-value", lambda s: s.tolerations.add(key="gpu", operator="Exists", value="yes"),
     'spec.tolerations[0].operator: Invalid value: core.Toleration{Key:"gpu", Operator:"Exists", Value:"yes", '
     'Effect:"", TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is \'Exists\''),
    ("node-selector", lambda s: s.node_selector.update({"disk type": "ssd"}),
     'spec.nodeSelector: Invalid value: "disk type": name part must consist of alphanumeric characters, '
     "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
     "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("init-container-probe",
     lambda s: s.init_containers.add(name="init", image="busybox", liveness_probe=core_pb2.Probe(
         exec=core_pb2.ExecAction(command=["true"]))),
     "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without "
     "restartPolicy=Always"),
    ("host-network-port", lambda s: (setattr(s, "host_network", True),
                                     setattr(s.containers[0].ports[0], "host_port", 80)),
     f"{C0}.ports[0].hostPort: Invalid value: 80: must match `containerPort` when `hostNetwork` is true"),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in POD_CASES], ids=[n for n, _, _ in POD_CASES])
def test_pod_spec_errors_name_the_field(change: Callable[[core_pb2.PodSpec], None], expected: str) -> None:
    assert expected in errors_of(pod_with(change))


def test_every_error_is_returned_not_only_the_first() -> None:
    def break_everything(spec: core_pb2.PodSpec) -> None:
        spec.containers[0].ports[0].container_port = 70000
        spec.containers[0].image = ""
        spec.restart_policy = "Sometimes"

    assert errors_of(pod_with(break_everything)) == [
        f"{C0}.image: Required value",
        f"{C0}.ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"',
    ]


def test_a_sidecar_init_container_may_have_probes() -> None:
    pod = pod_with(lambda s: s.init_containers.add(
        name="proxy", image="busybox", restart_policy="Always",
        readiness_probe=core_pb2.Probe(exec=core_pb2.ExecAction(command=["true"]))))
    assert errors_of(pod) == []


# ---------------------------------------------------------------------------------------- Services


def service_with(change: Callable[[core_pb2.ServiceSpec], None]) -> core_pb2.Service:
    service = valid_service()
    change(service.spec)
    return service


SERVICE_CASES: list[tuple[str, Callable[[core_pb2.ServiceSpec], None], str]] = [
    ("ports-required", lambda s: s.ClearField("ports"), "spec.ports: Required value"),
    ("port-range", lambda s: setattr(s.ports[0], "port", 0),
     "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ("port-name-required", lambda s: setattr(s.ports[1], "name", ""), "spec.ports[1].name: Required value"),
    ("port-name-unique", lambda s: setattr(s.ports[1], "name", "http"), 'spec.ports[1].name: Duplicate value: "http"'),
    ("target-port-name", lambda s: setattr(s.ports[0].target_port, "str_val", "http_port"),
     'spec.ports[0].targetPort: Invalid value: "http_port": must contain only alpha-numeric characters (a-z, 0-9), '
     "and hyphens (-)"),
    ("target-port-number", lambda s: setattr(s.ports[1].target_port, "int_val", 65536),
     "spec.ports[1].targetPort: Invalid value: 65536: must be between 1 and 65535, inclusive"),
    ("protocol", lambda s: setattr(s.ports[0], "protocol", "ICMP"),
     'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"'),
    ("type", lambda s: setattr(s, "type", "Internal"),
     'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
     '"NodePort"'),
    ("node-port-on-cluster-ip", lambda s: (setattr(s, "type", "ClusterIP"), s.ClearField("external_traffic_policy")),
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    ("cluster-ip", lambda s: setattr(s, "cluster_ip", "10.96.0.300"),
     'spec.clusterIP: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
    ("headless-node-port", lambda s: setattr(s, "cluster_ip", "None"),
     'spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for NodePort services'),
    ("session-affinity", lambda s: setattr(s, "session_affinity", "Cookie"),
     'spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"'),
    ("affinity-timeout", lambda s: (setattr(s, "session_affinity", "ClientIP"),
                                    setattr(s.session_affinity_config.client_ip, "timeout_seconds", 86401)),
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less "
     "than 86400"),
    ("external-traffic-policy", lambda s: setattr(s, "external_traffic_policy", "Nearest"),
     'spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"'),
    ("selector", lambda s: s.selector.update({"app": "web/v1"}),
     'spec.selector: Invalid value: "web/v1": a valid label must be an empty string or consist of alphanumeric '
     "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
     "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
    ("duplicate-port", lambda s: s.ports.add(name="again", port=80, target_port=IOS(int_val=8080)),
     'spec.ports[2]: Duplicate value: core.ServicePort{Protocol:"TCP", Port:80}'),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in SERVICE_CASES],
                         ids=[n for n, _, _ in SERVICE_CASES])
def test_service_errors_name_the_field(change: Callable[[core_pb2.ServiceSpec], None], expected: str) -> None:
    assert expected in errors_of(service_with(change))


def test_a_cluster_ip_service_may_not_keep_an_external_traffic_policy() -> None:
    service = core_pb2.Service(metadata=meta("web"), spec=core_pb2.ServiceSpec(
        ports=[core_pb2.ServicePort(port=80)], external_traffic_policy="Local"))
    assert errors_of(service) == [
        'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services']


def test_headless_and_external_name_services_need_no_ports() -> None:
    headless = core_pb2.Service(metadata=meta("db"), spec=core_pb2.ServiceSpec(cluster_ip="None",
                                                                               selector={"app": "db"}))
    external = core_pb2.Service(metadata=meta("search"), spec=core_pb2.ServiceSpec(
        type="ExternalName", external_name="search.example.com."))
    assert errors_of(headless) == []
    assert errors_of(external) == []


def test_external_name_must_be_a_dns_name() -> None:
    missing = core_pb2.Service(metadata=meta("search"), spec=core_pb2.ServiceSpec(type="ExternalName"))
    assert errors_of(missing) == ["spec.externalName: Required value"]
    bad = core_pb2.Service(metadata=meta("search"), spec=core_pb2.ServiceSpec(type="ExternalName",
                                                                              external_name="Search_Host"))
    assert errors_of(bad)[0].startswith(
        'spec.externalName: Invalid value: "Search_Host": a lowercase RFC 1123 subdomain')


def test_a_services_cluster_ip_is_immutable_once_set() -> None:
    service = valid_service()
    service.spec.cluster_ip = "10.96.0.20"
    service.spec.cluster_ips.append("10.96.0.20")
    assert update_errors(service, lambda new: (setattr(new.spec, "cluster_ip", "10.96.0.21"),
                                               new.spec.ClearField("cluster_ips"))) == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.21"}: may not change once set']
    becoming_external = update_errors(service, lambda new: (
        setattr(new.spec, "type", "ExternalName"), setattr(new.spec, "external_name", "web.example.com"),
        new.spec.ClearField("cluster_ip"), new.spec.ClearField("cluster_ips"), new.spec.ClearField("ip_families"),
        new.spec.ClearField("ip_family_policy"), new.spec.ClearField("external_traffic_policy"),
        new.spec.ClearField("internal_traffic_policy"), [p.ClearField("node_port") for p in new.spec.ports]))
    assert becoming_external == []


# ---------------------------------------------------------------------------------------- workloads


def deployment_with(change: Callable[[apps_pb2.DeploymentSpec], None]) -> apps_pb2.Deployment:
    deployment = valid_deployment()
    change(deployment.spec)
    return deployment


DEPLOYMENT_CASES: list[tuple[str, Callable[[apps_pb2.DeploymentSpec], None], str]] = [
    ("replicas", lambda s: setattr(s, "replicas", -1),
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ("selector-required", lambda s: s.ClearField("selector"), "spec.selector: Required value"),
    ("selector-empty", lambda s: s.selector.ClearField("match_labels"),
     "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"),
    ("selector-mismatch", lambda s: s.selector.match_labels.update({"app": "x"}),
     'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match '
     "template `labels`"),
    ("selector-operator", lambda s: s.selector.match_expressions.add(key="tier", operator="Has"),
     'spec.selector.matchExpressions[0].operator: Invalid value: "Has": not a valid selector operator'),
    ("template-restart-policy", lambda s: setattr(s.template.spec, "restart_policy", "Never"),
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    ("template-pod-spec", lambda s: setattr(s.template.spec.containers[0].ports[0], "container_port", 99999),
     "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 99999: must be between 1 and 65535, "
     "inclusive"),
    ("strategy-type", lambda s: setattr(s.strategy, "type", "BlueGreen"),
     'spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'),
    ("recreate-with-rolling-update", lambda s: (setattr(s.strategy, "type", "Recreate"),
                                                s.strategy.rolling_update.max_surge.MergeFrom(IOS(int_val=1))),
     "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"),
    ("both-zero", lambda s: (s.strategy.rolling_update.max_surge.MergeFrom(IOS(int_val=0)),
                             s.strategy.rolling_update.max_unavailable.MergeFrom(IOS(str_val="0%"))),
     'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0'),
    ("both-zero-ints", lambda s: (s.strategy.rolling_update.max_surge.MergeFrom(IOS(int_val=0)),
                                  s.strategy.rolling_update.max_unavailable.MergeFrom(IOS(int_val=0))),
     "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"),
    ("negative-surge", lambda s: s.strategy.rolling_update.max_surge.MergeFrom(IOS(int_val=-1)),
     "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0"),
    ("bad-percent", lambda s: s.strategy.rolling_update.max_surge.MergeFrom(IOS(str_val="half")),
     "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"half\": a valid percent string must be a numeric "
     "string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
    ("over-100-percent", lambda s: s.strategy.rolling_update.max_unavailable.MergeFrom(IOS(str_val="150%")),
     'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%'),
    ("history", lambda s: setattr(s, "revision_history_limit", -1),
     "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"),
    ("progress-deadline", lambda s: (setattr(s, "min_ready_seconds", 600), setattr(s, "progress_deadline_seconds", 60)),
     "spec.progressDeadlineSeconds: Invalid value: 60: must be greater than minReadySeconds"),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in DEPLOYMENT_CASES],
                         ids=[n for n, _, _ in DEPLOYMENT_CASES])
def test_deployment_errors_name_the_field(change: Callable[[apps_pb2.DeploymentSpec], None], expected: str) -> None:
    assert expected in errors_of(deployment_with(change))


def test_a_deployment_without_selector_also_reports_the_unmatched_template() -> None:
    assert errors_of(deployment_with(lambda s: s.ClearField("selector"))) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match '
        "template `labels`",
    ]


def test_match_expressions_select_the_template() -> None:
    def by_expression(spec: apps_pb2.DeploymentSpec) -> None:
        spec.selector.ClearField("match_labels")
        spec.selector.match_expressions.add(key="app", operator="In", values=["web", "web-canary"])

    assert errors_of(deployment_with(by_expression)) == []


def test_replica_sets_use_kubernetes_wording_for_an_empty_selector() -> None:
    replica_set = valid_replica_set()
    replica_set.spec.selector.ClearField("match_labels")
    assert ("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
            ) in errors_of(replica_set)


@pytest.mark.parametrize("obj", [valid_deployment(), valid_replica_set(), valid_stateful_set()],
                         ids=["Deployment", "ReplicaSet", "StatefulSet"])
def test_a_workloads_selector_is_immutable(obj: Message) -> None:
    def relabel(new: Any) -> None:
        new.spec.selector.match_labels["app"] = "shop"
        new.spec.template.metadata.labels["app"] = "shop"

    assert ('spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"shop"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable") in update_errors(obj, relabel)


def test_a_deployment_update_may_change_image_and_replicas() -> None:
    def roll(new: apps_pb2.Deployment) -> None:
        new.spec.replicas = 5
        new.spec.template.spec.containers[0].image = "kubelab/demo:v2"

    assert update_errors(valid_deployment(), roll) == []


STATEFUL_SET_CASES: list[tuple[str, Callable[[apps_pb2.StatefulSetSpec], None], str]] = [
    ("pod-management", lambda s: setattr(s, "pod_management_policy", "Random"),
     "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'"),
    ("update-strategy", lambda s: setattr(s.update_strategy, "type", "Replace"),
     "spec.updateStrategy: Invalid value: \"Replace\": must be 'RollingUpdate' or 'OnDelete'"),
    ("partition", lambda s: setattr(s.update_strategy.rolling_update, "partition", -1),
     "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0"),
    ("claim-access-modes", lambda s: s.volume_claim_templates[0].spec.ClearField("access_modes"),
     "spec.volumeClaimTemplates[0].spec.accessModes: Required value: at least 1 access mode is required"),
    ("claim-storage", lambda s: s.volume_claim_templates[0].spec.resources.requests.pop("storage"),
     "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value"),
    ("claim-template-mount", lambda s: setattr(s.volume_claim_templates[0].metadata, "name", "state"),
     'spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"'),
    ("selector-empty", lambda s: s.selector.ClearField("match_labels"),
     "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
     "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset"),
    ("retention", lambda s: setattr(s.persistent_volume_claim_retention_policy, "when_deleted", "Keep"),
     'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: '
     '"Delete", "Retain"'),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in STATEFUL_SET_CASES],
                         ids=[n for n, _, _ in STATEFUL_SET_CASES])
def test_stateful_set_errors_name_the_field(change: Callable[[apps_pb2.StatefulSetSpec], None], expected: str) -> None:
    stateful_set = valid_stateful_set()
    change(stateful_set.spec)
    assert expected in errors_of(stateful_set)


STATEFUL_SET_FORBIDDEN = ("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                          "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
                          "are forbidden")


@pytest.mark.parametrize(("change", "forbidden"), [
    (lambda s: setattr(s, "replicas", 5), False),
    (lambda s: setattr(s.template.spec.containers[0], "image", "kubelab/demo:v2"), False),
    (lambda s: setattr(s.update_strategy.rolling_update, "partition", 2), False),
    (lambda s: setattr(s, "min_ready_seconds", 10), False),
    (lambda s: setattr(s, "revision_history_limit", 3), False),
    (lambda s: setattr(s, "service_name", "database"), True),
    (lambda s: setattr(s, "pod_management_policy", "Parallel"), True),
    (lambda s: setattr(s.volume_claim_templates[0].spec.resources.requests["storage"], "string", "2Gi"), True),
], ids=["replicas", "template", "update-strategy", "min-ready", "history", "service-name", "pod-management",
        "claim-templates"])
def test_stateful_set_updates_may_change_only_some_fields(change: Callable[[apps_pb2.StatefulSetSpec], None],
                                                          forbidden: bool) -> None:
    errors = update_errors(valid_stateful_set(), lambda new: change(new.spec))
    assert errors == ([STATEFUL_SET_FORBIDDEN] if forbidden else [])


# ---------------------------------------------------------------------------------------- pod updates


def test_a_pod_update_may_change_images_and_bind_to_a_node() -> None:
    def bind(new: core_pb2.Pod) -> None:
        new.spec.containers[0].image = "kubelab/demo:v2"
        new.spec.node_name = "kl-worker1"

    assert update_errors(valid_pod(), bind) == []


def test_a_pod_update_may_not_change_other_fields() -> None:
    errors = update_errors(valid_pod(), lambda new: setattr(new.spec.containers[0].ports[0], "container_port", 8080))
    assert errors == [
        "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously "
        "negative)"]


def test_a_bound_pod_may_not_move() -> None:
    pod = valid_pod()
    pod.spec.node_name = "kl-worker1"
    errors = update_errors(pod, lambda new: setattr(new.spec, "node_name", "kl-worker2"))
    assert errors and errors[0].startswith("spec: Forbidden: pod updates may not change fields")


def test_a_pod_update_may_not_add_containers() -> None:
    errors = update_errors(valid_pod(), lambda new: new.spec.containers.add(name="sidecar", image="busybox"))
    assert "spec.containers: Forbidden: pod updates may not add or remove containers" in errors


# ---------------------------------------------------------------------------------------- config


def test_config_map_keys_and_binary_data_duplicates() -> None:
    config_map = valid_objects()["ConfigMap"]
    config_map.data["bad key"] = "x"  # type: ignore[attr-defined]
    config_map.data["logo.png"] = "x"  # type: ignore[attr-defined]
    assert errors_of(config_map) == [
        "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, "
        "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')",
        'data[logo.png]: Invalid value: "logo.png": duplicate of key present in binaryData',
    ]


def test_tls_secrets_need_a_certificate_and_a_key() -> None:
    secret = core_pb2.Secret(metadata=meta("shop-tls"), type="kubernetes.io/tls", data={"tls.crt": b"c"})
    assert errors_of(secret) == ["data[tls.key]: Required value"]


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_immutable_config_refuses_changes_to_its_data(kind: str) -> None:
    obj = valid_objects()[kind]
    obj.immutable = True  # type: ignore[attr-defined]
    value: Any = "changed" if kind == "ConfigMap" else b"changed"
    errors = update_errors(obj, lambda new: new.data.update({"tls.crt" if kind == "Secret" else "MESSAGE": value}))
    assert errors == ["data: Forbidden: field is immutable when `immutable` is set"]
    assert update_errors(obj, lambda new: setattr(new, "immutable", False)) == [
        "immutable: Forbidden: field is immutable when `immutable` is set"]


def test_a_secrets_type_is_immutable() -> None:
    secret = core_pb2.Secret(metadata=meta("s"), data={"a": b"1"})
    assert update_errors(secret, lambda new: setattr(new, "type", "kubelab.io/custom")) == [
        'type: Invalid value: "kubelab.io/custom": field is immutable']


# ---------------------------------------------------------------------------------------- storage


STORAGE_CASES: list[tuple[str, str, Callable[[Any], None], str]] = [
    ("claim-access-mode", "PersistentVolumeClaim", lambda o: o.spec.access_modes.append("ReadWriteSometimes"),
     'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", '
     '"ReadWriteOnce", "ReadWriteOncePod"'),
    ("claim-storage", "PersistentVolumeClaim", lambda o: o.spec.resources.requests.pop("storage"),
     "spec.resources[storage]: Required value"),
    ("claim-storage-zero", "PersistentVolumeClaim",
     lambda o: setattr(o.spec.resources.requests["storage"], "string", "0"),
     'spec.resources[storage]: Invalid value: "0": must be greater than zero'),
    ("claim-rwop-mix", "PersistentVolumeClaim", lambda o: o.spec.access_modes.append("ReadWriteOncePod"),
     "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"),
    ("volume-capacity", "PersistentVolume", lambda o: o.spec.ClearField("capacity"), "spec.capacity: Required value"),
    ("volume-access-modes", "PersistentVolume", lambda o: o.spec.ClearField("access_modes"),
     "spec.accessModes: Required value"),
    ("volume-source", "PersistentVolume", lambda o: o.spec.ClearField("host_path"),
     "spec: Required value: must specify a volume type"),
    ("volume-two-sources", "PersistentVolume", lambda o: o.spec.nfs.MergeFrom(core_pb2.NFSVolumeSource(
        server="nfs.example.com", path="/exports")), "spec.nfs: Forbidden: may not specify more than 1 volume type"),
    ("volume-reclaim", "PersistentVolume", lambda o: setattr(o.spec, "persistent_volume_reclaim_policy", "Keep"),
     'spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"'),
    ("class-provisioner", "StorageClass", lambda o: setattr(o, "provisioner", ""), "provisioner: Required value"),
    ("class-reclaim", "StorageClass", lambda o: setattr(o, "reclaim_policy", "Recycle"),
     'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"'),
    ("class-binding", "StorageClass", lambda o: setattr(o, "volume_binding_mode", "Later"),
     'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"'),
]


@pytest.mark.parametrize(("kind", "change", "expected"), [(k, c, e) for _, k, c, e in STORAGE_CASES],
                         ids=[n for n, _, _, _ in STORAGE_CASES])
def test_storage_errors_name_the_field(kind: str, change: Callable[[Any], None], expected: str) -> None:
    obj = valid_objects()[kind]
    change(obj)
    assert expected in errors_of(obj)


def test_a_claim_may_be_bound_once_but_not_otherwise_changed() -> None:
    claim = valid_objects()["PersistentVolumeClaim"]
    assert update_errors(claim, lambda new: setattr(new.spec, "volume_name", "pv-1")) == []
    assert update_errors(claim, lambda new: new.spec.access_modes.append("ReadOnlyMany")) == [
        "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName "
        "for bound claims"]


def test_a_volumes_source_is_immutable_but_its_claim_ref_is_not() -> None:
    volume = valid_objects()["PersistentVolume"]
    assert update_errors(volume, lambda new: new.spec.claim_ref.MergeFrom(meta_pb2.ObjectReference(
        namespace="default", name="data"))) == []
    assert update_errors(volume, lambda new: setattr(new.spec.host_path, "path", "/mnt/other")) == [
        "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation"]


# ---------------------------------------------------------------------------------------- networking


INGRESS_CASES: list[tuple[str, Callable[[networking_pb2.IngressSpec], None], str]] = [
    ("rules-or-backend", lambda s: s.ClearField("rules"),
     "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"),
    ("host", lambda s: setattr(s.rules[0], "host", "Shop.example.com"),
     'spec.rules[0].host: Invalid value: "Shop.example.com": a lowercase RFC 1123 subdomain must consist of lower '
     "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
     "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ("wildcard-host", lambda s: setattr(s.rules[1], "host", "blog.*.example.com"),
     'spec.rules[1].host: Invalid value: "blog.*.example.com": a wildcard DNS-1123 subdomain must start with '
     "'*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' "
     "and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is "
     "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ("ip-host", lambda s: setattr(s.rules[0], "host", "192.168.1.10"),
     'spec.rules[0].host: Invalid value: "192.168.1.10": must be a DNS name, not an IP address'),
    ("relative-path", lambda s: setattr(s.rules[0].http.paths[1], "path", "api"),
     'spec.rules[0].http.paths[1].path: Invalid value: "api": must be an absolute path'),
    ("path-type-required", lambda s: setattr(s.rules[0].http.paths[0], "path_type", ""),
     "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"),
    ("path-type", lambda s: setattr(s.rules[0].http.paths[0], "path_type", "Regex"),
     'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", '
     '"ImplementationSpecific", "Prefix"'),
    ("backend-port-required", lambda s: s.rules[0].http.paths[0].backend.service.ClearField("port"),
     "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"),
    ("backend-port-both", lambda s: setattr(s.rules[0].http.paths[0].backend.service.port, "name", "http"),
     'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & port number'),
    ("backend-service-name", lambda s: setattr(s.rules[0].http.paths[0].backend.service, "name", ""),
     "spec.rules[0].http.paths[0].backend.service.name: Required value"),
    ("backend-missing", lambda s: s.rules[0].http.paths[0].ClearField("backend"),
     'spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required'),
    ("paths-required", lambda s: s.rules[1].http.ClearField("paths"), "spec.rules[1].http.paths: Required value"),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in INGRESS_CASES],
                         ids=[n for n, _, _ in INGRESS_CASES])
def test_ingress_errors_name_the_field(change: Callable[[networking_pb2.IngressSpec], None], expected: str) -> None:
    ingress = valid_ingress()
    change(ingress.spec)
    assert expected in errors_of(ingress)


def test_an_ingress_with_only_a_default_backend_is_valid() -> None:
    ingress = networking_pb2.Ingress(metadata=meta("default"), spec=networking_pb2.IngressSpec(
        default_backend=networking_pb2.IngressBackend(service=networking_pb2.IngressServiceBackend(
            name="web", port=networking_pb2.ServiceBackendPort(number=80)))))
    assert errors_of(ingress) == []


def test_an_ingress_class_needs_a_controller() -> None:
    ingress_class = networking_pb2.IngressClass(metadata=meta_pb2.ObjectMeta(name="kubelab"))
    assert errors_of(ingress_class) == ["spec.controller: Required value"]
    ingress_class.spec.controller = "ingress-nginx"
    assert errors_of(ingress_class) == [
        'spec.controller: Invalid value: "ingress-nginx": must be a domain-prefixed path (such as "acme.io/foo")']


ENDPOINT_CASES: list[tuple[str, str, Callable[[Any], None], str]] = [
    ("endpoints-ip", "Endpoints", lambda o: setattr(o.subsets[0].addresses[0], "ip", "10.244.1"),
     'subsets[0].addresses[0].ip: Invalid value: "10.244.1": must be a valid IP address, (e.g. 10.9.8.7 or '
     "2001:db8::ffff)"),
    ("endpoints-port", "Endpoints", lambda o: setattr(o.subsets[0].ports[0], "port", 0),
     "subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    ("endpoints-protocol", "Endpoints", lambda o: setattr(o.subsets[0].ports[0], "protocol", "tcp"),
     'subsets[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"'),
    ("endpoints-addresses", "Endpoints", lambda o: (o.subsets[0].ClearField("addresses"),
                                                    o.subsets[0].ClearField("not_ready_addresses")),
     "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"),
    ("slice-address-type", "EndpointSlice", lambda o: setattr(o, "address_type", "IP"),
     'addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'),
    ("slice-ipv4", "EndpointSlice", lambda o: o.endpoints[0].addresses.append("fd00::1"),
     'endpoints[0].addresses[1]: Invalid value: "fd00::1": must be a valid IPv4 address'),
    ("slice-addresses", "EndpointSlice", lambda o: o.endpoints[0].ClearField("addresses"),
     "endpoints[0].addresses: Required value: must contain at least 1 address"),
    ("slice-too-many", "EndpointSlice", lambda o: o.endpoints[0].addresses.extend(
        f"10.244.2.{i}" for i in range(1, 101)), "endpoints[0].addresses: Too many: 101: must have at most 100 items"),
    ("slice-port-protocol", "EndpointSlice", lambda o: setattr(o.ports[0], "protocol", "QUIC"),
     'ports[0].protocol: Unsupported value: "QUIC": supported values: "SCTP", "TCP", "UDP"'),
]


@pytest.mark.parametrize(("kind", "change", "expected"), [(k, c, e) for _, k, c, e in ENDPOINT_CASES],
                         ids=[n for n, _, _, _ in ENDPOINT_CASES])
def test_endpoint_errors_name_the_field(kind: str, change: Callable[[Any], None], expected: str) -> None:
    obj = valid_objects()[kind]
    change(obj)
    assert expected in errors_of(obj)


def test_fqdn_endpoint_slices_hold_domain_names() -> None:
    endpoint_slice = discovery_pb2.EndpointSlice(metadata=meta("ext"), address_type="FQDN", endpoints=[
        discovery_pb2.Endpoint(addresses=["db.example.com"])])
    assert errors_of(endpoint_slice) == []


# ---------------------------------------------------------------------------------------- cluster


CLUSTER_CASES: list[tuple[str, str, Callable[[Any], None], str]] = [
    ("taint-effect", "Node", lambda o: setattr(o.spec.taints[0], "effect", "NoRun"),
     'spec.taints[0].effect: Unsupported value: "NoRun": supported values: "NoExecute", "NoSchedule", '
     '"PreferNoSchedule"'),
    ("taint-key", "Node", lambda o: setattr(o.spec.taints[0], "key", "bad key"),
     'spec.taints[0].key: Invalid value: "bad key": name part must consist of alphanumeric characters, \'-\', '
     "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
     "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"),
    ("pod-cidr", "Node", lambda o: setattr(o.spec, "pod_cidr", "10.244.1.0"),
     'spec.podCIDR: Invalid value: "10.244.1.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'),
    ("lease-duration", "Lease", lambda o: setattr(o.spec, "lease_duration_seconds", 0),
     "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"),
    ("event-object", "Event", lambda o: o.involved_object.ClearField("name"), "involvedObject.name: Required value"),
    ("event-namespace", "Event", lambda o: setattr(o.involved_object, "namespace", "kube-system"),
     'involvedObject.namespace: Invalid value: "kube-system": does not match event.namespace'),
    ("namespace-finalizer", "Namespace", lambda o: o.spec.finalizers.append("cleanup"),
     'spec.finalizers: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully '
     "qualified"),
]


@pytest.mark.parametrize(("kind", "change", "expected"), [(k, c, e) for _, k, c, e in CLUSTER_CASES],
                         ids=[n for n, _, _, _ in CLUSTER_CASES])
def test_cluster_object_errors_name_the_field(kind: str, change: Callable[[Any], None], expected: str) -> None:
    obj = valid_objects()[kind]
    change(obj)
    assert expected in errors_of(obj)


def test_a_nodes_pod_cidr_is_set_once() -> None:
    node = valid_objects()["Node"]
    assert update_errors(node, lambda new: (setattr(new.spec, "pod_cidr", "10.244.2.0/24"),
                                            new.spec.pod_cidrs.__setitem__(0, "10.244.2.0/24"))) == [
        'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']
