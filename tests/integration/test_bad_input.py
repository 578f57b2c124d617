"""Story S7: bad input gets one line naming the field, and nothing is stored or half-applied."""

from __future__ import annotations

import json

import pytest

from tests.support.klctl import Klctl

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: kubelab/demo:1
        ports:
        - containerPort: 3000
        livenessProbe:
          httpGet: {path: /healthz, port: 3000}
          initialDelaySeconds: 5
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - port: 80
    nodePort: 30080
"""
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {A: b}\n"

CASES = {
    "malformed YAML": (CONFIG + "---\n" + DEPLOYMENT.replace("  replicas: 2", "  replicas: 2\n replicas: 3"),
                       "YAML is malformed at line"),
    "unknown field": (CONFIG + "---\n" + DEPLOYMENT.replace("initialDelaySeconds", "initalDelaySeconds"),
                      "spec.template.spec.containers[0].livenessProbe.initalDelaySeconds: unknown field"),
    "invalid name": (DEPLOYMENT.replace("name: web\nspec", "name: Web_App\nspec"), "metadata.name: Invalid value: "
                     '"Web_App": a lowercase RFC 1123 subdomain'),
    "container port out of range": (DEPLOYMENT.replace("containerPort: 3000", "containerPort: 70000"),
                                    "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: "
                                    "must be between 1 and 65535, inclusive"),
    "service port out of range": (SERVICE.replace("port: 80\n", "port: 0\n"),
                                  "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    "nodePort outside the range": (SERVICE.replace("30080", "8080"),
                                   "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid "
                                   "range. The range of valid ports is 30000-32767"),
    "selector not matching the template": (DEPLOYMENT.replace("labels: {app: web}", "labels: {app: api}"),
                                           "spec.template.metadata.labels: Invalid value: "
                                           'map[string]string{"app":"api"}: `selector` does not match template '
                                           "`labels`"),
    "missing referenced ConfigMap": (DEPLOYMENT.replace("        ports:", "        envFrom:\n        - configMapRef: "
                                                        "{name: missing}\n        ports:"),
                                     "spec.template.spec.containers[0].envFrom[0].configMapRef.name: Not found: "
                                     '"missing"'),
    "negative replicas": (DEPLOYMENT.replace("replicas: 2", "replicas: -1"),
                          "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    "missing image": (DEPLOYMENT.replace("        image: kubelab/demo:1\n", ""),
                      "spec.template.spec.containers[0].image: Required value"),
    "wrong type": (DEPLOYMENT.replace("replicas: 2", "replicas: two"), "spec.replicas: expected an integer"),
}


def _everything(klctl: Klctl) -> list[str]:
    names = []
    for kind in ("deploy", "svc", "cm"):
        names += klctl.ok("get", kind, "-A", "-o", "name").split()
    return names


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_naming_the_field_and_stores_nothing(klctl: Klctl, case: str) -> None:
    text, expected = CASES[case]
    before = _everything(klctl)
    result = klctl("apply", "-f", klctl.write("bad.yaml", text))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, f"not one line: {result.stderr!r}"
    assert expected in result.stderr, result.stderr
    assert _everything(klctl) == before


def test_taken_node_port_is_refused_and_the_first_service_keeps_it(klctl: Klctl) -> None:
    klctl.ok("apply", "-f", klctl.write("first.yaml", SERVICE))
    result = klctl("apply", "-f", klctl.write("second.yaml", SERVICE.replace("name: web", "name: web2")))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert ('Service "web2" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already '
            "allocated") in result.stderr
    assert klctl("get", "svc", "web2").returncode == 1
    assert json.loads(klctl.ok("get", "svc", "web", "-o", "json"))["spec"]["ports"][0]["nodePort"] == 30080


def test_refused_update_leaves_the_stored_object_as_it_was(klctl: Klctl) -> None:
    path = klctl.write("app.yaml", DEPLOYMENT)
    klctl.ok("apply", "-f", path)
    before = json.loads(klctl.ok("get", "deploy", "web", "-o", "json"))
    klctl.write("app.yaml", DEPLOYMENT.replace("replicas: 2", "replicas: 4").replace("containerPort: 3000",
                                                                                        "containerPort: 0"))
    result = klctl("apply", "-f", path)
    assert result.returncode == 1 and "containerPort" in result.stderr
    assert json.loads(klctl.ok("get", "deploy", "web", "-o", "json")) == before


def test_a_manifest_with_a_config_map_and_its_consumer_applies_in_dependency_order(klctl: Klctl) -> None:
    consumer = DEPLOYMENT.replace("        ports:", "        envFrom:\n        - configMapRef: {name: settings}\n"
                                                  "        ports:")
    out = klctl.ok("apply", "-f", klctl.write("both.yaml", consumer + "---\n" + CONFIG))
    assert out.splitlines() == ["configmap/settings created", "deployment.apps/web created"]
