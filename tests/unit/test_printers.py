"""`klctl get` tables print what kubectl 1.32 prints: columns, STATUS and RESTARTS, ports, ages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf.message import Message

from controlplane.api import codec, kinds
from controlplane.klctl import printers

NOW = datetime(2026, 11, 21, 13, 10, 0, tzinfo=UTC)
CREATED = "2026-11-21T13:05:00Z"  # five minutes before NOW


def make(kind: str, spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None, *,
         name: str = "web-1", namespace: str = "default", meta: dict[str, Any] | None = None,
         **fields: Any) -> Message:
    """An object of `kind` as a manifest would give it (`meta` adds to its metadata, `fields` to the top)."""
    kind_info = kinds.by_kind(kind)
    document: dict[str, Any] = {
        "apiVersion": kind_info.api_version, "kind": kind,
        "metadata": {"name": name, "creationTimestamp": CREATED, **(meta or {})}, **fields,
    }
    if kind_info.namespaced:
        document["metadata"]["namespace"] = namespace
    if spec is not None:
        document["spec"] = spec
    if status is not None:
        document["status"] = status
    return codec.decode_object(document)


def lines(text: str) -> list[str]:
    return text.splitlines()


# ------------------------------------------------------------------------------------------------ ages


@pytest.mark.parametrize(("seconds", "shown"), [
    (-5, "<invalid>"),
    (-1.5, "0s"),
    (0, "0s"),
    (59.9, "59s"),
    (119, "119s"),
    (120, "2m"),
    (125, "2m5s"),
    (599, "9m59s"),
    (600, "10m"),
    (179 * 60 + 59, "179m"),
    (3 * 3600, "3h"),
    (3 * 3600 + 60, "3h1m"),
    (8 * 3600 - 1, "7h59m"),
    (8 * 3600, "8h"),
    (47 * 3600 + 3599, "47h"),
    (48 * 3600, "2d"),
    (50 * 3600, "2d2h"),
    (8 * 86400 - 1, "7d23h"),
    (8 * 86400, "8d"),
    (730 * 86400 - 1, "729d"),
    (730 * 86400, "2y"),
    (731 * 86400, "2y1d"),
    (8 * 365 * 86400, "8y"),
    (9 * 365 * 86400 + 86400, "9y"),
])
def test_human_duration_rounds_like_kubectl(seconds: float, shown: str) -> None:
    assert printers.human_duration(seconds) == shown


def test_age_is_unknown_without_a_timestamp_and_counts_from_now_otherwise() -> None:
    assert printers.age("", NOW) == "<unknown>"
    assert printers.age(CREATED, NOW) == "5m"
    assert printers.age("2026-11-21T13:09:30.123456Z", NOW) == "29s"


# ------------------------------------------------------------------------------------------ pod status

RUNNING = {"running": {"startedAt": CREATED}}
CONTAINERS = {"containers": [{"name": "web", "image": "nginx"}]}
WITH_INIT = {"initContainers": [{"name": "setup", "image": "busybox"}], **CONTAINERS}


def container(state: dict[str, Any], ready: bool = False, restarts: int = 0, **more: Any) -> dict[str, Any]:
    return {"name": "web", "image": "nginx", "ready": ready, "restartCount": restarts, "state": state, **more}


POD_CASES = [
    ("running", CONTAINERS, {"phase": "Running", "containerStatuses": [container(RUNNING, ready=True)]},
     {}, "1/1", "Running"),
    ("pending, not scheduled", CONTAINERS, {"phase": "Pending"}, {}, "0/1", "Pending"),
    ("creating", CONTAINERS,
     {"phase": "Pending", "containerStatuses": [container({"waiting": {"reason": "ContainerCreating"}})]},
     {}, "0/1", "ContainerCreating"),
    ("crash looping", CONTAINERS,
     {"phase": "Running", "containerStatuses": [container({"waiting": {"reason": "CrashLoopBackOff"}})]},
     {}, "0/1", "CrashLoopBackOff"),
    ("image missing", CONTAINERS,
     {"phase": "Pending", "containerStatuses": [container({"waiting": {"reason": "ErrImagePull"}})]},
     {}, "0/1", "ErrImagePull"),
    ("completed", CONTAINERS,
     {"phase": "Succeeded",
      "containerStatuses": [container({"terminated": {"exitCode": 0, "reason": "Completed"}})]},
     {}, "0/1", "Completed"),
    ("killed for memory", CONTAINERS,
     {"phase": "Running", "containerStatuses": [container({"terminated": {"exitCode": 137, "reason": "OOMKilled"}})]},
     {}, "0/1", "OOMKilled"),
    ("exit code without reason", CONTAINERS,
     {"phase": "Failed", "containerStatuses": [container({"terminated": {"exitCode": 3}})]},
     {}, "0/1", "ExitCode:3"),
    ("signal without reason", CONTAINERS,
     {"phase": "Failed", "containerStatuses": [container({"terminated": {"exitCode": 137, "signal": 9}})]},
     {}, "0/1", "Signal:9"),
    ("terminating", CONTAINERS, {"phase": "Running", "containerStatuses": [container(RUNNING, ready=True)]},
     {"deletionTimestamp": "2026-11-21T13:09:00Z"}, "1/1", "Terminating"),
    ("node lost while terminating", CONTAINERS,
     {"phase": "Running", "reason": "NodeLost", "containerStatuses": [container(RUNNING, ready=True)]},
     {"deletionTimestamp": "2026-11-21T13:09:00Z"}, "1/1", "Unknown"),
    ("waiting for its init container", WITH_INIT,
     {"phase": "Pending",
      "initContainerStatuses": [{"name": "setup", "state": {"running": {"startedAt": CREATED}}}],
      "containerStatuses": [container({"waiting": {"reason": "PodInitializing"}})]},
     {}, "0/1", "Init:0/1"),
    ("init container crash looping", WITH_INIT,
     {"phase": "Pending",
      "initContainerStatuses": [{"name": "setup", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
     {}, "0/1", "Init:CrashLoopBackOff"),
    ("init container failed", WITH_INIT,
     {"phase": "Pending",
      "initContainerStatuses": [{"name": "setup", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]},
     {}, "0/1", "Init:Error"),
    ("one container done, one still running and ready", {"containers": [{"name": "a"}, {"name": "b"}]},
     {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
      "containerStatuses": [
          {"name": "a", "ready": True, "state": RUNNING},
          {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]},
     {}, "1/2", "Running"),
    ("one container done, one running but the pod not ready", {"containers": [{"name": "a"}, {"name": "b"}]},
     {"phase": "Running", "containerStatuses": [
         {"name": "a", "ready": True, "state": RUNNING},
         {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]},
     {}, "1/2", "NotReady"),
]


@pytest.mark.parametrize(("spec", "status", "metadata", "ready", "shown"),
                         [case[1:] for case in POD_CASES], ids=[case[0] for case in POD_CASES])
def test_pod_ready_and_status_follow_kubectl(spec: dict[str, Any], status: dict[str, Any],
                                             metadata: dict[str, Any], ready: str, shown: str) -> None:
    pod = make("Pod", spec, status, meta=metadata)
    row = lines(printers.table(kinds.by_kind("Pod"), [pod], now=NOW))[1].split()
    assert row[1:3] == [ready, shown]


def test_pod_restarts_say_how_long_ago_the_newest_restart_was() -> None:
    last_state = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-21T13:05:00Z"}}
    older = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-21T13:01:00Z"}}
    pod = make("Pod", {"containers": [{"name": "a"}, {"name": "b"}]}, {"phase": "Running", "containerStatuses": [
        {"name": "a", "ready": True, "restartCount": 3, "state": RUNNING, "lastState": last_state},
        {"name": "b", "ready": True, "restartCount": 2, "state": RUNNING, "lastState": older}]})
    assert printers.pod_status(pod, NOW) == ("2/2", "Running", "5 (5m ago)")  # type: ignore[arg-type]


def test_pod_table_and_its_wide_columns() -> None:
    pod = make("Pod", {"nodeName": "kl-worker1", **CONTAINERS},
               {"phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
                "containerStatuses": [container(RUNNING, ready=True)]})
    assert printers.table(kinds.by_kind("Pod"), [pod], now=NOW) == (
        "NAME    READY   STATUS    RESTARTS   AGE\n"
        "web-1   1/1     Running   0          5m\n")
    assert printers.table(kinds.by_kind("Pod"), [pod], now=NOW, wide=True) == (
        "NAME    READY   STATUS    RESTARTS   AGE   IP           NODE         NOMINATED NODE   READINESS GATES\n"
        "web-1   1/1     Running   0          5m    10.244.1.5   kl-worker1   <none>           <none>\n")


# ------------------------------------------------------------------------------------------- services

SERVICE_CASES = [
    ("cluster IP", {"type": "ClusterIP", "clusterIP": "10.96.0.20", "ports": [{"port": 80, "protocol": "TCP"}]},
     None, "<none>", "80/TCP"),
    ("no ports", {"type": "ClusterIP", "clusterIP": "None"}, None, "<none>", "<none>"),
    ("node port", {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]},
     None, "<none>", "80:30080/TCP"),
    ("several ports", {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                                                      {"name": "dns", "port": 53, "protocol": "UDP"}]},
     None, "<none>", "80/TCP,53/UDP"),
    ("external IPs", {"type": "ClusterIP", "externalIPs": ["192.168.56.10"],
                      "ports": [{"port": 80, "protocol": "TCP"}]}, None, "192.168.56.10", "80/TCP"),
    ("load balancer waiting for an address",
     {"type": "LoadBalancer", "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]},
     None, "<pending>", "80:31000/TCP"),
    ("load balancer with addresses",
     {"type": "LoadBalancer", "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]},
     {"loadBalancer": {"ingress": [{"ip": "10.240.0.100"}, {"hostname": "lb.example.com"}]}},
     "10.240.0.100,lb.example.com", "443:31443/TCP"),
    ("external name", {"type": "ExternalName", "externalName": "db.example.com"}, None, "db.example.com",
     "<none>"),
]


@pytest.mark.parametrize(("spec", "status", "external", "ports"), [case[1:] for case in SERVICE_CASES],
                         ids=[case[0] for case in SERVICE_CASES])
def test_service_external_ip_and_ports(spec: dict[str, Any], status: dict[str, Any] | None, external: str,
                                       ports: str) -> None:
    service = make("Service", spec, status, name="web")
    assert printers.service_external_ip(service) == external  # type: ignore[arg-type]
    row = lines(printers.table(kinds.by_kind("Service"), [service], now=NOW))[1].split()
    assert row[3:5] == [external, ports]


def test_service_table_shows_the_cluster_ip_and_the_selector_when_wide() -> None:
    service = make("Service", {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                               "selector": {"app": "web"}, "ports": [{"port": 443, "protocol": "TCP"}]},
                   name="kubernetes")
    assert printers.table(kinds.by_kind("Service"), [service], now=NOW, wide=True) == (
        "NAME         TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE   SELECTOR\n"
        "kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   5m    app=web\n")


# ---------------------------------------------------------------------------------------- workloads

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "kubelab/demo:v2"}]}}


def test_deployment_row_counts_ready_of_desired() -> None:
    deployment = make("Deployment", {"replicas": 6, "selector": {"matchLabels": {"app": "web"}},
                                     "template": TEMPLATE},
                      {"replicas": 7, "updatedReplicas": 3, "readyReplicas": 5, "availableReplicas": 5}, name="web")
    kind = kinds.by_kind("Deployment")
    assert printers.table(kind, [deployment], now=NOW) == (
        "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "web    5/6     3            5           5m\n")
    assert printers.table(kind, [deployment], now=NOW, wide=True, no_headers=True) == (
        "web   5/6   3     5     5m    web   kubelab/demo:v2   app=web\n")


def test_replica_set_and_stateful_set_rows() -> None:
    selector = {"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["front", "api"]}, {"key": "legacy", "operator": "DoesNotExist"}]}
    rs = make("ReplicaSet", {"replicas": 3, "selector": selector, "template": TEMPLATE},
              {"replicas": 3, "readyReplicas": 2}, name="web-7d9f")
    assert lines(printers.table(kinds.by_kind("ReplicaSet"), [rs], now=NOW, wide=True))[1].split() == [
        "web-7d9f", "3", "3", "2", "5m", "web", "kubelab/demo:v2", "app=web,!legacy,tier", "in", "(api,front)"]
    sts = make("StatefulSet", {"replicas": 3, "serviceName": "db", "selector": selector, "template": TEMPLATE},
               {"replicas": 2, "readyReplicas": 1}, name="db")
    assert printers.table(kinds.by_kind("StatefulSet"), [sts], now=NOW) == (
        "NAME   READY   AGE\n"
        "db     1/3     5m\n")


# ------------------------------------------------------------------------------- namespaces and kinds


def test_all_namespaces_adds_a_namespace_column_first() -> None:
    pods = [make("Pod", CONTAINERS, {"phase": "Pending"}, name="web-1", namespace="default"),
            make("Pod", CONTAINERS, {"phase": "Pending"}, name="coredns-abc", namespace="kube-system")]
    assert printers.table(kinds.by_kind("Pod"), pods, now=NOW, with_namespace=True) == (
        "NAMESPACE     NAME          READY   STATUS    RESTARTS   AGE\n"
        "default       web-1         0/1     Pending   0          5m\n"
        "kube-system   coredns-abc   0/1     Pending   0          5m\n")


def test_get_all_names_rows_with_kind_and_group() -> None:
    pod = make("Pod", CONTAINERS, {"phase": "Pending"})
    deployment = make("Deployment", {"replicas": 1, "template": TEMPLATE}, {}, name="web")
    service = make("Service", {"type": "ClusterIP", "clusterIP": "10.96.0.1"}, name="kubernetes")
    assert lines(printers.table(kinds.by_kind("Pod"), [pod], now=NOW, show_kind=True))[1].startswith("pod/web-1 ")
    assert lines(printers.table(kinds.by_kind("Deployment"), [deployment], now=NOW, show_kind=True))[1] \
        .startswith("deployment.apps/web ")
    assert lines(printers.table(kinds.by_kind("Service"), [service], now=NOW, show_kind=True))[1] \
        .startswith("service/kubernetes ")


@pytest.mark.parametrize(("kind", "name", "line"), [
    ("Pod", "web-1", "pod/web-1"),
    ("Deployment", "web", "deployment.apps/web"),
    ("Service", "web", "service/web"),
    ("StorageClass", "standard", "storageclass.storage.k8s.io/standard"),
    ("Ingress", "web", "ingress.networking.k8s.io/web"),
])
def test_name_output_is_kind_dot_group_slash_name(kind: str, name: str, line: str) -> None:
    assert printers.name_line(kinds.by_kind(kind), make(kind, name=name)) == line


def test_an_empty_list_prints_nothing() -> None:
    assert printers.table(kinds.by_kind("Pod"), [], now=NOW) == ""


# ------------------------------------------------------------------------------------ other kinds


def test_endpoints_list_three_addresses_then_how_many_more() -> None:
    addresses = [{"ip": f"10.244.{i}.5"} for i in (1, 2, 3, 4)]
    full = make("Endpoints", name="web", subsets=[
        {"addresses": addresses, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}])
    empty = make("Endpoints", name="idle")
    assert printers.table(kinds.by_kind("Endpoints"), [full, empty], now=NOW) == (
        "NAME   ENDPOINTS                                               AGE\n"
        "web    10.244.1.5:80,10.244.2.5:80,10.244.3.5:80 + 1 more...   5m\n"
        "idle   <none>                                                  5m\n")


def test_node_status_and_roles() -> None:
    node = make("Node", {"unschedulable": True},
                {"conditions": [{"type": "Ready", "status": "False"}], "nodeInfo": {"kubeletVersion": "v1.32.0"}},
                name="kl-master", meta={"labels": {"node-role.kubernetes.io/control-plane": ""}})
    fresh = make("Node", {}, {}, name="kl-worker1")
    assert printers.table(kinds.by_kind("Node"), [node, fresh], now=NOW) == (
        "NAME         STATUS                        ROLES           AGE   VERSION\n"
        "kl-master    NotReady,SchedulingDisabled   control-plane   5m    v1.32.0\n"
        "kl-worker1   Unknown                       <none>          5m    \n")


def test_storage_class_marks_the_default_and_fills_kubernetes_defaults() -> None:
    sc = make("StorageClass", name="standard", provisioner="kubelab.io/hostpath",
              meta={"annotations": {"storageclass.kubernetes.io/is-default-class": "true"}})
    assert printers.table(kinds.by_kind("StorageClass"), [sc], now=NOW) == (
        "NAME                 PROVISIONER           RECLAIMPOLICY   VOLUMEBINDINGMODE   ALLOWVOLUMEEXPANSION   AGE\n"
        "standard (default)   kubelab.io/hostpath   Delete          Immediate           false                  5m\n")


def test_persistent_volumes_abbreviate_access_modes() -> None:
    pv = make("PersistentVolume", {"capacity": {"storage": "1024Mi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                                   "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "manual",
                                   "claimRef": {"namespace": "default", "name": "data"}},
              {"phase": "Bound"}, name="pv-1")
    assert lines(printers.table(kinds.by_kind("PersistentVolume"), [pv], now=NOW))[1].split() == [
        "pv-1", "1Gi", "RWO,RWX", "Retain", "Bound", "default/data", "manual", "<unset>", "5m"]


def test_events_name_the_object_and_keep_the_newest_time() -> None:
    event = make("Event", name="web-1.17a", involvedObject={"kind": "Pod", "name": "web-1"}, reason="BackOff",
                 type="Warning", message="Back-off restarting failed container\nsecond line", count=4,
                 firstTimestamp="2026-11-21T13:00:00Z", lastTimestamp="2026-11-21T13:09:00Z")
    assert printers.table(kinds.by_kind("Event"), [event], now=NOW, with_namespace=True) == (
        "NAMESPACE   LAST SEEN   TYPE      REASON    OBJECT      MESSAGE\n"
        "default     60s         Warning   BackOff   pod/web-1   Back-off restarting failed container...\n")


def test_tabwrite_pads_columns_to_a_minimum_width() -> None:
    assert printers.tabwrite("A\tB\nlonger\tC\n", min_width=6, padding=3) == "A        B\nlonger   C\n"
    assert printers.tabwrite("x\ty\n", min_width=6, padding=3) == "x     y\n"
