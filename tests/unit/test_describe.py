"""`klctl describe` writes what `kubectl describe` writes: the same sections, words, times and alignment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from google.protobuf.message import Message

from controlplane.api import codec, kinds
from controlplane.api.v1 import core_pb2
from controlplane.klctl.describe import describe, rfc1123z, smart_label

NOW = datetime(2026, 11, 21, 13, 10, 0, tzinfo=UTC)


def load(manifest: str) -> Message:
    return codec.decode_object(yaml.safe_load(manifest))


def described(obj: Message, events: Sequence[core_pb2.Event] = (), related: Sequence[Message] | None = None,
              ) -> str:
    return describe(kinds.of_message(obj), obj, events, now=NOW, related=related)


def event(**fields: Any) -> core_pb2.Event:
    document = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-1.1", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "default"}, **fields}
    found = codec.decode_object(document)
    assert isinstance(found, core_pb2.Event)
    return found


POD = """
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: default
  creationTimestamp: "2026-11-21T13:05:00Z"
  labels: {app: web, pod-template-hash: 7d9f}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", team: blue}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d9f, uid: rs-1, controller: true}]
spec:
  nodeName: kl-worker1
  serviceAccountName: default
  containers:
  - name: web
    image: kubelab/demo:v1
    ports: [{containerPort: 3000, protocol: TCP}]
    env:
    - {name: PORT, value: "3000"}
    - name: POD_NAME
      valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.name}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: password}}
    envFrom:
    - configMapRef: {name: web-config}
    - {prefix: DB_, secretRef: {name: db, optional: true}}
    resources:
      limits: {cpu: 500m, memory: 128Mi}
      requests: {cpu: 250m, memory: 64Mi}
    livenessProbe:
      httpGet: {path: /healthz, port: 3000, scheme: HTTP}
      timeoutSeconds: 1
      periodSeconds: 10
      successThreshold: 1
      failureThreshold: 3
    readinessProbe:
      tcpSocket: {port: 3000}
      initialDelaySeconds: 5
      timeoutSeconds: 1
      periodSeconds: 5
      successThreshold: 1
      failureThreshold: 3
    startupProbe:
      exec: {command: [cat, /tmp/ready]}
      timeoutSeconds: 1
      periodSeconds: 10
      successThreshold: 1
      failureThreshold: 30
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: config, mountPath: /etc/web, readOnly: true, subPath: web.conf}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: web-data}}
  - {name: config, configMap: {name: web-config}}
  tolerations:
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
status:
  phase: Running
  hostIP: 10.240.0.11
  podIP: 10.244.1.5
  podIPs: [{ip: 10.244.1.5}]
  startTime: "2026-11-21T13:05:00Z"
  qosClass: Burstable
  conditions:
  - {type: Ready, status: "True"}
  - {type: PodScheduled, status: "True"}
  containerStatuses:
  - name: web
    ready: true
    restartCount: 2
    image: kubelab/demo:v1
    imageID: kubelab/demo@sha256:0a1b
    containerID: kubelab://4f2e
    state: {running: {startedAt: "2026-11-21T13:08:00Z"}}
    lastState: {terminated: {exitCode: 137, reason: Error, startedAt: "2026-11-21T13:06:00Z",
                             finishedAt: "2026-11-21T13:07:55Z"}}
"""


def test_describe_pod_shows_containers_probes_environment_mounts_and_events() -> None:
    scheduled = event(reason="Scheduled", type="Normal", message="Successfully assigned default/web-1 to kl-worker1",
                      source={"component": "default-scheduler"}, count=1,
                      firstTimestamp="2026-11-21T13:05:00Z", lastTimestamp="2026-11-21T13:05:00Z")
    unhealthy = event(reason="Unhealthy", type="Warning", count=3,
                      message="Liveness probe failed: HTTP probe failed with statuscode: 500",
                      involvedObject={"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
                      source={"component": "kubelet", "host": "kl-worker1"},
                      firstTimestamp="2026-11-21T13:06:00Z", lastTimestamp="2026-11-21T13:09:48Z")
    text = described(load(POD), [unhealthy, scheduled])

    head, containers = text.split("Containers:\n")
    assert head == (
        "Name:             web-1\n"
        "Namespace:        default\n"
        "Service Account:  default\n"
        "Node:             kl-worker1/10.240.0.11\n"
        "Start Time:       Sat, 21 Nov 2026 13:05:00 +0000\n"
        "Labels:           app=web\n"
        "                  pod-template-hash=7d9f\n"
        "Annotations:      team: blue\n"
        "Status:           Running\n"
        "IP:               10.244.1.5\n"
        "IPs:\n"
        "  IP:           10.244.1.5\n"
        "Controlled By:  ReplicaSet/web-7d9f\n")
    container, rest = containers.split("Conditions:\n")
    assert container == (
        "  web:\n"
        "    Container ID:   kubelab://4f2e\n"
        "    Image:          kubelab/demo:v1\n"
        "    Image ID:       kubelab/demo@sha256:0a1b\n"
        "    Port:           3000/TCP\n"
        "    Host Port:      0/TCP\n"
        "    State:          Running\n"
        "      Started:      Sat, 21 Nov 2026 13:08:00 +0000\n"
        "    Last State:     Terminated\n"
        "      Reason:       Error\n"
        "      Exit Code:    137\n"
        "      Started:      Sat, 21 Nov 2026 13:06:00 +0000\n"
        "      Finished:     Sat, 21 Nov 2026 13:07:55 +0000\n"
        "    Ready:          True\n"
        "    Restart Count:  2\n"
        "    Limits:\n"
        "      cpu:     500m\n"
        "      memory:  128Mi\n"
        "    Requests:\n"
        "      cpu:      250m\n"
        "      memory:   64Mi\n"
        "    Liveness:   http-get http://:3000/healthz delay=0s timeout=1s period=10s #success=1 #failure=3\n"
        "    Readiness:  tcp-socket :3000 delay=5s timeout=1s period=5s #success=1 #failure=3\n"
        "    Startup:    exec [cat /tmp/ready] delay=0s timeout=1s period=10s #success=1 #failure=30\n"
        "    Environment Variables from:\n"
        "      web-config  ConfigMap                 Optional: false\n"
        "      db          Secret with prefix 'DB_'  Optional: true\n"
        "    Environment:\n"
        "      PORT:      3000\n"
        "      POD_NAME:  web-1 (v1:metadata.name)\n"
        "      PASSWORD:  <set to the key 'password' in secret 'db'>  Optional: false\n"
        "    Mounts:\n"
        "      /data from data (rw)\n"
        '      /etc/web from config (ro,path="web.conf")\n')
    conditions, events = rest.split("Events:\n")
    assert conditions.splitlines() == [
        "  Type           Status",
        "  Ready          True ",
        "  PodScheduled   True ",
        "Volumes:",
        "  data:",
        "    Type:       PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
        "    ClaimName:  web-data",
        "    ReadOnly:   false",
        "  config:",
        "    Type:        ConfigMap (a volume populated by a ConfigMap)",
        "    Name:        web-config",
        "    Optional:    false",
        "QoS Class:       Burstable",
        "Node-Selectors:  <none>",
        "Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s",
    ]
    assert events == (
        "  Type     Reason     Age               From               Message\n"
        "  ----     ------     ----              ----               -------\n"
        "  Normal   Scheduled  5m                default-scheduler  Successfully assigned default/web-1 to kl-worker1\n"
        "  Warning  Unhealthy  12s (x3 over 4m)  kubelet            "
        "Liveness probe failed: HTTP probe failed with statuscode: 500\n")


SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  type: NodePort
  selector: {app: web}
  clusterIP: 10.96.12.34
  clusterIPs: [10.96.12.34]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  ports:
  - {name: http, port: 80, targetPort: 3000, nodePort: 30080, protocol: TCP}
  - {name: metrics, port: 9090, targetPort: metrics, nodePort: 30090, protocol: TCP}
  sessionAffinity: None
  externalTrafficPolicy: Cluster
"""

ENDPOINTS = """
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: default}
subsets:
- addresses: [{ip: 10.244.1.5}, {ip: 10.244.2.3}]
  ports: [{name: http, port: 3000, protocol: TCP}, {name: metrics, port: 9090, protocol: TCP}]
"""


def test_describe_service_lists_each_port_with_its_endpoints() -> None:
    assert described(load(SERVICE), related=[load(ENDPOINTS)]) == (
        "Name:                     web\n"
        "Namespace:                default\n"
        "Labels:                   app=web\n"
        "Annotations:              <none>\n"
        "Selector:                 app=web\n"
        "Type:                     NodePort\n"
        "IP Family Policy:         SingleStack\n"
        "IP Families:              IPv4\n"
        "IP:                       10.96.12.34\n"
        "IPs:                      10.96.12.34\n"
        "Port:                     http  80/TCP\n"
        "TargetPort:               3000/TCP\n"
        "NodePort:                 http  30080/TCP\n"
        "Endpoints:                10.244.1.5:3000,10.244.2.3:3000\n"
        "Port:                     metrics  9090/TCP\n"
        "TargetPort:               metrics/TCP\n"
        "NodePort:                 metrics  30090/TCP\n"
        "Endpoints:                10.244.1.5:9090,10.244.2.3:9090\n"
        "Session Affinity:         None\n"
        "External Traffic Policy:  Cluster\n"
        "Events:                   <none>\n")


def test_describe_service_leaves_endpoints_out_when_they_were_not_fetched() -> None:
    assert "Endpoints:" not in described(load(SERVICE))
    assert "Endpoints:                <none>\n" in described(load(SERVICE), related=[])


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, uid: d-1, creationTimestamp: "2026-11-21T13:05:00Z"}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 20%, maxSurge: 10%}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "kubelab/demo:v2"}]
status: {replicas: 6, updatedReplicas: 6, readyReplicas: 6, availableReplicas: 6,
         conditions: [{type: Available, status: "True", reason: MinimumReplicasAvailable}]}
"""


def replica_set(name: str, image: str, created: str, replicas: int) -> Message:
    return codec.decode_object({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": created,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": "d-1", "controller": True}]},
        "spec": {"replicas": replicas, "template": {
            "metadata": {"labels": {"app": "web", "pod-template-hash": name.rpartition("-")[2]}},
            "spec": {"containers": [{"name": "web", "image": image}]}}},
        "status": {"replicas": replicas}})


def test_describe_deployment_shows_replicas_strategy_template_and_replica_sets() -> None:
    old = replica_set("web-5c4b", "kubelab/demo:v1", "2026-11-21T13:05:00Z", 0)
    new = replica_set("web-7d9f", "kubelab/demo:v2", "2026-11-21T13:08:00Z", 6)
    text = described(load(DEPLOYMENT), related=[new, old])
    assert text == (
        "Name:                   web\n"
        "Namespace:              default\n"
        "CreationTimestamp:      Sat, 21 Nov 2026 13:05:00 +0000\n"
        "Labels:                 <none>\n"
        "Annotations:            <none>\n"
        "Selector:               app=web\n"
        "Replicas:               6 desired | 6 updated | 6 total | 6 available | 0 unavailable\n"
        "StrategyType:           RollingUpdate\n"
        "MinReadySeconds:        0\n"
        "RollingUpdateStrategy:  20% max unavailable, 10% max surge\n"
        "Pod Template:\n"
        "  Labels:  app=web\n"
        "  Containers:\n"
        "   web:\n"
        "    Image:         kubelab/demo:v2\n"
        "    Port:          <none>\n"
        "    Host Port:     <none>\n"
        "    Environment:   <none>\n"
        "    Mounts:        <none>\n"
        "  Volumes:         <none>\n"
        "  Node-Selectors:  <none>\n"
        "  Tolerations:     <none>\n"
        "Conditions:\n"
        "  Type           Status  Reason\n"
        "  ----           ------  ------\n"
        "  Available      True    MinimumReplicasAvailable\n"
        "OldReplicaSets:  web-5c4b (0/0 replicas created)\n"
        "NewReplicaSet:   web-7d9f (6/6 replicas created)\n"
        "Events:          <none>\n")
    assert "ReplicaSet" not in described(load(DEPLOYMENT))


def test_describe_config_map_and_secret_show_their_data() -> None:
    config_map = load("""
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: default}
data: {PORT: "3000", index.html: "<h1>hi</h1>"}
""")
    assert described(config_map) == (
        "Name:         web-config\n"
        "Namespace:    default\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "\n"
        "Data\n"
        "====\n"
        "PORT:\n"
        "----\n"
        "3000\n"
        "\n"
        "index.html:\n"
        "----\n"
        "<h1>hi</h1>\n"
        "\n"
        "\n"
        "BinaryData\n"
        "====\n"
        "\n"
        "Events:  <none>\n")
    secret = load("""
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: default}
type: Opaque
data: {password: c2VjcmV0, user: YWRtaW4=}
""")
    assert described(secret).endswith(
        "Type:  Opaque\n"
        "\n"
        "Data\n"
        "====\n"
        "password:  6 bytes\n"
        "user:      5 bytes\n"
        "Events:    <none>\n")


def test_kinds_without_a_describer_get_every_field_indented() -> None:
    lease = load("""
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: kl-worker1, namespace: kube-node-lease, uid: l-1}
spec: {holderIdentity: kl-worker1, leaseDurationSeconds: 40}
""")
    assert described(lease) == (
        "Name:         kl-worker1\n"
        "Namespace:    kube-node-lease\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "API Version:  coordination.k8s.io/v1\n"
        "Kind:         Lease\n"
        "Metadata:\n"
        "  UID:  l-1\n"
        "Spec:\n"
        "  Holder Identity:         kl-worker1\n"
        "  Lease Duration Seconds:  40\n"
        "Events:                    <none>\n")


@pytest.mark.parametrize(("field", "label"), [
    ("apiVersion", "API Version"),
    ("holderIdentity", "Holder Identity"),
    ("uid", "UID"),
    ("podCIDRs", "Pod CIDRs"),
    ("podIP", "Pod IP"),
    ("kubernetes.io/role", "kubernetes.io/role"),
])
def test_generic_labels_are_split_like_kubectl(field: str, label: str) -> None:
    assert smart_label(field) == label


@pytest.mark.parametrize(("timestamp", "shown"), [
    ("2026-11-21T13:05:00Z", "Sat, 21 Nov 2026 13:05:00 +0000"),
    ("2026-01-02T03:04:05.678+01:00", "Fri, 02 Jan 2026 03:04:05 +0100"),
    ("", "Mon, 01 Jan 0001 00:00:00 +0000"),
])
def test_times_are_written_as_rfc1123z(timestamp: str, shown: str) -> None:
    assert rfc1123z(timestamp) == shown


def test_describe_node_shows_roles_taints_conditions_and_resources() -> None:
    node = load("""
apiVersion: v1
kind: Node
metadata: {name: kl-master, creationTimestamp: "2026-11-21T12:00:00Z",
           labels: {node-role.kubernetes.io/control-plane: ""}}
spec: {podCIDR: 10.244.0.0/24, taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]}
status:
  capacity: {cpu: "2", memory: 4026160Ki}
  conditions: [{type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status,
                lastHeartbeatTime: "2026-11-21T13:09:00Z", lastTransitionTime: "2026-11-21T12:00:10Z"}]
  addresses: [{type: InternalIP, address: 10.240.0.10}]
  nodeInfo: {kubeletVersion: v1.32.0, architecture: amd64}
""")
    text = described(node)
    assert "Roles:              control-plane\n" in text
    assert "Taints:             node-role.kubernetes.io/control-plane:NoSchedule\n" in text
    assert "Unschedulable:      false\n" in text
    assert ("  Ready   True    Sat, 21 Nov 2026 13:09:00 +0000   Sat, 21 Nov 2026 12:00:10 +0000   KubeletReady   "
            "kubelet is posting ready status\n") in text
    assert "Capacity:\n  cpu:     2\n  memory:  4026160Ki\n" in text
    assert "PodCIDR:                      10.244.0.0/24\n" in text
