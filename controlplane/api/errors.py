"""API errors in Kubernetes' shape: a status (what kind of failure) and a one-line message.

`FieldError` is one problem at one field path; `Invalid` aggregates them the way the Kubernetes API
server words a 422: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be ...`.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class Reason(enum.Enum):
    """Kubernetes' StatusReason values that kubelab produces."""

    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    INVALID = "Invalid"
    BAD_REQUEST = "BadRequest"
    FORBIDDEN = "Forbidden"
    EXPIRED = "Expired"
    INTERNAL = "InternalError"
    UNAVAILABLE = "ServiceUnavailable"


class ApiError(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(Reason.NOT_FOUND, f'{resource} "{name}" not found')


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError(Reason.ALREADY_EXISTS, f'{resource} "{name}" already exists')


def conflict(resource: str, name: str, detail: str) -> ApiError:
    return ApiError(Reason.CONFLICT, f'Operation cannot be fulfilled on {resource} "{name}": {detail}')


def bad_request(message: str) -> ApiError:
    return ApiError(Reason.BAD_REQUEST, message)


def forbidden(message: str) -> ApiError:
    return ApiError(Reason.FORBIDDEN, message)


def go_repr(value: object) -> str:
    """A value printed the way Kubernetes' field errors print it (Go's %#v, roughly)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        inner = ", ".join(f"{go_repr(k)}:{go_repr(v)}" for k, v in value.items())
        return "map[string]string{" + inner + "}"
    if isinstance(value, Sequence):
        return "[]string{" + ", ".join(go_repr(v) for v in value) + "}"
    return str(value)


_NO_VALUE = object()


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation failure at one field path."""

    type: str
    field: str
    value: object = dataclasses.field(default=_NO_VALUE, compare=False)
    detail: str = ""

    def __str__(self) -> str:
        parts = [f"{self.field}: {self.type}"]
        if self.value is not _NO_VALUE:
            parts.append(go_repr(self.value))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    @staticmethod
    def required(path: str, detail: str = "") -> FieldError:
        return FieldError("Required value", path, detail=detail)

    @staticmethod
    def invalid(path: str, value: object, detail: str) -> FieldError:
        return FieldError("Invalid value", path, value, detail)

    @staticmethod
    def unsupported(path: str, value: object, supported: Sequence[str]) -> FieldError:
        listed = ", ".join(go_repr(s) for s in sorted(supported))
        return FieldError("Unsupported value", path, value, f"supported values: {listed}")

    @staticmethod
    def duplicate(path: str, value: object) -> FieldError:
        return FieldError("Duplicate value", path, value)

    @staticmethod
    def not_found(path: str, value: object) -> FieldError:
        return FieldError("Not found", path, value)

    @staticmethod
    def forbidden(path: str, detail: str) -> FieldError:
        return FieldError("Forbidden", path, detail=detail)

    @staticmethod
    def too_long(path: str, limit: int) -> FieldError:
        return FieldError("Too long", path, detail=f"may not be more than {limit} bytes")

    @staticmethod
    def immutable(path: str, value: object) -> FieldError:
        return FieldError("Invalid value", path, value, "field is immutable")


def invalid(qualified_kind: str, name: str, errors: Sequence[FieldError]) -> ApiError:
    """The 422 for a refused object, all its field errors on one line."""
    listed = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(str(e) for e in errors) + "]"
    return ApiError(Reason.INVALID, f'{qualified_kind} "{name}" is invalid: {listed}')
