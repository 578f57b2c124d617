"""The status conditions of a namespace being deleted, in Kubernetes' words. Pure.

Kubernetes' namespace controller keeps five conditions on a Terminating namespace; each is False
with an "all went well" reason until its problem appears. kubelab has no discovery or API groups
to fail, so two of them are always the good ones, as on a healthy Kubernetes cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controlplane.api.v1 import meta_pb2

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
GROUP_VERSION_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
TYPES = (DISCOVERY_FAILURE, GROUP_VERSION_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING, FINALIZERS_REMAINING)

_GOOD = {
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    GROUP_VERSION_FAILURE: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: ("ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}


def problems(remaining: Mapping[str, int], finalizers: Mapping[str, int],
             errors: Sequence[str]) -> dict[str, tuple[str, str]]:
    """type -> (reason, message) of each condition that is True now.

    `remaining`: resource (`pods.`, `deployments.apps`: plural.group, as Kubernetes prints it) ->
    objects still there; `finalizers`: finalizer -> objects still carrying it; `errors`: failures
    to delete, one line each."""
    found: dict[str, tuple[str, str]] = {}
    if errors:
        found[CONTENT_FAILURE] = ("ContentDeletionFailed", f"Failed to delete all resource types, {len(errors)} "
                                  f"remaining: {', '.join(sorted(errors))}")
    counts = sorted(f"{resource} has {count} resource instances" for resource, count in remaining.items() if count)
    if counts:
        found[CONTENT_REMAINING] = ("SomeResourcesRemain", f"Some resources are remaining: {', '.join(counts)}")
    held = sorted(f"{name} in {count} resource instances" for name, count in finalizers.items() if count)
    if held:
        found[FINALIZERS_REMAINING] = ("SomeFinalizersRemain",
                                       f"Some content in the namespace has finalizers remaining: {', '.join(held)}")
    return found


def updated_conditions(current: Sequence[meta_pb2.Condition], found: Mapping[str, tuple[str, str]],
                       now: str) -> list[meta_pb2.Condition] | None:
    """The namespace's conditions with the five set from `found`; None when nothing changes. A
    condition's transition time moves only when its status does."""
    result = [c for c in current if c.type not in TYPES]
    before = {c.type: c for c in current}
    changed = False
    for kind in TYPES:
        status = "True" if kind in found else "False"
        reason, message = found.get(kind, _GOOD[kind])
        old = before.get(kind)
        fresh = meta_pb2.Condition(type=kind, status=status, reason=reason, message=message, last_transition_time=now)
        if old is not None and old.status == status:
            fresh.last_transition_time = old.last_transition_time
        if old is None or (old.status, old.reason, old.message) != (status, reason, message):
            changed = True
        result.append(fresh)
    return result if changed else None
