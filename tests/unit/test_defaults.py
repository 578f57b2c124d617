"""Defaulting fills what Kubernetes fills, leaves what the user set, and is idempotent."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.v1 import (
    apps_pb2,
    core_pb2,
    discovery_pb2,
    meta_pb2,
    networking_pb2,
    storage_pb2,
)
from controlplane.apiserver.defaults import apply_defaults, image_tag, pod_qos_class


def defaulted(obj: Message) -> Message:
    apply_defaults(kinds.of_message(obj), obj)
    return obj


def quantities(**amounts: str) -> dict[str, meta_pb2.Quantity]:
    return {name.replace("_", "-"): meta_pb2.Quantity(string=amount) for name, amount in amounts.items()}


def pod(*containers: core_pb2.Container, **spec: object) -> core_pb2.Pod:
    return core_pb2.Pod(metadata=meta_pb2.ObjectMeta(name="p", namespace="default"),
                        spec=core_pb2.PodSpec(containers=list(containers), **spec))  # type: ignore[arg-type]


def container(name: str = "app", image: str = "nginx:1.25", **fields: object) -> core_pb2.Container:
    return core_pb2.Container(name=name, image=image, **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- pods


def test_pod_spec_gets_kubernetes_defaults() -> None:
    spec = defaulted(pod(container())).spec  # type: ignore[attr-defined]
    assert spec.restart_policy == "Always"
    assert spec.termination_grace_period_seconds == 30
    assert spec.dns_policy == "ClusterFirst"
    assert spec.scheduler_name == "default-scheduler"
    assert spec.enable_service_links is True
    assert spec.HasField("security_context")
    app = spec.containers[0]
    assert (app.termination_message_path, app.termination_message_policy) == ("/dev/termination-log", "File")


def test_pod_spec_keeps_what_the_user_set() -> None:
    spec = defaulted(pod(container(image_pull_policy="Never", termination_message_policy="FallbackToLogsOnError"),
                         restart_policy="OnFailure", termination_grace_period_seconds=0, dns_policy="Default",
                         enable_service_links=False)).spec  # type: ignore[attr-defined]
    assert (spec.restart_policy, spec.termination_grace_period_seconds, spec.dns_policy) == ("OnFailure", 0, "Default")
    assert spec.enable_service_links is False
    assert spec.containers[0].image_pull_policy == "Never"
    assert spec.containers[0].termination_message_policy == "FallbackToLogsOnError"


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("nginx:1.25", "IfNotPresent"),
    ("kubelab/demo:v2", "IfNotPresent"),
    ("localhost:5000/nginx", "Always"),
    ("localhost:5000/nginx:1.25", "IfNotPresent"),
    ("nginx@sha256:0123456789abcdef", "IfNotPresent"),
    ("nginx:latest@sha256:0123456789abcdef", "Always"),
])
def test_image_pull_policy_is_always_only_for_latest_or_untagged_images(image: str, policy: str) -> None:
    spec = defaulted(pod(container(image=image))).spec  # type: ignore[attr-defined]
    assert spec.containers[0].image_pull_policy == policy


def test_image_tag_reads_references_as_kubernetes_does() -> None:
    assert image_tag("registry.example.com:443/team/app") == "latest"
    assert image_tag("app:v1@sha256:aa") == "v1"
    assert image_tag("app@sha256:aa") == ""


def test_container_ports_default_to_tcp_and_init_containers_are_defaulted_too() -> None:
    spec = defaulted(pod(container(ports=[core_pb2.ContainerPort(container_port=80)]),
                         init_containers=[container("init", image="busybox")])).spec  # type: ignore[attr-defined]
    assert spec.containers[0].ports[0].protocol == "TCP"
    assert spec.init_containers[0].image_pull_policy == "Always"
    assert spec.init_containers[0].termination_message_policy == "File"


def test_probes_get_timing_defaults_and_http_get_path_and_scheme() -> None:
    probe = core_pb2.Probe(http_get=core_pb2.HTTPGetAction(port=meta_pb2.IntOrString(int_val=80)))
    hook = core_pb2.LifecycleHandler(http_get=core_pb2.HTTPGetAction(port=meta_pb2.IntOrString(str_val="http")))
    app = container(liveness_probe=probe, readiness_probe=core_pb2.Probe(
        tcp_socket=core_pb2.TCPSocketAction(port=meta_pb2.IntOrString(int_val=80)), period_seconds=5),
        startup_probe=core_pb2.Probe(grpc=core_pb2.GRPCAction(port=9000)),
        lifecycle=core_pb2.Lifecycle(pre_stop=hook))
    spec = defaulted(pod(app)).spec  # type: ignore[attr-defined]
    live, ready, startup = (spec.containers[0].liveness_probe, spec.containers[0].readiness_probe,
                            spec.containers[0].startup_probe)
    assert (live.timeout_seconds, live.period_seconds, live.success_threshold, live.failure_threshold) == (1, 10, 1, 3)
    assert (live.http_get.path, live.http_get.scheme) == ("/", "HTTP")
    assert ready.period_seconds == 5
    assert startup.grpc.HasField("service") and startup.grpc.service == ""
    assert (spec.containers[0].lifecycle.pre_stop.http_get.path,
            spec.containers[0].lifecycle.pre_stop.http_get.scheme) == ("/", "HTTP")


def test_absent_probes_stay_absent() -> None:
    spec = defaulted(pod(container())).spec  # type: ignore[attr-defined]
    assert not spec.containers[0].HasField("liveness_probe")
    assert not spec.containers[0].HasField("lifecycle")


def test_env_field_ref_gets_api_version_v1() -> None:
    env = core_pb2.EnvVar(name="POD_NAME", value_from=core_pb2.EnvVarSource(
        field_ref=core_pb2.ObjectFieldSelector(field_path="metadata.name")))
    spec = defaulted(pod(container(env=[env]))).spec  # type: ignore[attr-defined]
    assert spec.containers[0].env[0].value_from.field_ref.api_version == "v1"


def test_pod_requests_are_copied_from_limits_where_missing() -> None:
    resources = core_pb2.ResourceRequirements(limits=quantities(cpu="500m", memory="128Mi"),
                                              requests=quantities(cpu="100m"))
    spec = defaulted(pod(container(resources=resources))).spec  # type: ignore[attr-defined]
    requests = spec.containers[0].resources.requests
    assert {name: q.string for name, q in requests.items()} == {"cpu": "100m", "memory": "128Mi"}


def test_host_network_pods_get_host_ports_equal_to_container_ports() -> None:
    spec = defaulted(pod(container(ports=[core_pb2.ContainerPort(container_port=8080)]),
                         host_network=True)).spec  # type: ignore[attr-defined]
    assert spec.containers[0].ports[0].host_port == 8080


@pytest.mark.parametrize(("source", "field"), [
    (core_pb2.Volume(name="c", config_map=core_pb2.ConfigMapVolumeSource(name="cfg")), "config_map"),
    (core_pb2.Volume(name="s", secret=core_pb2.SecretVolumeSource(secret_name="sec")), "secret"),
    (core_pb2.Volume(name="d", downward_api=core_pb2.DownwardAPIVolumeSource()), "downward_api"),
    (core_pb2.Volume(name="p", projected=core_pb2.ProjectedVolumeSource()), "projected"),
])
def test_projected_kinds_of_volume_get_mode_0644(source: core_pb2.Volume, field: str) -> None:
    spec = defaulted(pod(container(), volumes=[source])).spec  # type: ignore[attr-defined]
    assert getattr(spec.volumes[0], field).default_mode == 0o644


def test_volume_details_are_defaulted() -> None:
    volumes = [
        core_pb2.Volume(name="bare"),
        core_pb2.Volume(name="host", host_path=core_pb2.HostPathVolumeSource(path="/data")),
        core_pb2.Volume(name="info", downward_api=core_pb2.DownwardAPIVolumeSource(items=[
            core_pb2.DownwardAPIVolumeFile(path="labels",
                                           field_ref=core_pb2.ObjectFieldSelector(field_path="metadata.labels"))])),
        core_pb2.Volume(name="token", projected=core_pb2.ProjectedVolumeSource(sources=[core_pb2.VolumeProjection(
            service_account_token=core_pb2.ServiceAccountTokenProjection(path="token"))])),
        core_pb2.Volume(name="mine", secret=core_pb2.SecretVolumeSource(secret_name="s", default_mode=0o400)),
    ]
    spec = defaulted(pod(container(), volumes=volumes)).spec  # type: ignore[attr-defined]
    bare, host, info, token, mine = spec.volumes
    assert bare.HasField("empty_dir")
    assert host.host_path.type == "" and not host.HasField("empty_dir")
    assert info.downward_api.items[0].field_ref.api_version == "v1"
    assert token.projected.sources[0].service_account_token.expiration_seconds == 3600
    assert mine.secret.default_mode == 0o400


def test_defaulting_adds_no_tolerations_admission_does() -> None:
    spec = defaulted(pod(container())).spec  # type: ignore[attr-defined]
    assert not spec.tolerations  # see apiserver/tolerations.py and tests/unit/test_default_tolerations.py


# ---------------------------------------------------------------------------------------- QoS


def _resources(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None) -> object:
    return core_pb2.ResourceRequirements(requests=quantities(**(requests or {})),
                                         limits=quantities(**(limits or {})))


@pytest.mark.parametrize(("containers", "qos"), [
    ([{}], "BestEffort"),
    ([{"requests": {"cpu": "0"}}], "BestEffort"),
    ([{"requests": {"cpu": "100m"}}], "Burstable"),
    ([{"limits": {"cpu": "1"}}], "Burstable"),
    ([{"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
    ([{"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}], "Burstable"),
    ([{"requests": {"cpu": "1000m", "memory": "1024Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}], "Guaranteed"),
    ([{"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}, {}], "Burstable"),
    ([{"requests": {"ephemeral-storage": "1Gi"}}], "BestEffort"),
])
def test_qos_class_is_computed_from_cpu_and_memory(containers: list[dict[str, dict[str, str]]], qos: str) -> None:
    spec = core_pb2.PodSpec(containers=[
        container(f"c{i}", resources=_resources(c.get("requests"), c.get("limits")))
        for i, c in enumerate(containers)])
    assert pod_qos_class(spec) == qos


def test_a_pod_with_only_limits_is_guaranteed_once_defaulted() -> None:
    obj = defaulted(pod(container(resources=_resources(limits={"cpu": "1", "memory": "256Mi"}))))
    assert pod_qos_class(obj.spec) == "Guaranteed"  # type: ignore[attr-defined]


def test_init_containers_count_towards_qos() -> None:
    spec = core_pb2.PodSpec(containers=[container()],
                            init_containers=[container("init", resources=_resources(requests={"memory": "1Mi"}))])
    assert pod_qos_class(spec) == "Burstable"


# ---------------------------------------------------------------------------------------- Service


def service(**spec: object) -> core_pb2.Service:
    return core_pb2.Service(metadata=meta_pb2.ObjectMeta(name="web", namespace="default"),
                            spec=core_pb2.ServiceSpec(**spec))  # type: ignore[arg-type]


def test_cluster_ip_service_defaults() -> None:
    spec = defaulted(service(ports=[core_pb2.ServicePort(port=80)])).spec  # type: ignore[attr-defined]
    assert (spec.type, spec.session_affinity, spec.internal_traffic_policy) == ("ClusterIP", "None", "Cluster")
    assert (spec.ports[0].protocol, spec.ports[0].target_port.int_val) == ("TCP", 80)
    assert (list(spec.ip_families), spec.ip_family_policy) == (["IPv4"], "SingleStack")
    assert spec.external_traffic_policy == ""
    assert not spec.HasField("allocate_load_balancer_node_ports")


def test_named_target_port_is_kept() -> None:
    port = core_pb2.ServicePort(port=80, target_port=meta_pb2.IntOrString(str_val="http"), protocol="UDP")
    spec = defaulted(service(ports=[port])).spec  # type: ignore[attr-defined]
    assert (spec.ports[0].target_port.str_val, spec.ports[0].protocol) == ("http", "UDP")


@pytest.mark.parametrize(("service_type", "external_policy", "allocate"), [
    ("NodePort", "Cluster", None),
    ("LoadBalancer", "Cluster", True),
])
def test_externally_reachable_services_get_an_external_traffic_policy(service_type: str, external_policy: str,
                                                                      allocate: bool | None) -> None:
    spec = defaulted(service(type=service_type, ports=[core_pb2.ServicePort(port=80)])).spec  # type: ignore[attr-defined]
    assert spec.external_traffic_policy == external_policy
    assert (spec.allocate_load_balancer_node_ports if spec.HasField("allocate_load_balancer_node_ports")
            else None) == allocate


def test_external_name_services_get_no_ip_families() -> None:
    spec = defaulted(service(type="ExternalName", external_name="db.example.com")).spec  # type: ignore[attr-defined]
    assert not spec.ip_families and not spec.ip_family_policy and not spec.internal_traffic_policy


def test_client_ip_affinity_gets_three_hours_and_none_affinity_loses_its_config() -> None:
    sticky = defaulted(service(session_affinity="ClientIP")).spec  # type: ignore[attr-defined]
    assert sticky.session_affinity_config.client_ip.timeout_seconds == 10800
    plain = defaulted(service(session_affinity_config=core_pb2.SessionAffinityConfig(
        client_ip=core_pb2.ClientIPConfig(timeout_seconds=60)))).spec  # type: ignore[attr-defined]
    assert not plain.HasField("session_affinity_config")


# ---------------------------------------------------------------------------------------- workloads


def template(*containers: core_pb2.Container) -> core_pb2.PodTemplateSpec:
    return core_pb2.PodTemplateSpec(metadata=meta_pb2.ObjectMeta(labels={"app": "web"}),
                                    spec=core_pb2.PodSpec(containers=list(containers)))


def test_deployment_defaults() -> None:
    spec = defaulted(apps_pb2.Deployment(metadata=meta_pb2.ObjectMeta(name="web"), spec=apps_pb2.DeploymentSpec(
        template=template(container())))).spec  # type: ignore[attr-defined]
    assert (spec.replicas, spec.revision_history_limit, spec.progress_deadline_seconds) == (1, 10, 600)
    assert spec.strategy.type == "RollingUpdate"
    assert (spec.strategy.rolling_update.max_unavailable.str_val,
            spec.strategy.rolling_update.max_surge.str_val) == ("25%", "25%")
    assert spec.template.spec.restart_policy == "Always"
    assert spec.template.spec.containers[0].image_pull_policy == "IfNotPresent"


def test_pod_only_defaults_are_not_applied_to_templates() -> None:
    app = container(resources=_resources(limits={"cpu": "1"}))
    spec = defaulted(apps_pb2.Deployment(spec=apps_pb2.DeploymentSpec(template=template(app)))).spec  # type: ignore[attr-defined]
    assert not spec.template.spec.tolerations
    assert not spec.template.spec.HasField("enable_service_links")
    assert not spec.template.spec.containers[0].resources.requests


def test_deployment_keeps_explicit_zero_replicas_and_surge() -> None:
    rolling = apps_pb2.RollingUpdateDeployment(max_surge=meta_pb2.IntOrString(int_val=0))
    spec = defaulted(apps_pb2.Deployment(spec=apps_pb2.DeploymentSpec(
        replicas=0, strategy=apps_pb2.DeploymentStrategy(rolling_update=rolling)))).spec  # type: ignore[attr-defined]
    assert spec.replicas == 0
    assert spec.strategy.rolling_update.max_surge.WhichOneof("value") == "int_val"
    assert spec.strategy.rolling_update.max_unavailable.str_val == "25%"


def test_recreate_deployments_get_no_rolling_update() -> None:
    spec = defaulted(apps_pb2.Deployment(spec=apps_pb2.DeploymentSpec(
        strategy=apps_pb2.DeploymentStrategy(type="Recreate")))).spec  # type: ignore[attr-defined]
    assert not spec.strategy.HasField("rolling_update")


def test_replica_set_defaults() -> None:
    spec = defaulted(apps_pb2.ReplicaSet(spec=apps_pb2.ReplicaSetSpec(
        template=template(container())))).spec  # type: ignore[attr-defined]
    assert spec.replicas == 1
    assert spec.template.spec.dns_policy == "ClusterFirst"


def test_stateful_set_defaults() -> None:
    claim = core_pb2.PersistentVolumeClaim(metadata=meta_pb2.ObjectMeta(name="data"))
    spec = defaulted(apps_pb2.StatefulSet(spec=apps_pb2.StatefulSetSpec(
        template=template(container()), volume_claim_templates=[claim]))).spec  # type: ignore[attr-defined]
    assert (spec.replicas, spec.pod_management_policy, spec.revision_history_limit) == (1, "OrderedReady", 10)
    assert spec.update_strategy.type == "RollingUpdate"
    assert spec.update_strategy.rolling_update.HasField("partition")
    assert spec.update_strategy.rolling_update.partition == 0
    retention = spec.persistent_volume_claim_retention_policy
    assert (retention.when_deleted, retention.when_scaled) == ("Retain", "Retain")
    assert spec.volume_claim_templates[0].spec.volume_mode == "Filesystem"
    assert spec.template.spec.scheduler_name == "default-scheduler"


def test_stateful_set_on_delete_strategy_gets_no_partition() -> None:
    spec = defaulted(apps_pb2.StatefulSet(spec=apps_pb2.StatefulSetSpec(
        update_strategy=apps_pb2.StatefulSetUpdateStrategy(type="OnDelete")))).spec  # type: ignore[attr-defined]
    assert not spec.update_strategy.HasField("rolling_update")


# ---------------------------------------------------------------------------------------- the rest


def test_namespace_gets_its_name_label_and_the_kubernetes_finalizer() -> None:
    namespace = defaulted(core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name="team-a")))
    assert namespace.metadata.labels["kubernetes.io/metadata.name"] == "team-a"  # type: ignore[attr-defined]
    assert list(namespace.spec.finalizers) == ["kubernetes"]  # type: ignore[attr-defined]


def test_a_terminating_namespace_does_not_get_its_finalizer_back() -> None:
    namespace = defaulted(core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(
        name="team-a", deletion_timestamp="2024-01-01T00:00:00Z")))
    assert not namespace.spec.finalizers  # type: ignore[attr-defined]


DefaultCase = tuple[Message, Callable[[Message], object], object]


@pytest.mark.parametrize(("obj", "read", "expected"), [
    (core_pb2.Secret(), lambda o: o.type, "Opaque"),
    (core_pb2.Secret(type="kubernetes.io/tls"), lambda o: o.type, "kubernetes.io/tls"),
    (core_pb2.PersistentVolumeClaim(), lambda o: o.spec.volume_mode, "Filesystem"),
    (core_pb2.PersistentVolume(), lambda o: (o.spec.persistent_volume_reclaim_policy, o.spec.volume_mode),
     ("Retain", "Filesystem")),
    (storage_pb2.StorageClass(provisioner="kubelab.io/hostpath"),
     lambda o: (o.reclaim_policy, o.volume_binding_mode), ("Delete", "Immediate")),
    (core_pb2.Endpoints(subsets=[core_pb2.EndpointSubset(ports=[core_pb2.EndpointPort(port=80)])]),
     lambda o: o.subsets[0].ports[0].protocol, "TCP"),
    (discovery_pb2.EndpointSlice(ports=[discovery_pb2.EndpointSlicePort(port=80)]),
     lambda o: (o.ports[0].protocol, o.ports[0].HasField("name")), ("TCP", True)),
    (networking_pb2.IngressClass(spec=networking_pb2.IngressClassSpec(
        parameters=networking_pb2.IngressClassParametersReference(kind="Params", name="p"))),
     lambda o: o.spec.parameters.scope, "Cluster"),
    (core_pb2.Node(status=core_pb2.NodeStatus(capacity=quantities(cpu="2", memory="4Gi"))),
     lambda o: {k: v.string for k, v in o.status.allocatable.items()}, {"cpu": "2", "memory": "4Gi"}),
])
def test_other_kinds_get_their_defaults(obj: Message, read: Callable[[Message], object], expected: object) -> None:
    assert read(defaulted(obj)) == expected


def _everything() -> list[Message]:
    probe = core_pb2.Probe(http_get=core_pb2.HTTPGetAction(port=meta_pb2.IntOrString(int_val=80)))
    app = container(ports=[core_pb2.ContainerPort(container_port=80)], liveness_probe=probe,
                    resources=_resources(limits={"cpu": "1"}))
    return [
        pod(app, volumes=[core_pb2.Volume(name="v")]),
        service(type="LoadBalancer", session_affinity="ClientIP", ports=[core_pb2.ServicePort(port=80)]),
        apps_pb2.Deployment(spec=apps_pb2.DeploymentSpec(template=template(app))),
        apps_pb2.ReplicaSet(spec=apps_pb2.ReplicaSetSpec(template=template(app))),
        apps_pb2.StatefulSet(spec=apps_pb2.StatefulSetSpec(template=template(app), volume_claim_templates=[
            core_pb2.PersistentVolumeClaim(metadata=meta_pb2.ObjectMeta(name="data"))])),
        core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name="ns")),
        core_pb2.Secret(), core_pb2.PersistentVolume(), core_pb2.PersistentVolumeClaim(),
        storage_pb2.StorageClass(), core_pb2.ConfigMap(), networking_pb2.Ingress(),
        core_pb2.Endpoints(subsets=[core_pb2.EndpointSubset(ports=[core_pb2.EndpointPort(port=80)])]),
        discovery_pb2.EndpointSlice(ports=[discovery_pb2.EndpointSlicePort(port=80)]),
        core_pb2.Node(status=core_pb2.NodeStatus(capacity=quantities(cpu="2"))),
    ]


@pytest.mark.parametrize("obj", _everything(), ids=lambda o: o.DESCRIPTOR.name)
def test_defaulting_twice_changes_nothing_more(obj: Message) -> None:
    once = defaulted(obj)
    twice = type(once)()
    twice.CopyFrom(once)
    assert defaulted(twice) == once
