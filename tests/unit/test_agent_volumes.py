"""Pod volumes on the node: written as the kubelet writes them, mounted where containers ask."""

import asyncio
from pathlib import Path

import pytest
from google.protobuf.message import Message

from agent.volumes import VolumeError, container_mounts, prepare_volumes
from controlplane.api import codec
from controlplane.api.v1 import core_pb2

OBJECTS = {
    ("ConfigMap", "cfg"): {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"},
                           "data": {"app.conf": "color=blue\n", "other": "x"}},
    ("Secret", "sec"): {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"},
                        "data": {"password": "czNjcmV0"}},
}


async def _fetch(kind: str, name: str) -> Message | None:
    document = OBJECTS.get((kind, name))
    return codec.decode_object(document) if document else None


def _pod(volumes: list[dict], mounts: list[dict]) -> core_pb2.Pod:
    return codec.decode_object({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default", "labels": {"a": "b"}},
        "spec": {"volumes": volumes, "containers": [{"name": "web", "image": "busybox", "volumeMounts": mounts}]}})


def test_config_map_secret_empty_dir_and_downward_api(tmp_path: Path) -> None:
    pod = _pod([{"name": "config", "configMap": {"name": "cfg", "items": [{"key": "app.conf", "path": "conf/app.conf",
                                                                            "mode": 0o600}]}},
                {"name": "secret", "secret": {"secretName": "sec", "defaultMode": 0o400}},
                {"name": "scratch", "emptyDir": {}},
                {"name": "info", "downwardAPI": {"items": [{"path": "labels",
                                                            "fieldRef": {"fieldPath": "metadata.labels"}}]}}],
               [{"name": "config", "mountPath": "/etc/app"}, {"name": "scratch", "mountPath": "/data",
                                                               "subPath": "cache"},
                {"name": "secret", "mountPath": "/secrets"}])
    volumes = asyncio.run(prepare_volumes(pod, tmp_path, _fetch))
    config = volumes["config"].path
    assert (config / "conf" / "app.conf").read_text() == "color=blue\n"
    assert not (config / "other").exists(), "items select keys"
    assert (config / "conf" / "app.conf").stat().st_mode & 0o777 == 0o600
    assert (config / "..data").is_symlink()
    secret = volumes["secret"].path / "password"
    assert secret.read_bytes() == b"s3cret" and secret.stat().st_mode & 0o777 == 0o400
    assert (volumes["info"].path / "labels").read_text() == 'a="b"'
    mounts = container_mounts(pod.spec.containers[0], volumes)
    assert [(m.target, m.read_only) for m in mounts] == [("/etc/app", True), ("/data", False), ("/secrets", True)]
    assert mounts[1].source == volumes["scratch"].path / "cache" and mounts[1].source.is_dir()


def test_updated_config_map_is_swapped_in_atomically(tmp_path: Path) -> None:
    pod = _pod([{"name": "config", "configMap": {"name": "cfg"}}], [])
    asyncio.run(prepare_volumes(pod, tmp_path, _fetch))
    OBJECTS[("ConfigMap", "cfg")]["data"] = {"app.conf": "color=red\n"}
    try:
        volumes = asyncio.run(prepare_volumes(pod, tmp_path, _fetch))
    finally:
        OBJECTS[("ConfigMap", "cfg")]["data"] = {"app.conf": "color=blue\n", "other": "x"}
    path = volumes["config"].path
    assert (path / "app.conf").read_text() == "color=red\n"
    assert not (path / "other").exists()
    assert len([p for p in path.iterdir() if p.name.startswith("..2")]) == 1, "the old generation is gone"


@pytest.mark.parametrize(("volume", "message"), [
    ({"name": "v", "configMap": {"name": "missing"}}, 'configmap "missing" not found'),
    ({"name": "v", "secret": {"secretName": "missing"}}, 'secret "missing" not found'),
    ({"name": "v", "configMap": {"name": "cfg", "items": [{"key": "nope", "path": "x"}]}},
     "configmap references non-existent config key: nope"),
    ({"name": "v", "hostPath": {"path": "/nonexistent/kubelab", "type": "Directory"}}, "hostPath type check failed"),
    ({"name": "v", "persistentVolumeClaim": {"claimName": "data"}}, 'persistentvolumeclaim "data" not found'),
])
def test_volumes_that_cannot_be_made_yet(tmp_path: Path, volume: dict, message: str) -> None:
    with pytest.raises(VolumeError, match=message):
        asyncio.run(prepare_volumes(_pod([volume], []), tmp_path, _fetch))


def test_host_path_directory_or_create(tmp_path: Path) -> None:
    target = tmp_path / "made" / "here"
    volumes = asyncio.run(prepare_volumes(
        _pod([{"name": "h", "hostPath": {"path": str(target), "type": "DirectoryOrCreate"}}], []), tmp_path, _fetch))
    assert volumes["h"].path == target and target.is_dir()
