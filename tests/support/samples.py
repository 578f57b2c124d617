"""A valid, tutorial-shaped manifest of every kind, and one mutation that each kind accepts."""

from __future__ import annotations

import copy
from typing import Any

_POD_SPEC: dict[str, Any] = {
    "containers": [{
        "name": "web", "image": "kubelab/demo:1",
        "ports": [{"name": "http", "containerPort": 3000}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
    }],
}
_TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": _POD_SPEC}

SAMPLES: dict[str, dict[str, Any]] = {
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    "Node": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker9", "labels": {"role": "w"}},
             "spec": {"podCIDR": "10.244.9.0/24"}},
    "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "labels": {"app": "web"}},
            "spec": _POD_SPEC},
    "Service": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}},
    "Endpoints": {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"},
                  "subsets": [{"addresses": [{"ip": "10.244.1.5"}], "ports": [{"port": 8080}]}]},
    "EndpointSlice": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": "manual-1", "labels": {"kubernetes.io/service-name": "manual"}},
                      "addressType": "IPv4",
                      "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}}],
                      "ports": [{"name": "", "port": 8080, "protocol": "TCP"}]},
    "ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"},
                  "data": {"GREETING": "hello"}},
    "Secret": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secret"},
               "stringData": {"TOKEN": "s3cret"}},
    "Event": {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web-0.1"},
              "involvedObject": {"kind": "Pod", "name": "web-0", "namespace": "default"},
              "reason": "Scheduled", "message": "Successfully assigned default/web-0 to worker1",
              "type": "Normal", "count": 1, "source": {"component": "default-scheduler"}},
    "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": _TEMPLATE}},
    "ReplicaSet": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-5d4f8"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": _TEMPLATE}},
    "StatefulSet": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "nginx"},
                    "spec": {"serviceName": "nginx", "replicas": 3,
                             "selector": {"matchLabels": {"app": "nginx"}},
                             "template": {"metadata": {"labels": {"app": "nginx"}},
                                          "spec": {"containers": [{
                                              "name": "nginx", "image": "nginx",
                                              "ports": [{"containerPort": 80, "name": "web"}],
                                              "volumeMounts": [{"name": "www",
                                                                "mountPath": "/usr/share/nginx/html"}]}]}},
                             "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                                       "spec": {"accessModes": ["ReadWriteOnce"],
                                                                "resources": {"requests": {"storage": "1Gi"}}}}]}},
    "PersistentVolume": {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv0001"},
                         "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/mnt/data"}}},
    "PersistentVolumeClaim": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                              "spec": {"accessModes": ["ReadWriteOnce"],
                                       "resources": {"requests": {"storage": "1Gi"}}}},
    "StorageClass": {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local"},
                     "provisioner": "kubelab.io/hostpath"},
    "Ingress": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
                "spec": {"rules": [{"host": "foo.example.com", "http": {"paths": [{
                    "path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
    "IngressClass": {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "kubelab"},
                     "spec": {"controller": "kubelab.io/ingress"}},
    "Lease": {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
              "metadata": {"name": "worker1", "namespace": "kube-node-lease"},
              "spec": {"holderIdentity": "worker1", "leaseDurationSeconds": 40}},
}


def sample(kind: str) -> dict[str, Any]:
    return copy.deepcopy(SAMPLES[kind])
