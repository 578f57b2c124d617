"""Field selectors (`metadata.name=web-1,spec.nodeName!=worker1`) as Kubernetes parses them.

The syntax is Kubernetes' fields.ParseSelector: terms separated by ',', each `path=value`,
`path==value` or `path!=value`, split at the first operator in the term. In a value, ',' '=' and
'\\' are written escaped with a backslash; nothing is trimmed. Which paths a kind offers is the
API server's business, not this parser's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


class FieldSelectorError(ValueError):
    """A field selector that does not parse; `str()` is Kubernetes' message."""


@dataclass(frozen=True)
class FieldRequirement:
    """One term: the field at `path` equals (`=`) or differs from (`!=`) `value`."""

    path: str
    operator: str
    value: str

    def __post_init__(self) -> None:
        if self.operator == "==":
            object.__setattr__(self, "operator", "=")
        if self.operator not in ("=", "!="):
            raise FieldSelectorError(f'operator: Unsupported value: "{self.operator}": '
                                     'supported values: "=", "==", "!="')

    def matches(self, get: Callable[[str], str]) -> bool:
        return (get(self.path) == self.value) == (self.operator == "=")

    def __str__(self) -> str:
        return f"{self.path}{self.operator}{escape_value(self.value)}"


def escape_value(value: str) -> str:
    """A literal value as it must be written in a selector: `a,b` -> `a\\,b`."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(text: str) -> str:
    """The literal value a selector's escaped text stands for; FieldSelectorError on a bad escape."""
    out = []
    escaped = False
    for char in text:
        if escaped:
            if char not in "\\,=":
                raise FieldSelectorError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            # Go prints the rune as its code point: "unescaped character in value: 61" for '='.
            raise FieldSelectorError(f"invalid field selector: unescaped character in value: {ord(char)}")
        else:
            out.append(char)
    if escaped:
        raise FieldSelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """Split at commas that are not escaped; escapes stay in the terms."""
    if not text:
        return []
    terms = []
    start = 0
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """(path, operator, escaped value), split at the first operator; None when there is none."""
    for index in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator):]
    return None


def parse_field_selector(text: str) -> tuple[FieldRequirement, ...]:
    """The terms of a field selector, in Kubernetes' order (its terms sorted as text); "" selects all."""
    requirements = []
    for term in sorted(_split_terms(text)):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise FieldSelectorError(f"invalid selector: '{text}'; can't understand '{term}'")
        path, operator, escaped = split
        requirements.append(FieldRequirement(path, operator, unescape_value(escaped)))
    return tuple(requirements)


def matches(requirements: Iterable[FieldRequirement], get: Callable[[str], str]) -> bool:
    """True when every term holds; `get(path)` is the object's field as text ("" when unset)."""
    return all(requirement.matches(get) for requirement in requirements)
