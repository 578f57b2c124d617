"""`klctl apply`: create what is missing, patch what differs, like kubectl's client-side apply.

The manifest last applied is kept in the `kubectl.kubernetes.io/last-applied-configuration`
annotation. The patch sent holds every field whose manifest value differs from the live one, and a
deletion for every field the previous manifest had and this one no longer has; fields that other
writers own (a cluster IP, status, a label added by hand) are left alone.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.message import Message

from controlplane.api import codec
from controlplane.api.errors import ApiError, Reason
from controlplane.client.api import ApiClient
from controlplane.klctl.manifests import Manifest

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_RETRIES = 5


def changes(live: Any, desired: Any) -> Any:
    """The part of `desired` that differs from `live` (objects compared key by key)."""
    if not isinstance(desired, dict) or not isinstance(live, dict):
        return desired
    patch = {}
    for key, value in desired.items():
        if key not in live:
            patch[key] = value
        elif live[key] != value:
            patch[key] = changes(live[key], value)
    return patch


def deletions(last: Any, desired: Any) -> dict[str, Any]:
    """Nulls for every field `last` had that `desired` dropped."""
    if not isinstance(last, dict) or not isinstance(desired, dict):
        return {}
    patch: dict[str, Any] = {}
    for key, value in last.items():
        if key not in desired:
            patch[key] = None
        elif isinstance(value, dict) and isinstance(desired[key], dict):
            nested = deletions(value, desired[key])
            if nested:
                patch[key] = nested
    return patch


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for key, value in b.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        elif key not in merged:
            merged[key] = value
    return merged


def three_way_patch(last: dict[str, Any] | None, desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    patch = changes(live, desired)
    if last is not None:
        patch = _merge(patch, deletions(last, desired))
    return patch if isinstance(patch, dict) else {}


def desired_document(manifest: Manifest, namespace: str) -> dict[str, Any]:
    """The manifest in canonical form with its namespace, and the annotation recording it."""
    document = codec.encode(manifest.object)
    metadata = document.setdefault("metadata", {})
    if manifest.kind.namespaced:
        metadata["namespace"] = namespace
    annotations = dict(metadata.get("annotations", {}))
    annotations.pop(LAST_APPLIED, None)
    metadata["annotations"] = annotations
    recorded = json.dumps(document, sort_keys=True, separators=(",", ":"))
    annotations[LAST_APPLIED] = recorded + "\n"
    return document


async def apply_one(client: ApiClient, manifest: Manifest, namespace: str) -> tuple[Message, str]:
    """Apply one object; returns it as stored and "created", "configured" or "unchanged"."""
    desired = desired_document(manifest, namespace)
    name = desired["metadata"].get("name", "")
    for _ in range(_RETRIES):
        try:
            live_obj = await client.get(manifest.kind, namespace, name)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
            try:
                return await client.create(codec.decode_object(desired)), "created"
            except ApiError as create_error:
                if create_error.reason is Reason.ALREADY_EXISTS:
                    continue  # someone created it meanwhile: patch it instead
                raise
        live = codec.encode(live_obj)
        recorded = live.get("metadata", {}).get("annotations", {}).get(LAST_APPLIED)
        last = json.loads(recorded) if recorded else None
        patch = three_way_patch(last, desired, live)
        version = live["metadata"]["resourceVersion"]
        patch.setdefault("metadata", {})["resourceVersion"] = version
        try:
            stored = await client.patch(manifest.kind, namespace, name, json.dumps(patch))
        except ApiError as error:
            if error.reason is Reason.CONFLICT:
                continue
            raise
        changed = stored.metadata.resource_version != version  # type: ignore[attr-defined]
        return stored, "configured" if changed else "unchanged"
    raise ApiError(Reason.CONFLICT, f'{manifest.kind.qualified_plural} "{name}" kept changing while applying')
