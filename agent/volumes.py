"""Pod volumes made real on the node, and the container mounts that use them.

Each volume becomes a directory (or file) on the node that the runtime bind-mounts at a
container's mountPath. ConfigMap, Secret, downwardAPI and projected volumes are written the way
the kubelet writes them: the files live in a timestamped directory and a `..data` symlink is
swapped atomically, so a container never sees half an update.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import Message

from agent.podenv import ConfigError, field_value
from agent.runtime.interface import Mount
from controlplane.api.v1 import core_pb2

DEFAULT_MODE = 0o644
# (kind, name) -> the object in the pod's namespace (or cluster-scoped), or None.
Fetch = Callable[[str, str], Awaitable[Message | None]]


class VolumeError(Exception):
    """A volume cannot be set up yet: the pod waits, with a FailedMount event carrying this message."""


@dataclass(frozen=True)
class PreparedVolume:
    path: Path
    read_only: bool = False


def _write_projection(target: Path, files: Mapping[str, tuple[bytes, int]]) -> None:
    """Write `files` (relative path -> (content, mode)) under `target` with the kubelet's atomic swap."""
    target.mkdir(parents=True, exist_ok=True)
    stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    fresh = target / stamp
    fresh.mkdir()
    for relative, (content, mode) in files.items():
        path = fresh / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)
    link = target / "..data_tmp"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(stamp)
    old = (target / "..data").resolve() if (target / "..data").is_symlink() else None
    os.replace(link, target / "..data")
    for relative in files:
        top = relative.split("/")[0]
        entry = target / top
        if not entry.is_symlink():
            entry.symlink_to(Path("..data") / top)
    for entry in target.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in {
                r.split("/")[0] for r in files}:
            entry.unlink()
    if old is not None and old != fresh and old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _key_files(data: Mapping[str, bytes], items: list[core_pb2.KeyToPath], default_mode: int, what: str,
               optional: bool) -> dict[str, tuple[bytes, int]]:
    if not items:
        return {key: (value, default_mode) for key, value in data.items()}
    files = {}
    for item in items:
        if item.key not in data:
            if optional:
                continue
            raise VolumeError(f'configmap references non-existent config key: {item.key}' if what == "configmap"
                              else f"references non-existent secret key: {item.key}")
        files[item.path] = (data[item.key], item.mode if item.HasField("mode") else default_mode)
    return files


def _downward_files(pod: core_pb2.Pod, items: list[core_pb2.DownwardAPIVolumeFile],
                    default_mode: int) -> dict[str, tuple[bytes, int]]:
    files = {}
    for item in items:
        if not item.HasField("field_ref"):
            continue  # resourceFieldRef files need container context; kubelab does not write them
        try:
            value = field_value(pod, item.field_ref.field_path)
        except ConfigError as error:
            raise VolumeError(str(error)) from None
        files[item.path] = (value.encode(), item.mode if item.HasField("mode") else default_mode)
    return files


async def _config_map_data(fetch: Fetch, name: str, optional: bool) -> dict[str, bytes] | None:
    config_map = await fetch("ConfigMap", name)
    if not isinstance(config_map, core_pb2.ConfigMap):
        if optional:
            return {}
        raise VolumeError(f'configmap "{name}" not found')
    data = {k: v.encode() for k, v in config_map.data.items()}
    data.update(config_map.binary_data)
    return data


async def _secret_data(fetch: Fetch, name: str, optional: bool) -> dict[str, bytes] | None:
    secret = await fetch("Secret", name)
    if not isinstance(secret, core_pb2.Secret):
        if optional:
            return {}
        raise VolumeError(f'secret "{name}" not found')
    return dict(secret.data)


def _check_host_path(path: Path, kind: str) -> None:
    """hostPath `type` checks and creations, as Kubernetes defines them."""
    if kind == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True, mode=0o755)
    elif kind == "FileOrCreate":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    checks = {"Directory": stat.S_ISDIR, "File": stat.S_ISREG, "Socket": stat.S_ISSOCK,
              "CharDevice": stat.S_ISCHR, "BlockDevice": stat.S_ISBLK}
    if kind in checks:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise VolumeError(f"hostPath type check failed: {path} is not a {kind.lower()}") from None
        if not checks[kind](mode):
            raise VolumeError(f"hostPath type check failed: {path} is not a {kind.lower()}")


async def _claim_path(fetch: Fetch, claim_name: str) -> Path:
    claim = await fetch("PersistentVolumeClaim", claim_name)
    if not isinstance(claim, core_pb2.PersistentVolumeClaim):
        raise VolumeError(f'persistentvolumeclaim "{claim_name}" not found')
    if claim.status.phase != "Bound" or not claim.spec.volume_name:
        raise VolumeError(f'persistentvolumeclaim "{claim_name}" is not bound')
    volume = await fetch("PersistentVolume", claim.spec.volume_name)
    if not isinstance(volume, core_pb2.PersistentVolume):
        raise VolumeError(f'persistentvolume "{claim.spec.volume_name}" not found')
    if volume.spec.HasField("host_path"):
        path = Path(volume.spec.host_path.path)
    elif volume.spec.HasField("local"):
        path = Path(volume.spec.local.path)
    else:
        raise VolumeError(f'persistentvolume "{volume.metadata.name}" has a source the embedded runtime cannot '
                          "mount (use hostPath or local)")
    path.mkdir(parents=True, exist_ok=True)
    return path


async def prepare_volumes(pod: core_pb2.Pod, pod_dir: Path, fetch: Fetch) -> dict[str, PreparedVolume]:
    """Create or refresh every volume of the pod under `pod_dir`; VolumeError when one cannot be made."""
    prepared: dict[str, PreparedVolume] = {}
    for volume in pod.spec.volumes:
        base = pod_dir / "volumes" / volume.name
        if volume.HasField("empty_dir"):
            base.mkdir(parents=True, exist_ok=True)
            base.chmod(0o777)
            prepared[volume.name] = PreparedVolume(base)
        elif volume.HasField("host_path"):
            path = Path(volume.host_path.path)
            _check_host_path(path, volume.host_path.type)
            prepared[volume.name] = PreparedVolume(path)
        elif volume.HasField("config_map"):
            source = volume.config_map
            data = await _config_map_data(fetch, source.name, source.optional)
            mode = source.default_mode if source.HasField("default_mode") else DEFAULT_MODE
            _write_projection(base, _key_files(data or {}, list(source.items), mode, "configmap", source.optional))
            prepared[volume.name] = PreparedVolume(base, read_only=True)
        elif volume.HasField("secret"):
            secret_source = volume.secret
            data = await _secret_data(fetch, secret_source.secret_name, secret_source.optional)
            mode = secret_source.default_mode if secret_source.HasField("default_mode") else DEFAULT_MODE
            _write_projection(base, _key_files(data or {}, list(secret_source.items), mode, "secret",
                                               secret_source.optional))
            prepared[volume.name] = PreparedVolume(base, read_only=True)
        elif volume.HasField("downward_api"):
            downward = volume.downward_api
            mode = downward.default_mode if downward.HasField("default_mode") else DEFAULT_MODE
            _write_projection(base, _downward_files(pod, list(downward.items), mode))
            prepared[volume.name] = PreparedVolume(base, read_only=True)
        elif volume.HasField("projected"):
            projected = volume.projected
            mode = projected.default_mode if projected.HasField("default_mode") else DEFAULT_MODE
            files: dict[str, tuple[bytes, int]] = {}
            for part in projected.sources:
                if part.HasField("config_map"):
                    data = await _config_map_data(fetch, part.config_map.name, part.config_map.optional)
                    files.update(_key_files(data or {}, list(part.config_map.items), mode, "configmap",
                                            part.config_map.optional))
                elif part.HasField("secret"):
                    data = await _secret_data(fetch, part.secret.name, part.secret.optional)
                    files.update(_key_files(data or {}, list(part.secret.items), mode, "secret",
                                            part.secret.optional))
                elif part.HasField("downward_api"):
                    files.update(_downward_files(pod, list(part.downward_api.items), mode))
                # serviceAccountToken: kubelab has no service account tokens; the source is left out.
            _write_projection(base, files)
            prepared[volume.name] = PreparedVolume(base, read_only=True)
        elif volume.HasField("persistent_volume_claim"):
            claim = volume.persistent_volume_claim
            prepared[volume.name] = PreparedVolume(await _claim_path(fetch, claim.claim_name), claim.read_only)
        else:
            raise VolumeError(f'volume "{volume.name}" has a source the embedded runtime cannot mount')
    return prepared


def container_mounts(container: core_pb2.Container, volumes: Mapping[str, PreparedVolume]) -> tuple[Mount, ...]:
    mounts = []
    for mount in container.volume_mounts:
        volume = volumes.get(mount.name)
        if volume is None:
            raise VolumeError(f'volume "{mount.name}" is not prepared')
        source = volume.path / mount.sub_path if mount.sub_path else volume.path
        if mount.sub_path and not source.exists():
            source.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(source=source, target=mount.mount_path, read_only=mount.read_only or volume.read_only))
    return tuple(mounts)
