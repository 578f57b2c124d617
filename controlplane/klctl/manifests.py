"""Reading manifests: files, directories, `-` for stdin; multi-document YAML or JSON.

Every document is decoded (strictly) before anything is sent, so a typo anywhere in a file stops
the whole command with nothing applied.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.protobuf.message import Message

from controlplane.api import codec, kinds
from controlplane.api.kinds import Kind

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# Objects others refer to go first, so one file can hold a Deployment and the ConfigMap it reads.
_APPLY_ORDER = ("Namespace", "StorageClass", "PersistentVolume", "ConfigMap", "Secret",
                "PersistentVolumeClaim", "Service", "Endpoints", "EndpointSlice", "IngressClass")


class ManifestError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Manifest:
    source: str
    kind: Kind
    object: Message
    document: dict[str, Any]


def _files(path: str, recursive: bool) -> list[tuple[str, str]]:
    """(name, text) of every manifest at `path`."""
    if path == "-":
        return [("STDIN", sys.stdin.read())]
    target = Path(path)
    if target.is_dir():
        pattern = "**/*" if recursive else "*"
        found = sorted(p for p in target.glob(pattern) if p.suffix in _MANIFEST_SUFFIXES and p.is_file())
        return [(str(p), p.read_text()) for p in found]
    try:
        return [(path, target.read_text())]
    except FileNotFoundError:
        raise ManifestError(f'the path "{path}" does not exist') from None
    except OSError as error:
        raise ManifestError(f'the path "{path}" cannot be read: {error.strerror}') from None


def _documents(source: str, text: str) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ManifestError(f"error parsing {source}: YAML is malformed{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ManifestError(f"error parsing {source}: {error}".replace("\n", " ")) from None


def _expand_lists(document: Any) -> list[Any]:
    if isinstance(document, dict) and document.get("kind") == "List" and isinstance(document.get("items"), list):
        return list(document["items"])
    return [document]


def read_manifests(paths: list[str], *, recursive: bool = False) -> list[Manifest]:
    manifests = []
    for path in paths:
        for source, text in _files(path, recursive):
            for document in _documents(source, text):
                for item in _expand_lists(document):
                    try:
                        message = codec.decode_object(item)
                    except codec.DecodeError as error:
                        name = item.get("metadata", {}).get("name") if isinstance(item, dict) else None
                        what = f' ({item.get("kind")} "{name}")' if name else ""
                        raise ManifestError(f"error validating {source}{what}: {error}") from None
                    manifests.append(Manifest(source, kinds.of_message(message), message, item))
    if not manifests:
        raise ManifestError(f"no objects passed to apply (read {', '.join(paths)})")
    return manifests


def in_apply_order(manifests: list[Manifest]) -> list[Manifest]:
    def rank(m: Manifest) -> int:
        return _APPLY_ORDER.index(m.kind.kind) if m.kind.kind in _APPLY_ORDER else len(_APPLY_ORDER)

    return sorted(manifests, key=rank)
