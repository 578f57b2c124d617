"""Kubernetes-shaped JSON/YAML values <-> the API's protobuf messages.

`decode` is strict, as the Kubernetes API server is with `fieldValidation=Strict`: an unknown or
misspelt field, or a value of the wrong type, is refused with its path
(`spec.template.spec.containers[0].livenessProbe.initalDelaySeconds: unknown field`).
`encode` prints a message as Kubernetes prints an object: fields that are unset are left out, an
IntOrString is a bare int or string, a quantity a string, bytes base64.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.quantity import QuantityError, parse_quantity

INT_OR_STRING = "kubelab.api.v1.IntOrString"
QUANTITY = "kubelab.api.v1.Quantity"

_INT32_RANGE = (-(2**31), 2**31 - 1)
_INT64_RANGE = (-(2**63), 2**63 - 1)
_INT_TYPES = {
    FieldDescriptor.TYPE_INT32: _INT32_RANGE,
    FieldDescriptor.TYPE_SINT32: _INT32_RANGE,
    FieldDescriptor.TYPE_INT64: _INT64_RANGE,
    FieldDescriptor.TYPE_SINT64: _INT64_RANGE,
}


class DecodeError(ValueError):
    """A manifest that does not fit the API's schema; `str()` is one line naming the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _fields_by_json_name(descriptor: Any) -> dict[str, FieldDescriptor]:
    cached: dict[str, FieldDescriptor] | None = _JSON_FIELDS.get(descriptor.full_name)
    if cached is None:
        cached = {f.json_name: f for f in descriptor.fields}
        _JSON_FIELDS[descriptor.full_name] = cached
    return cached


_JSON_FIELDS: dict[str, dict[str, FieldDescriptor]] = {}


# ---------------------------------------------------------------------------------------------- decode


def decode_into(message: Message, data: object, path: str = "") -> None:
    """Fill `message` from a JSON-like value, refusing anything the schema does not have."""
    descriptor = message.DESCRIPTOR
    if descriptor.full_name == INT_OR_STRING:
        _decode_int_or_string(message, data, path)
        return
    if descriptor.full_name == QUANTITY:
        message.string = _quantity_text(data, path)  # type: ignore[attr-defined]
        return
    if not isinstance(data, Mapping):
        raise DecodeError(path, f"expected an object, got {_type_name(data)}")
    message.SetInParent()
    fields = _fields_by_json_name(descriptor)
    for key, value in data.items():
        if not isinstance(key, str):
            raise DecodeError(_join(path, str(key)), "field names must be strings")
        field = fields.get(key)
        if field is None:
            raise DecodeError(_join(path, key), "unknown field")
        if value is None:
            continue  # `key:` with no value, or null: unset, as Kubernetes reads it
        _decode_field(message, field, value, _join(path, key))


def _decode_field(message: Message, field: FieldDescriptor, value: object, path: str) -> None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        _decode_map(message, field, value, path)
    elif field.is_repeated:
        if not isinstance(value, list):
            raise DecodeError(path, f"expected an array, got {_type_name(value)}")
        target = getattr(message, field.name)
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if field.message_type is not None:
                if item is None:
                    raise DecodeError(item_path, "expected an object, got null")
                decode_into(target.add(), item, item_path)
            else:
                target.append(_scalar(field, item, item_path))
    elif field.message_type is not None:
        decode_into(getattr(message, field.name), value, path)
    else:
        setattr(message, field.name, _scalar(field, value, path))


def _decode_map(message: Message, field: FieldDescriptor, value: object, path: str) -> None:
    if not isinstance(value, Mapping):
        raise DecodeError(path, f"expected an object, got {_type_name(value)}")
    value_field = field.message_type.fields_by_name["value"]  # type: ignore[union-attr]
    target = getattr(message, field.name)
    for key, item in value.items():
        if not isinstance(key, str):
            raise DecodeError(path, f"keys must be strings, got {_type_name(key)} {key!r} (quote it)")
        item_path = f"{path}.{key}" if key.replace("-", "_").isidentifier() else f"{path}[{key}]"
        if value_field.message_type is not None:
            decode_into(target[key], item, item_path)
        elif item is None:
            raise DecodeError(item_path, "expected a string, got null")
        else:
            target[key] = _scalar(value_field, item, item_path)


def _scalar(field: FieldDescriptor, value: object, path: str) -> object:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise DecodeError(path, f"expected a string, got {_type_name(value)} {_show(value)} (quote it)")
        return value
    if kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise DecodeError(path, f"expected a boolean, got {_type_name(value)} {_show(value)}")
        return value
    if kind in _INT_TYPES:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise DecodeError(path, f"expected an integer, got {_type_name(value)} {_show(value)}")
        low, high = _INT_TYPES[kind]
        if not low <= value <= high:
            raise DecodeError(path, f"integer {value} is out of range")
        return value
    if kind == FieldDescriptor.TYPE_BYTES:
        if not isinstance(value, str):
            raise DecodeError(path, f"expected a base64 string, got {_type_name(value)}")
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise DecodeError(path, "illegal base64 data") from None
    raise DecodeError(path, f"unsupported field type {kind}")  # pragma: no cover - schema has no other


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _decode_int_or_string(message: Message, data: object, path: str) -> None:
    if isinstance(data, bool) or not isinstance(data, int | str):
        raise DecodeError(path, f"expected an integer or a string, got {_type_name(data)}")
    if isinstance(data, int):
        low, high = _INT32_RANGE
        if not low <= data <= high:
            raise DecodeError(path, f"integer {data} is out of range")
        message.int_val = data  # type: ignore[attr-defined]
    else:
        message.str_val = data  # type: ignore[attr-defined]


def _quantity_text(data: object, path: str) -> str:
    if isinstance(data, bool) or not isinstance(data, int | float | str):
        raise DecodeError(path, f"expected a quantity, got {_type_name(data)}")
    text = data if isinstance(data, str) else format(data, "f").rstrip("0").rstrip(".") if isinstance(
        data, float) else str(data)
    try:
        parse_quantity(text)
    except QuantityError as error:
        raise DecodeError(path, str(error)) from None
    return text


def decode_object(document: object) -> Message:
    """A whole manifest (with apiVersion and kind) as the kind's message."""
    if not isinstance(document, Mapping):
        raise DecodeError("", f"a manifest must be an object, got {_type_name(document)}")
    kind_name = document.get("kind")
    if not kind_name:
        raise DecodeError("kind", "Required value: every object needs a kind")
    if not isinstance(kind_name, str):
        raise DecodeError("kind", f"expected a string, got {_type_name(kind_name)}")
    api_version = document.get("apiVersion")
    if not api_version:
        raise DecodeError("apiVersion", "Required value: every object needs an apiVersion")
    try:
        kind = kinds.by_kind(kind_name)
    except kinds.UnknownKind:
        raise DecodeError("kind", f'no kind "{kind_name}" is registered for version "{api_version}"') from None
    if api_version != kind.api_version:
        raise DecodeError(
            "apiVersion",
            f'no kind "{kind_name}" is registered for version "{api_version}" (use "{kind.api_version}")',
        )
    message = kind.new()
    decode_into(message, document)
    return message


# ---------------------------------------------------------------------------------------------- encode


def encode(message: Message) -> dict[str, Any]:
    """The message as Kubernetes would print it (unset fields left out)."""
    result: dict[str, Any] = {}
    for field, value in message.ListFields():
        result[field.json_name] = _encode_value(field, value)
    return result


def _encode_value(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        return {key: _encode_single(value_field, value[key]) for key in sorted(value)}
    if field.is_repeated:
        return [_encode_single(field, item) for item in value]
    return _encode_single(field, value)


def _encode_single(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        name = field.message_type.full_name
        if name == INT_OR_STRING:
            return value.int_val if value.WhichOneof("value") == "int_val" else value.str_val
        if name == QUANTITY:
            return value.string
        return encode(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    return value
