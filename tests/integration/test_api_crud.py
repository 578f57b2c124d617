"""CRUD and the object lifecycle, against a real `kubelab apiserver` process."""

from __future__ import annotations

import ipaddress
import re

import pytest

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.client import ApiClient
from tests.support.samples import SAMPLES, sample


async def _create(api: ApiClient, kind: str, **changes: object):
    document = sample(kind)
    document.update(changes)
    return await api.create(codec.decode_object(document))


def _namespace(obj) -> str:
    return obj.metadata.namespace


@pytest.mark.parametrize("kind_name", sorted(SAMPLES))
async def test_every_kind_can_be_created_read_listed_updated_patched_and_deleted(
        api: ApiClient, kind_name: str) -> None:
    kind = kinds.by_kind(kind_name)
    created = await _create(api, kind_name)
    meta = created.metadata
    assert meta.uid and meta.creation_timestamp.endswith("Z") and int(meta.resource_version) > 0
    assert (_namespace(created) != "") == kind.namespaced

    fetched = await api.get(kind, _namespace(created), meta.name)
    assert fetched == created

    items, list_version = await api.list(kind, _namespace(created))
    assert meta.name in [i.metadata.name for i in items]
    assert int(list_version) >= int(meta.resource_version)

    fetched.metadata.labels["changed"] = "yes"
    updated = await api.update(fetched)
    assert updated.metadata.labels["changed"] == "yes"
    assert int(updated.metadata.resource_version) > int(meta.resource_version)

    patched = await api.patch(kind, _namespace(created), meta.name, '{"metadata":{"annotations":{"note":"hi"}}}')
    assert patched.metadata.annotations["note"] == "hi" and patched.metadata.labels["changed"] == "yes"

    deleted, pending = await api.delete(kind, _namespace(created), meta.name)
    if kind_name == "Namespace":
        # The namespace controller empties it first; until then it is Terminating.
        assert pending and deleted.status.phase == "Terminating" and deleted.metadata.deletion_timestamp
        return
    assert not pending
    with pytest.raises(ApiError) as missing:
        await api.get(kind, _namespace(created), meta.name)
    assert missing.value.reason is Reason.NOT_FOUND
    assert missing.value.message == f'{kind.qualified_plural} "{meta.name}" not found'


async def test_a_fresh_cluster_has_the_system_namespaces_and_the_kubernetes_service(api: ApiClient) -> None:
    namespaces, _ = await api.list(kinds.by_kind("Namespace"))
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= {n.metadata.name for n in namespaces}
    service = await api.get(kinds.by_kind("Service"), "default", "kubernetes")
    assert service.spec.cluster_ip == "10.96.0.1"
    endpoints = await api.get(kinds.by_kind("Endpoints"), "default", "kubernetes")
    assert endpoints.subsets[0].addresses[0].ip == "127.0.0.1"


async def test_create_of_an_existing_name_is_refused(api: ApiClient) -> None:
    await _create(api, "ConfigMap")
    with pytest.raises(ApiError) as refused:
        await _create(api, "ConfigMap")
    assert refused.value.reason is Reason.ALREADY_EXISTS
    assert refused.value.message == 'configmaps "app-config" already exists'


async def test_stale_resource_version_is_a_conflict_and_changes_nothing(api: ApiClient) -> None:
    kind = kinds.by_kind("ConfigMap")
    first = await _create(api, "ConfigMap")
    second = await api.get(kind, "default", "app-config")
    first.data["GREETING"] = "from first"
    await api.update(first)
    second.data["GREETING"] = "from second"
    with pytest.raises(ApiError) as refused:
        await api.update(second)
    assert refused.value.reason is Reason.CONFLICT
    assert "the object has been modified" in refused.value.message
    assert (await api.get(kind, "default", "app-config")).data["GREETING"] == "from first"


async def test_generation_follows_spec_changes_only(api: ApiClient) -> None:
    kind = kinds.by_kind("Deployment")
    deployment = await _create(api, "Deployment")
    assert deployment.metadata.generation == 1
    deployment.metadata.labels["team"] = "a"
    deployment = await api.update(deployment)
    assert deployment.metadata.generation == 1
    deployment.spec.replicas = 5
    deployment = await api.update(deployment)
    assert deployment.metadata.generation == 2
    assert (await api.get(kind, "default", "web")).spec.replicas == 5


async def test_update_without_changes_writes_nothing(api: ApiClient) -> None:
    created = await _create(api, "Deployment")
    again = await api.update(created)
    assert again.metadata.resource_version == created.metadata.resource_version


async def test_status_is_written_only_through_the_status_subresource(api: ApiClient) -> None:
    kind = kinds.by_kind("Deployment")
    deployment = await _create(api, "Deployment")
    deployment.status.replicas = 7
    deployment.spec.replicas = 3
    deployment = await api.update(deployment)
    assert deployment.status.replicas == 0 and deployment.spec.replicas == 3
    deployment.status.ready_replicas = 2
    deployment.spec.replicas = 9
    after_status = await api.update_status(deployment)
    assert after_status.status.ready_replicas == 2 and after_status.spec.replicas == 3
    assert (await api.get(kind, "default", "web")).status.ready_replicas == 2


async def test_defaults_are_filled_in_as_kubernetes_does(api: ApiClient) -> None:
    deployment = await _create(api, "Deployment")
    spec = deployment.spec
    assert spec.strategy.type == "RollingUpdate"
    assert spec.strategy.rolling_update.max_surge.str_val == "25%"
    assert spec.strategy.rolling_update.max_unavailable.str_val == "25%"
    assert spec.revision_history_limit == 10 and spec.progress_deadline_seconds == 600
    pod_spec = spec.template.spec
    assert pod_spec.restart_policy == "Always" and pod_spec.termination_grace_period_seconds == 30
    probe = pod_spec.containers[0].readiness_probe
    assert (probe.timeout_seconds, probe.period_seconds, probe.success_threshold, probe.failure_threshold) == (
        1, 10, 1, 3)
    service = await _create(api, "Service")
    assert service.spec.type == "ClusterIP" and service.spec.session_affinity == "None"
    assert service.spec.ports[0].protocol == "TCP"
    assert ipaddress.IPv4Address(service.spec.cluster_ip) in ipaddress.IPv4Network("10.96.0.0/12")


async def test_new_pod_is_pending_with_its_qos_class(api: ApiClient) -> None:
    pod = await _create(api, "Pod")
    assert pod.status.phase == "Pending" and pod.status.qos_class == "BestEffort"


async def test_generate_name_gets_a_random_suffix(api: ApiClient) -> None:
    document = sample("ConfigMap")
    document["metadata"] = {"generateName": "cfg-"}
    made = [await api.create(codec.decode_object(document)) for _ in range(3)]
    names = {m.metadata.name for m in made}
    assert len(names) == 3 and all(n.startswith("cfg-") and len(n) == 9 for n in names)


async def test_node_ports_are_allocated_and_conflicts_refused(api: ApiClient) -> None:
    web = await _create(api, "Service", spec={"type": "NodePort", "selector": {"app": "web"},
                                              "ports": [{"port": 80, "nodePort": 30080}, ]})
    assert web.spec.ports[0].node_port == 30080
    other = sample("Service")
    other["metadata"]["name"] = "other"
    other["spec"].update(type="NodePort")
    auto = await api.create(codec.decode_object(other))
    assert 30000 <= auto.spec.ports[0].node_port <= 32767
    taken = sample("Service")
    taken["metadata"]["name"] = "taken"
    taken["spec"].update(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    with pytest.raises(ApiError) as refused:
        await api.create(codec.decode_object(taken))
    assert refused.value.reason is Reason.INVALID
    assert refused.value.message == ('Service "taken" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                                     "provided port is already allocated")
    taken["spec"]["ports"][0]["nodePort"] = 40000
    with pytest.raises(ApiError, match=re.escape("spec.ports[0].nodePort: Invalid value: 40000: provided port is not "
                                                 "in the valid range. The range of valid ports is 30000-32767")):
        await api.create(codec.decode_object(taken))
    await api.delete(kinds.by_kind("Service"), "default", "web")
    taken["spec"]["ports"][0]["nodePort"] = 30080
    assert (await api.create(codec.decode_object(taken))).spec.ports[0].node_port == 30080


async def test_dry_run_stores_nothing(api: ApiClient) -> None:
    document = sample("Service")
    document["spec"].update(type="NodePort", ports=[{"port": 80, "nodePort": 30099}])
    preview = await api.create(codec.decode_object(document), dry_run=True)
    assert preview.spec.cluster_ip
    items, _ = await api.list(kinds.by_kind("Service"), "default")
    assert [i.metadata.name for i in items] == ["kubernetes"]
    assert (await api.create(codec.decode_object(document))).spec.ports[0].node_port == 30099


async def test_bound_pod_is_deleted_gracefully_then_for_good(api: ApiClient) -> None:
    kind = kinds.by_kind("Pod")
    document = sample("Pod")
    document["spec"] = {**document["spec"], "nodeName": "worker1", "terminationGracePeriodSeconds": 20}
    await api.create(codec.decode_object(document))
    marked, pending = await api.delete(kind, "default", "web-0")
    assert pending and marked.metadata.deletion_grace_period_seconds == 20 and marked.metadata.deletion_timestamp
    still = await api.get(kind, "default", "web-0")
    assert still.metadata.deletion_timestamp
    _, pending = await api.delete(kind, "default", "web-0", grace_period=0)
    assert not pending
    with pytest.raises(ApiError):
        await api.get(kind, "default", "web-0")


async def test_unscheduled_pod_is_deleted_at_once(api: ApiClient) -> None:
    await _create(api, "Pod")
    _, pending = await api.delete(kinds.by_kind("Pod"), "default", "web-0")
    assert not pending


async def test_finalizers_hold_deletion_until_removed(api: ApiClient) -> None:
    kind = kinds.by_kind("ConfigMap")
    document = sample("ConfigMap")
    document["metadata"]["finalizers"] = ["example.com/keep"]
    await api.create(codec.decode_object(document))
    marked, pending = await api.delete(kind, "default", "app-config")
    assert pending and marked.metadata.deletion_timestamp
    marked.metadata.finalizers.append("example.com/another")
    with pytest.raises(ApiError, match="no new finalizers can be added if the object is being deleted"):
        await api.update(marked)
    current = await api.get(kind, "default", "app-config")
    del current.metadata.finalizers[:]
    await api.update(current)
    with pytest.raises(ApiError) as gone:
        await api.get(kind, "default", "app-config")
    assert gone.value.reason is Reason.NOT_FOUND


async def test_orphan_and_foreground_propagation_leave_a_finalizer(api: ApiClient) -> None:
    kind = kinds.by_kind("ReplicaSet")
    await _create(api, "ReplicaSet")
    marked, pending = await api.delete(kind, "default", "web-5d4f8", propagation="Orphan")
    assert pending and list(marked.metadata.finalizers) == ["orphan"]
    await _create(api, "Deployment")
    marked, pending = await api.delete(kinds.by_kind("Deployment"), "default", "web", propagation="Foreground")
    assert pending and list(marked.metadata.finalizers) == ["foregroundDeletion"]


async def test_system_namespaces_cannot_be_deleted(api: ApiClient) -> None:
    with pytest.raises(ApiError) as refused:
        await api.delete(kinds.by_kind("Namespace"), "", "default")
    assert refused.value.reason is Reason.FORBIDDEN


async def test_objects_need_an_existing_namespace_that_is_not_terminating(api: ApiClient) -> None:
    document = sample("ConfigMap")
    document["metadata"]["namespace"] = "nowhere"
    with pytest.raises(ApiError) as refused:
        await api.create(codec.decode_object(document))
    assert refused.value.message == 'namespaces "nowhere" not found'
    await _create(api, "Namespace")
    await api.delete(kinds.by_kind("Namespace"), "", "team-a")
    document["metadata"]["namespace"] = "team-a"
    with pytest.raises(ApiError, match="because it is being terminated"):
        await api.create(codec.decode_object(document))


async def test_merge_and_json_patches(api: ApiClient) -> None:
    kind = kinds.by_kind("Deployment")
    await _create(api, "Deployment")
    merged = await api.patch(kind, "default", "web", '{"spec":{"replicas":4}}')
    assert merged.spec.replicas == 4 and merged.metadata.generation == 2
    patched = await api.patch(kind, "default", "web", '[{"op":"replace","path":"/spec/replicas","value":1}]',
                              patch_type="json")
    assert patched.spec.replicas == 1
    with pytest.raises(ApiError) as refused:
        await api.patch(kind, "default", "web", '{"spec":{"replicas":-1}}')
    assert refused.value.reason is Reason.INVALID and "spec.replicas" in refused.value.message
    with pytest.raises(ApiError, match=re.escape("spec.replicaz: unknown field")):
        await api.patch(kind, "default", "web", '{"spec":{"replicaz":2}}')
    assert (await api.get(kind, "default", "web")).spec.replicas == 1


async def test_changing_a_service_type_drops_and_frees_its_node_ports(api: ApiClient) -> None:
    kind = kinds.by_kind("Service")
    await _create(api, "Service", spec={"type": "NodePort", "selector": {"app": "web"},
                                        "ports": [{"port": 80, "nodePort": 30080}]})
    clusterip = await api.patch(kind, "default", "web", '{"spec":{"type":"ClusterIP"}}')
    assert clusterip.spec.type == "ClusterIP" and clusterip.spec.ports[0].node_port == 0
    reuse = sample("Service")
    reuse["metadata"]["name"] = "reuse"
    reuse["spec"].update(type="NodePort", ports=[{"port": 80, "nodePort": 30080}])
    assert (await api.create(codec.decode_object(reuse))).spec.ports[0].node_port == 30080
