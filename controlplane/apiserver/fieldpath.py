"""Read a field of a message by its Kubernetes JSON path (`spec.nodeName`), as field selectors do."""

from __future__ import annotations

from google.protobuf.message import Message


def field_text(message: Message, path: str) -> str:
    """The value at `path` as the text a field selector compares ("" when unset; "true"/"false")."""
    node: object = message
    for part in path.split("."):
        if not isinstance(node, Message):
            return ""
        field = next((f for f in node.DESCRIPTOR.fields if f.json_name == part), None)
        if field is None:
            return ""
        node = getattr(node, field.name)
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, Message):
        return ""
    return str(node)
