"""Label selectors: the string form (`app=web,tier in (a,b),!canary`) and the LabelSelector form.

A `Selector` is an AND of `Requirement`s, kept sorted by key so that its text is canonical.
Matching follows Kubernetes: `!=` and `notin` also match an object that lacks the key, `!key`
matches only such an object, and an empty selector matches everything.

`parse_selector` is a port of apimachinery's labels.Parse (lexer, recursive descent, and the
same error messages), and `selector_from_label_selector` of LabelSelectorAsSelector.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controlplane.api import names

EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, EXISTS, DOES_NOT_EXIST)
_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS)

_LABEL_SELECTOR_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


class SelectorError(ValueError):
    """A selector that does not parse or is not valid; `str()` is Kubernetes' one-line message."""


def _quote(text: str) -> str:
    """Roughly Go's %q: a double-quoted string with escapes."""
    return json.dumps(text, ensure_ascii=False)


def _go_strings(values: Sequence[str]) -> str:
    """A []string as Go's %#v prints it, which is how Kubernetes shows a bad list of values."""
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(_quote(v) for v in values) + "}"


def _invalid(path: str, value: str, detail: str) -> str:
    """Kubernetes' field.Invalid(...).Error()."""
    return f"{path}: Invalid value: {value}: {detail}"


def _aggregate(problems: list[str]) -> str:
    """Kubernetes' ErrorList.ToAggregate().Error(): one message, or several in brackets."""
    unique = list(dict.fromkeys(problems))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _key_problem(key: str, path: str) -> str | None:
    problems = names.qualified_name(key)
    return _invalid(path, _quote(key), "; ".join(problems)) if problems else None


def _requirement_problems(key: str, operator: str, values: Sequence[str]) -> list[str]:
    """Kubernetes' NewRequirement checks, each as `path: Invalid value: ...`."""
    problems = []
    if (problem := _key_problem(key, "key")) is not None:
        problems.append(problem)
    if operator in (IN, NOT_IN):
        if not values:
            problems.append(_invalid("values", _go_strings(values),
                                     "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(values) != 1:
            problems.append(_invalid("values", _go_strings(values),
                                     "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if values:
            problems.append(_invalid("values", _go_strings(values),
                                     "values set must be empty for exists and does not exist"))
    else:
        supported = ", ".join(_quote(op) for op in OPERATORS)
        problems.append(f"operator: Unsupported value: {_quote(operator)}: supported values: {supported}")
    for index, value in enumerate(values):
        if value_problems := names.label_value(value):
            problems.append(_invalid(f"values[{index}][{key}]", _quote(value), "; ".join(value_problems)))
    return problems


@dataclass(frozen=True)
class Requirement:
    """`key operator values`, checked on construction ("==" is kept as "=", values sorted and unique)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        values = tuple(self.values)
        if problems := _requirement_problems(self.key, self.operator, values):
            raise SelectorError(_aggregate(problems))
        if self.operator == DOUBLE_EQUALS:
            object.__setattr__(self, "operator", EQUALS)
        object.__setattr__(self, "values", tuple(sorted(set(values))))

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator in (IN, EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if self.operator in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator == EXISTS:
            return self.key in labels
        return self.key not in labels  # DOES_NOT_EXIST

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == DOES_NOT_EXIST:
            return "!" + self.key
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        return f"{self.key}{self.operator}{self.values[0]}"


@dataclass(frozen=True)
class Selector:
    """All of `requirements` (sorted by key); no requirements selects everything."""

    requirements: tuple[Requirement, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "requirements", tuple(sorted(self.requirements, key=lambda r: r.key)))

    @classmethod
    def everything(cls) -> Selector:
        return cls(())

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (it matches every set of labels)."""
        return not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)


# The string form: a lexer and a recursive-descent parser, as apimachinery's.

_END = "end of string"
_IDENTIFIER = "identifier"
_WHITESPACE = " \t\r\n"
_SPECIAL = "=!(),><"
_KEYWORDS = (IN, NOT_IN)


def _lex(text: str) -> list[tuple[str, str]]:
    """(token, literal) pairs; a token is the symbol itself, a keyword, "identifier" or the end."""
    tokens = []
    position = 0
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position == len(text):
            tokens.append((_END, ""))
            return tokens
        if text[position] in _SPECIAL:
            symbol = text[position:position + 2]
            if symbol not in (NOT_EQUALS, DOUBLE_EQUALS):
                symbol = text[position]
            tokens.append((symbol, symbol))
            position += len(symbol)
            continue
        start = position
        while position < len(text) and text[position] not in _SPECIAL + _WHITESPACE:
            position += 1
        word = text[start:position]
        tokens.append((word if word in _KEYWORDS else _IDENTIFIER, word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.position = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        token, literal = self.tokens[self.position]
        # Outside the operator's place, "in" and "notin" are plain words: `in in (in)` is fine.
        return (_IDENTIFIER if values and token in _KEYWORDS else token), literal

    def consume(self, values: bool = True) -> tuple[str, str]:
        found = self.lookahead(values)
        self.position += 1
        return found

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self.lookahead()
            if token == _END:
                return requirements
            if token not in (_IDENTIFIER, DOES_NOT_EXIST):
                raise SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except SelectorError as error:
                raise SelectorError(f"unable to parse requirement: {error}") from None
            token, literal = self.consume()
            if token == _END:
                return requirements
            if token != ",":
                raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            token, literal = self.lookahead()
            if token not in (_IDENTIFIER, DOES_NOT_EXIST):
                raise SelectorError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        key, operator = self.key_and_inferred_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return Requirement(key, operator)
        operator = self.operator()
        values = self.value_set() if operator in (IN, NOT_IN) else self.exact_value()
        return Requirement(key, operator, tuple(sorted(values)))

    def key_and_inferred_operator(self) -> tuple[str, str]:
        operator = ""
        token, literal = self.consume()
        if token == DOES_NOT_EXIST:
            operator = DOES_NOT_EXIST
            token, literal = self.consume()
        if token != _IDENTIFIER:
            raise SelectorError(f"found '{literal}', expected: identifier")
        if (problem := _key_problem(literal, "<nil>")) is not None:
            raise SelectorError(problem)
        if self.lookahead()[0] in (_END, ",") and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return literal, operator

    def operator(self) -> str:
        token, literal = self.consume(values=False)
        if token not in _BINARY_OPERATORS:
            raise SelectorError(f"found '{literal}', expected: {', '.join(_BINARY_OPERATORS)}")
        return token

    def value_set(self) -> set[str]:
        token, literal = self.consume()
        if token != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        token, literal = self.lookahead()
        if token == ")":
            self.consume()
            return {""}
        if token not in (_IDENTIFIER, ","):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.identifiers()
        self.consume()  # the ")" that identifiers() saw ahead
        return values

    def identifiers(self) -> set[str]:
        """A comma-separated list up to ")", where an empty place is the empty value: `(a,,b)`, `(,a)`."""
        values: set[str] = set()
        while True:
            token, literal = self.consume()
            if token == _IDENTIFIER:
                values.add(literal)
                after, after_literal = self.lookahead()
                if after == ")":
                    return values
                if after != ",":
                    raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            elif token == ",":
                if not values:
                    values.add("")
                after = self.lookahead()[0]
                if after == ")":
                    values.add("")
                    return values
                if after == ",":
                    self.consume()
                    values.add("")
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        if self.lookahead()[0] in (_END, ","):
            return {""}
        token, literal = self.consume()
        if token != _IDENTIFIER:
            raise SelectorError(f"found '{literal}', expected: identifier")
        return {literal}


def parse_selector(text: str) -> Selector:
    """A selector from its string form; "" is everything. SelectorError says what was found where."""
    return Selector(tuple(_Parser(text).parse()))


def selector_from_label_selector(
    match_labels: Mapping[str, str],
    match_expressions: Sequence[tuple[str, str, Sequence[str]]],
) -> Selector:
    """A selector from a LabelSelector's matchLabels and matchExpressions (key, operator, values).

    Operators are the API's: In, NotIn, Exists, DoesNotExist. An empty LabelSelector selects
    everything (a missing one, which selects nothing, is the caller's case to handle).
    """
    requirements = [Requirement(key, EQUALS, (value,)) for key, value in match_labels.items()]
    for key, operator, values in match_expressions:
        if operator not in _LABEL_SELECTOR_OPERATORS:
            raise SelectorError(f"{_quote(operator)} is not a valid label selector operator")
        requirements.append(Requirement(key, _LABEL_SELECTOR_OPERATORS[operator], tuple(values)))
    return Selector(tuple(requirements))

