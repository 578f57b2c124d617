"""Objects printed as YAML, JSON or names, the way kubectl prints them (a `List` for several)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml
from google.protobuf.message import Message

from controlplane.api import codec


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def as_document(objects: Sequence[Message], *, single: bool) -> dict[str, Any]:
    if single and len(objects) == 1:
        return codec.encode(objects[0])
    return {"apiVersion": "v1", "items": [codec.encode(o) for o in objects], "kind": "List",
            "metadata": {"resourceVersion": ""}}


def to_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=4, ensure_ascii=False) + "\n"


def render(objects: Sequence[Message], fmt: str, *, single: bool) -> str:
    document = as_document(objects, single=single)
    return to_yaml(document) if fmt == "yaml" else to_json(document)
