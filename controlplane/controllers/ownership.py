"""Claiming dependents, as Kubernetes' ControllerRefManager does: a controller adopts orphans its
selector matches (adds itself as their controller ownerReference) and releases the dependents it
owns that its selector no longer matches (removes that reference); what another controller owns is
never touched. `claim_action` is the pure decision; `Claimer` carries it out with patches that
carry the cached resourceVersion, so a stale view is refused (409) and the sync retried."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from typing import Any

from google.protobuf.message import Message

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.labels import Selector, selector_from_label_selector
from controlplane.api.v1 import meta_pb2
from controlplane.client.api import ApiClient


class Claim(Enum):
    OWNED = "owned"  # ours and matching: keep
    ADOPT = "adopt"  # an orphan we match: make it ours
    RELEASE = "release"  # ours but no longer matching: let go
    IGNORE = "ignore"  # someone else's, or not for us


def controller_of(meta: meta_pb2.ObjectMeta) -> meta_pb2.OwnerReference | None:
    return next((ref for ref in meta.owner_references if ref.controller), None)


def claim_action(owner: meta_pb2.ObjectMeta, dependent: meta_pb2.ObjectMeta, matches: bool) -> Claim:
    reference = controller_of(dependent)
    if reference is not None:
        if reference.uid != owner.uid:
            return Claim.IGNORE
        if matches:
            return Claim.OWNED  # even while the owner is being deleted: keeping takes no action
        return Claim.IGNORE if owner.deletion_timestamp else Claim.RELEASE
    if owner.deletion_timestamp or not matches or dependent.deletion_timestamp:
        return Claim.IGNORE
    if owner.namespace and owner.namespace != dependent.namespace:
        return Claim.IGNORE
    return Claim.ADOPT


def controller_reference(owner: Message) -> meta_pb2.OwnerReference:
    kind = kinds.of_message(owner)
    meta = owner.metadata  # type: ignore[attr-defined]
    return meta_pb2.OwnerReference(api_version=kind.api_version, kind=kind.kind, name=meta.name, uid=meta.uid,
                                   controller=True, block_owner_deletion=True)


def _references_json(references: list[meta_pb2.OwnerReference]) -> list[Any]:
    return [codec.encode(reference) for reference in references]


class Claimer:
    """Claims the dependents of one owner during one sync. Before its first adoption it reads the
    owner fresh from the API server, so that an owner deleted (or replaced by a namesake) since the
    cache saw it adopts nothing (Kubernetes' RecheckDeletionTimestamp)."""

    def __init__(self, client: ApiClient, owner: Message, matches: Callable[[Any], bool]) -> None:
        self.client = client
        self.owner = owner
        self.matches = matches
        self._checked = False

    async def claim(self, dependents: list[Any]) -> list[Any]:
        """The dependents that are ours after adopting and releasing. Failures are raised after
        every dependent was tried (the sync is then retried)."""
        owner_meta = self.owner.metadata  # type: ignore[attr-defined]
        claimed: list[Any] = []
        failure: ApiError | None = None
        for dependent in dependents:
            action = claim_action(owner_meta, dependent.metadata, self.matches(dependent))
            try:
                if action is Claim.OWNED:
                    claimed.append(dependent)
                elif action is Claim.ADOPT:
                    await self._can_adopt()
                    claimed.append(await self._adopt(dependent))
                elif action is Claim.RELEASE:
                    await self._release(dependent)
            except ApiError as error:
                if error.reason is not Reason.NOT_FOUND:
                    failure = failure or error
        if failure is not None:
            raise failure
        return claimed

    async def _can_adopt(self) -> None:
        if self._checked:
            return
        kind = kinds.of_message(self.owner)
        meta = self.owner.metadata  # type: ignore[attr-defined]
        fresh = await self.client.get(kind, meta.namespace, meta.name)
        fresh_meta = fresh.metadata  # type: ignore[attr-defined]
        if fresh_meta.uid != meta.uid:
            raise ApiError(Reason.CONFLICT, f"original {kind.kind} {meta.namespace}/{meta.name} is gone: got uid "
                                            f"{fresh_meta.uid}, wanted {meta.uid}")
        if fresh_meta.deletion_timestamp:
            raise ApiError(Reason.CONFLICT, f"{meta.namespace}/{meta.name} has just been deleted at "
                                            f"{fresh_meta.deletion_timestamp}")
        self._checked = True

    async def _patch_references(self, dependent: Any, references: list[meta_pb2.OwnerReference]) -> Message:
        meta = dependent.metadata
        patch = {"metadata": {"ownerReferences": _references_json(references),
                              "resourceVersion": meta.resource_version}}
        return await self.client.patch(kinds.of_message(dependent), meta.namespace, meta.name, json.dumps(patch))

    async def _adopt(self, dependent: Any) -> Message:
        references = [*dependent.metadata.owner_references, controller_reference(self.owner)]
        return await self._patch_references(dependent, references)

    async def _release(self, dependent: Any) -> None:
        uid = self.owner.metadata.uid  # type: ignore[attr-defined]
        references = [ref for ref in dependent.metadata.owner_references if ref.uid != uid]
        await self._patch_references(dependent, references)


def selector_of(selector: meta_pb2.LabelSelector) -> Selector:
    """A workload's spec.selector as a Selector (SelectorError when it cannot be one)."""
    return selector_from_label_selector(
        selector.match_labels, [(e.key, e.operator, list(e.values)) for e in selector.match_expressions])
