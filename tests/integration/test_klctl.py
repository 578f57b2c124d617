"""klctl as a student uses it: apply, get, describe, delete, create, label, annotate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support.klctl import Klctl

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: kubelab/demo:1
        envFrom:
        - configMapRef: {name: web-config}
        ports:
        - {name: http, containerPort: 3000}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {port: 80, targetPort: http, nodePort: 30080}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  GREETING: hello
"""


def test_apply_creates_then_reports_unchanged_then_configured(klctl: Klctl) -> None:
    path = klctl.write("app.yaml", APP)
    assert klctl.ok("apply", "-f", path).splitlines() == [
        "configmap/web-config created", "service/web created", "deployment.apps/web created"]
    assert klctl.ok("apply", "-f", path).splitlines() == [
        "configmap/web-config unchanged", "service/web unchanged", "deployment.apps/web unchanged"]
    klctl.write("app.yaml", APP.replace("replicas: 3", "replicas: 5"))
    assert "deployment.apps/web configured" in klctl.ok("apply", "-f", path).splitlines()
    deployment = json.loads(klctl.ok("get", "deploy", "web", "-o", "json"))
    assert deployment["spec"]["replicas"] == 5 and deployment["metadata"]["generation"] == 2


def test_apply_keeps_what_others_set_and_drops_what_the_manifest_dropped(klctl: Klctl) -> None:
    path = klctl.write("app.yaml", APP.replace("  labels: {app: web}\nspec:\n  replicas",
                                               "  labels: {app: web, tier: front}\nspec:\n  replicas"))
    klctl.ok("apply", "-f", path)
    service = json.loads(klctl.ok("get", "svc", "web", "-o", "json"))
    klctl.ok("label", "deployment", "web", "owner=ops")
    klctl.write("app.yaml", APP.replace("  labels: {app: web, tier: front}", "  labels: {app: web}"))
    assert "deployment.apps/web configured" in klctl.ok("apply", "-f", path)
    labels = json.loads(klctl.ok("get", "deploy", "web", "-o", "json"))["metadata"]["labels"]
    assert labels == {"app": "web", "owner": "ops"}, "tier was dropped from the manifest; owner was set by hand"
    again = json.loads(klctl.ok("get", "svc", "web", "-o", "json"))
    assert again["spec"]["clusterIP"] == service["spec"]["clusterIP"]


def test_apply_reads_directories_and_stdin(klctl: Klctl) -> None:
    klctl.write("dir/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    klctl.write("dir/b.json", json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}))
    klctl.write("dir/notes.txt", "not a manifest")
    assert klctl.ok("apply", "-f", str(klctl.workdir / "dir")).splitlines() == [
        "configmap/a created", "configmap/b created"]
    assert klctl.ok("apply", "-f", "-", stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").strip() \
        == "configmap/c created"


def test_get_prints_tables_and_every_output_format(klctl: Klctl) -> None:
    klctl.ok("apply", "-f", klctl.write("app.yaml", APP))
    table = klctl.ok("get", "svc").splitlines()
    assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    web = next(line for line in table if line.startswith("web "))
    assert "NodePort" in web and "80:30080/TCP" in web
    assert klctl.ok("get", "deploy,cm", "-o", "name").split() == ["deployment.apps/web", "configmap/web-config"]
    listed = yaml.safe_load(klctl.ok("get", "svc", "-o", "yaml"))
    assert listed["kind"] == "List" and {i["metadata"]["name"] for i in listed["items"]} == {"kubernetes", "web"}
    single = yaml.safe_load(klctl.ok("get", "svc/web", "-o", "yaml"))
    assert single["kind"] == "Service" and single["spec"]["ports"][0]["targetPort"] == "http"
    assert klctl.ok("get", "ns").splitlines()[0].split() == ["NAME", "STATUS", "AGE"]
    wide = klctl.ok("get", "deploy", "-o", "wide").splitlines()[0].split()
    assert wide[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]


def test_get_across_namespaces_and_by_label(klctl: Klctl) -> None:
    klctl.ok("create", "namespace", "team-a")
    klctl.ok("create", "configmap", "x", "--from-literal=a=1")
    klctl.ok("-n", "team-a", "create", "configmap", "y", "--from-literal=a=1")
    klctl.ok("label", "cm", "x", "tier=front")
    every = klctl.ok("get", "cm", "-A").splitlines()
    assert every[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert {tuple(line.split()[:2]) for line in every[1:]} >= {("default", "x"), ("team-a", "y")}
    assert klctl.ok("get", "cm", "-l", "tier=front", "-o", "name").split() == ["configmap/x"]
    nothing = klctl("get", "cm", "-l", "tier=back")
    assert nothing.returncode == 0 and nothing.stderr.strip() == "No resources found in default namespace."


def test_describe_shows_the_object_and_its_events(klctl: Klctl) -> None:
    klctl.ok("apply", "-f", klctl.write("app.yaml", APP))
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
             "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default"},
             "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-5d4f8 to 3", "type": "Normal",
             "count": 1, "source": {"component": "deployment-controller"},
             "lastTimestamp": "2026-01-01T00:00:00Z"}
    klctl.ok("apply", "-f", "-", stdin=json.dumps(event))
    text = klctl.ok("describe", "deployment", "web")
    assert text.splitlines()[0].split() == ["Name:", "web"]
    assert "Events:" in text and "ScalingReplicaSet" in text and "Scaled up replica set web-5d4f8 to 3" in text
    missing = klctl("describe", "deployment", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'


def test_delete_by_name_by_file_and_by_label(klctl: Klctl) -> None:
    path = klctl.write("app.yaml", APP)
    klctl.ok("apply", "-f", path)
    assert klctl.ok("delete", "svc", "web").strip() == 'service "web" deleted'
    assert klctl.ok("delete", "-f", path, "--ignore-not-found").splitlines() == [
        'deployment.apps "web" deleted', 'configmap "web-config" deleted']
    for name in ("a", "b"):
        klctl.ok("create", "configmap", name)
        klctl.ok("label", "cm", name, "group=g")
    assert sorted(klctl.ok("delete", "cm", "-l", "group=g").splitlines()) == [
        'configmap "a" deleted', 'configmap "b" deleted']
    gone = klctl("delete", "cm", "a")
    assert gone.returncode == 1 and gone.stderr.strip() == 'Error from server (NotFound): configmaps "a" not found'


def test_create_namespace_configmap_and_secret(klctl: Klctl) -> None:
    assert klctl.ok("create", "namespace", "team-b").strip() == "namespace/team-b created"
    klctl.write("files/app.properties", "color=blue\n")
    klctl.write("vars.env", "# comment\nMODE=fast\n")
    assert klctl.ok("-n", "team-b", "create", "configmap", "cfg", "--from-literal=GREETING=hi",
                    "--from-file", str(klctl.workdir / "files" / "app.properties"),
                    "--from-env-file", str(klctl.workdir / "vars.env")).strip() == "configmap/cfg created"
    config_map = json.loads(klctl.ok("-n", "team-b", "get", "cm", "cfg", "-o", "json"))
    assert config_map["data"] == {"GREETING": "hi", "app.properties": "color=blue\n", "MODE": "fast"}
    assert klctl.ok("create", "secret", "generic", "creds", "--from-literal=password=s3cret").strip() == \
        "secret/creds created"
    secret = json.loads(klctl.ok("get", "secret", "creds", "-o", "json"))
    assert secret["type"] == "Opaque" and secret["data"] == {"password": "czNjcmV0"}
    preview = yaml.safe_load(klctl.ok("create", "configmap", "draft", "--from-literal=a=b", "--dry-run=client",
                                      "-o", "yaml"))
    assert preview["kind"] == "ConfigMap" and preview["data"] == {"a": "b"}
    assert klctl("get", "cm", "draft").returncode == 1, "a client dry run stores nothing"


def test_label_and_annotate(klctl: Klctl) -> None:
    klctl.ok("create", "configmap", "cfg")
    assert klctl.ok("label", "cm", "cfg", "app=web", "tier=front").strip() == "configmap/cfg labeled"
    refused = klctl("label", "cm", "cfg", "app=db")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: 'app' already has a value (web), and --overwrite is false"
    klctl.ok("label", "cm", "cfg", "app=db", "--overwrite")
    klctl.ok("label", "cm/cfg", "tier-")
    assert json.loads(klctl.ok("get", "cm", "cfg", "-o", "json"))["metadata"]["labels"] == {"app": "db"}
    assert klctl.ok("annotate", "cm", "cfg", "note=hello world").strip() == "configmap/cfg annotated"
    assert json.loads(klctl.ok("get", "cm", "cfg", "-o", "json"))["metadata"]["annotations"] == {
        "note": "hello world"}
    klctl.ok("annotate", "cm", "cfg", "--overwrite", "note=changed")  # a flag between the words, as kubectl takes
    assert json.loads(klctl.ok("get", "cm", "cfg", "-o", "json"))["metadata"]["annotations"] == {"note": "changed"}
    bad = klctl("label", "cm", "cfg", "bad key=x")
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "metadata.labels" in bad.stderr


def test_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    result = Klctl("127.0.0.1:1", tmp_path)("get", "pods")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("The connection to the server 127.0.0.1:1 was refused")


def test_api_resources_and_version(klctl: Klctl) -> None:
    resources = klctl.ok("api-resources").splitlines()
    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert any(line.split()[:3] == ["deployments", "deploy", "apps/v1"] for line in resources)
    assert klctl.ok("version").splitlines()[0].startswith("Client Version: v")


def test_get_watch_prints_changes_as_they_happen(klctl: Klctl) -> None:
    klctl.ok("create", "configmap", "first")
    env = {**os.environ, "KUBELAB_CONFIG": str(klctl.workdir / "no-such-config")}
    watcher = subprocess.Popen([sys.executable, "-m", "controlplane.klctl.main", "--server", klctl.server,
                                "get", "cm", "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    try:
        assert watcher.stdout is not None
        assert watcher.stdout.readline().split()[:3] == ["NAME", "DATA", "AGE"]
        assert watcher.stdout.readline().split()[0] == "first"
        klctl.ok("create", "configmap", "second", "--from-literal=a=b")
        assert watcher.stdout.readline().split()[:2] == ["second", "1"]
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
