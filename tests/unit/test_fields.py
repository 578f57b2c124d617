"""Field selectors parse and match as Kubernetes' fields.ParseSelector."""

import pytest

from controlplane.api.fields import (
    FieldRequirement,
    FieldSelectorError,
    escape_value,
    matches,
    parse_field_selector,
    unescape_value,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("", ()),
    ("metadata.name=web-1", (FieldRequirement("metadata.name", "=", "web-1"),)),
    ("metadata.name==web-1", (FieldRequirement("metadata.name", "=", "web-1"),)),
    ("spec.nodeName!=worker1", (FieldRequirement("spec.nodeName", "!=", "worker1"),)),
    ("spec.nodeName=", (FieldRequirement("spec.nodeName", "=", ""),)),
    ("status.phase=Running,metadata.name=web", (
        FieldRequirement("metadata.name", "=", "web"), FieldRequirement("status.phase", "=", "Running"))),
    (",,a=1,", (FieldRequirement("a", "=", "1"),)),
    (r"a=b\,c", (FieldRequirement("a", "=", "b,c"),)),
    (r"a=b\=c", (FieldRequirement("a", "=", "b=c"),)),
    (r"a=b\\", (FieldRequirement("a", "=", "b\\"),)),
    ("a = b", (FieldRequirement("a ", "=", " b"),)),
    ("x!=", (FieldRequirement("x", "!=", ""),)),
])
def test_selectors_parse_into_sorted_terms_with_unescaped_values(
        text: str, expected: tuple[FieldRequirement, ...]) -> None:
    assert parse_field_selector(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("nonsense", "invalid selector: 'nonsense'; can't understand 'nonsense'"),
    ("a=1,nonsense", "invalid selector: 'a=1,nonsense'; can't understand 'nonsense'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    ("x!==y", "invalid field selector: unescaped character in value: 61"),
    (r"a=b\x", r"invalid field selector: invalid escape sequence: \x"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
])
def test_malformed_selectors_are_refused_with_kubernetes_message(text: str, message: str) -> None:
    with pytest.raises(FieldSelectorError) as refused:
        parse_field_selector(text)
    assert str(refused.value) == message


POD = {"metadata.name": "web-1", "spec.nodeName": "worker1", "status.phase": "Running"}


def _get(path: str) -> str:
    return POD.get(path, "")


@pytest.mark.parametrize(("text", "expected"), [
    ("", True),
    ("metadata.name=web-1", True),
    ("metadata.name=web-2", False),
    ("spec.nodeName!=worker2", True),
    ("spec.nodeName!=worker1", False),
    ("metadata.name=web-1,status.phase=Running", True),
    ("metadata.name=web-1,status.phase=Pending", False),
    ("spec.schedulerName=", True),
    ("spec.schedulerName!=", False),
])
def test_every_term_must_hold_for_an_object_to_match(text: str, expected: bool) -> None:
    assert matches(parse_field_selector(text), _get) is expected


@pytest.mark.parametrize("value", ["plain", "a,b", "a=b", "back\\slash", "", "=,\\"])
def test_escaped_values_round_trip(value: str) -> None:
    assert unescape_value(escape_value(value)) == value
    requirement = FieldRequirement("f", "=", value)
    assert parse_field_selector(str(requirement)) == (requirement,)


def test_an_unknown_operator_is_refused() -> None:
    with pytest.raises(FieldSelectorError):
        FieldRequirement("f", "in", "x")
