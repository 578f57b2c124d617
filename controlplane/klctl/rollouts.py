"""What kubectl's workload verbs decide and print, without I/O: the `rollout status` line, the
`rollout history` table, which ReplicaSet `rollout undo` goes back to, the patch it makes, the
container name `create deployment` gives an image, and Go durations (`--timeout=2m30s`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from controlplane.api import codec
from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.controllers import rollout
from controlplane.controllers.templatehash import TEMPLATE_HASH_LABEL, equal_ignoring_hash
from controlplane.klctl.context import UsageError
from controlplane.klctl.printers import tabwrite

# Annotations that stay the Deployment's own when `rollout undo` copies a revision's back.
KEEP_ON_ROLLBACK = (rollout.LAST_APPLIED, rollout.REVISION, rollout.REVISION_HISTORY, rollout.DESIRED_REPLICAS,
                    rollout.MAX_REPLICAS, rollout.ROLLBACK_TO)
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

_DURATION = re.compile(r"((?:\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (`90s`, `2m30s`, `1h`, `0`); a bare number is seconds, as kubectl allows."""
    if re.fullmatch(r"\d+", text):
        return float(text)
    if _DURATION.fullmatch(text) is None:
        raise UsageError(f'invalid duration "{text}": use a number with a unit, e.g. 30s, 5m, 1h')
    return sum(float(number) * _UNITS[unit] for number, unit in _DURATION_PART.findall(text))


def status_line(deployment: apps_pb2.Deployment) -> tuple[str, bool]:
    """(the line `rollout status` prints, whether the rollout is done); UsageError past the deadline."""
    name = deployment.metadata.name
    status = deployment.status
    if deployment.metadata.generation > status.observed_generation:
        return "Waiting for deployment spec update to be observed...", False
    progressing = next((c for c in status.conditions if c.type == rollout.PROGRESSING), None)
    if progressing is not None and progressing.reason == rollout.TIMED_OUT:
        raise UsageError(f'deployment "{name}" exceeded its progress deadline')
    desired = rollout.replicas(deployment.spec)
    prefix = f'Waiting for deployment "{name}" rollout to finish: '
    if status.updated_replicas < desired:
        return f"{prefix}{status.updated_replicas} out of {desired} new replicas have been updated...", False
    if status.replicas > status.updated_replicas:
        return f"{prefix}{status.replicas - status.updated_replicas} old replicas are pending termination...", False
    if status.available_replicas < status.updated_replicas:
        return (f"{prefix}{status.available_replicas} of {status.updated_replicas} updated replicas are "
                "available..."), False
    return f'deployment "{name}" successfully rolled out', True


def history_table(sets: Sequence[apps_pb2.ReplicaSet]) -> str:
    """`REVISION  CHANGE-CAUSE` and a row per revision, oldest first."""
    by_revision: dict[int, apps_pb2.ReplicaSet] = {}
    for rs in sets:
        number = rollout.revision(rs)
        if number is not None:
            by_revision[number] = rs
    rows = ["REVISION\tCHANGE-CAUSE"]
    for number in sorted(by_revision):
        cause = by_revision[number].metadata.annotations.get(rollout.CHANGE_CAUSE, "") or "<none>"
        rows.append(f"{number}\t{cause}")
    return tabwrite("\n".join(rows) + "\n", min_width=0, padding=2)


def revision_set(sets: Sequence[apps_pb2.ReplicaSet], to_revision: int, deployment_name: str) -> apps_pb2.ReplicaSet:
    """The ReplicaSet of revision `to_revision`, or (0) the one before the latest (deploymentRevision)."""
    if to_revision > 0:
        for rs in sets:
            if rollout.revision(rs) == to_revision:
                return rs
        raise UsageError(f"unable to find specified revision {to_revision} in history")
    numbered = sorted(((number, rs) for rs in sets if (number := rollout.revision(rs)) is not None),
                      key=lambda pair: pair[0])
    if len(numbered) < 2:
        raise UsageError(f'no rollout history found for deployment "{deployment_name}"')
    return numbered[-2][1]


def rollback_patch(deployment: apps_pb2.Deployment, target: apps_pb2.ReplicaSet) -> list[dict[str, object]] | None:
    """The JSON patch that puts the revision's template (and annotations) back; None when the
    Deployment already runs that template."""
    if equal_ignoring_hash(target.spec.template, deployment.spec.template):
        return None
    template = core_pb2.PodTemplateSpec()
    template.CopyFrom(target.spec.template)
    template.metadata.labels.pop(TEMPLATE_HASH_LABEL, None)
    annotations = {key: value for key, value in deployment.metadata.annotations.items() if key in KEEP_ON_ROLLBACK}
    annotations.update({key: value for key, value in target.metadata.annotations.items()
                        if key not in KEEP_ON_ROLLBACK})
    return [{"op": "replace", "path": "/spec/template", "value": codec.encode(template)},
            {"op": "replace", "path": "/metadata/annotations", "value": annotations}]


def container_name(image: str, suffix: str) -> str:
    """The container name `create deployment --image` derives: the image's last path part without
    its tag or digest; one with `_` or `.` gets them as `-` and `suffix` (5 random characters)
    appended (kubectl's sanitizeAndUniquify)."""
    name = image.rsplit("/", 1)[-1]
    name = name.split(":", 1)[0].split("@", 1)[0]
    if "_" in name or "." in name:
        name = f"{name.replace('_', '-').replace('.', '-')}-{suffix}"
    return name
