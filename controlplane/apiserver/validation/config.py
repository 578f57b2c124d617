"""ConfigMaps and Secrets: their keys, their size, immutability, and the keys a Secret's type needs."""

from __future__ import annotations

import json

from controlplane.api import names
from controlplane.api.errors import FieldError
from controlplane.api.v1 import core_pb2
from controlplane.apiserver.validation.common import immutable, invalid_each, key

MAX_SIZE = 1024 * 1024  # Kubernetes' MaxSecretSize, for ConfigMaps too
IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
REDACTED = "<secret contents redacted>"


def validate_config_map(config_map: core_pb2.ConfigMap) -> list[FieldError]:
    errors: list[FieldError] = []
    size = 0
    for name, value in sorted(config_map.data.items()):
        errors += invalid_each(key("data", name), name, names.config_map_key(name))
        if name in config_map.binary_data:
            errors.append(FieldError.invalid(key("data", name), name, "duplicate of key present in binaryData"))
        size += len(value.encode())
    for name, data in sorted(config_map.binary_data.items()):
        errors += invalid_each(key("binaryData", name), name, names.config_map_key(name))
        size += len(data)
    if size > MAX_SIZE:
        errors.append(FieldError.too_long("", MAX_SIZE))
    return errors


def validate_config_map_update(new: core_pb2.ConfigMap, old: core_pb2.ConfigMap) -> list[FieldError]:
    errors: list[FieldError] = []
    if old.immutable:
        if not new.immutable:
            errors.append(FieldError.forbidden("immutable", IMMUTABLE_WHEN_SET))
        if dict(new.data) != dict(old.data):
            errors.append(FieldError.forbidden("data", IMMUTABLE_WHEN_SET))
        if dict(new.binary_data) != dict(old.binary_data):
            errors.append(FieldError.forbidden("binaryData", IMMUTABLE_WHEN_SET))
    return errors + validate_config_map(new)


def validate_secret(secret: core_pb2.Secret) -> list[FieldError]:
    errors: list[FieldError] = []
    size = 0
    for name, data in sorted(secret.data.items()):
        errors += invalid_each(key("data", name), name, names.config_map_key(name))
        size += len(data)
    if size > MAX_SIZE:
        errors.append(FieldError.too_long("data", MAX_SIZE))
    errors += _typed_keys(secret)
    return errors


def _typed_keys(secret: core_pb2.Secret) -> list[FieldError]:
    """The keys each well-known Secret type must carry."""
    data = secret.data
    if secret.type == "kubernetes.io/service-account-token":
        if not secret.metadata.annotations.get("kubernetes.io/service-account.name"):
            return [FieldError.required(key("metadata.annotations", "kubernetes.io/service-account.name"))]
    elif secret.type in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        config_key = ".dockercfg" if secret.type == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if config_key not in data:
            return [FieldError.required(key("data", config_key))]
        try:
            parsed = json.loads(data[config_key])
        except ValueError as error:
            return [FieldError.invalid(key("data", config_key), REDACTED, str(error))]
        if not isinstance(parsed, dict):
            return [FieldError.invalid(key("data", config_key), REDACTED,
                                       "json: cannot unmarshal into Go value of type map[string]interface {}")]
    elif secret.type == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [FieldError.required(key("data", "username")), FieldError.required(key("data", "password"))]
    elif secret.type == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            return [FieldError.required(key("data", "ssh-privatekey"))]
    elif secret.type == "kubernetes.io/tls":
        errors = []
        for needed in ("tls.crt", "tls.key"):
            if needed not in data:
                errors.append(FieldError.required(key("data", needed)))
        return errors
    return []


def validate_secret_update(new: core_pb2.Secret, old: core_pb2.Secret) -> list[FieldError]:
    errors = immutable(new.type, old.type, "type")
    if old.immutable:
        if not new.immutable:
            errors.append(FieldError.forbidden("immutable", IMMUTABLE_WHEN_SET))
        if dict(new.data) != dict(old.data):
            errors.append(FieldError.forbidden("data", IMMUTABLE_WHEN_SET))
    return errors + validate_secret(new)

