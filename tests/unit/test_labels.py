"""Label selectors parse, print and match as Kubernetes' labels.Parse and LabelSelectorAsSelector."""

import pytest

from controlplane.api.labels import (
    Requirement,
    Selector,
    SelectorError,
    parse_selector,
    selector_from_label_selector,
)

NAME_PART_ERROR = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_ERROR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(("operator", "values", "labels", "expected"), [
    ("=", ("web",), {"app": "web"}, True),
    ("=", ("web",), {"app": "db"}, False),
    ("=", ("web",), {}, False),
    ("==", ("web",), {"app": "web"}, True),
    ("!=", ("web",), {"app": "web"}, False),
    ("!=", ("web",), {"app": "db"}, True),
    ("!=", ("web",), {}, True),
    ("in", ("web", "db"), {"app": "db"}, True),
    ("in", ("web", "db"), {"app": "cache"}, False),
    ("in", ("web", "db"), {}, False),
    ("in", ("",), {"app": ""}, True),
    ("notin", ("web", "db"), {"app": "db"}, False),
    ("notin", ("web", "db"), {"app": "cache"}, True),
    ("notin", ("web", "db"), {}, True),
    ("exists", (), {"app": ""}, True),
    ("exists", (), {"tier": "front"}, False),
    ("!", (), {"app": "web"}, False),
    ("!", (), {"tier": "front"}, True),
])
def test_requirements_match_as_in_kubernetes(
        operator: str, values: tuple[str, ...], labels: dict[str, str], expected: bool) -> None:
    assert Requirement("app", operator, values).matches(labels) is expected


@pytest.mark.parametrize(("text", "canonical"), [
    ("", ""),
    ("app=web", "app=web"),
    ("app==web", "app=web"),
    ("app!=web", "app!=web"),
    ("app=", "app="),
    ("tier in (b,a)", "tier in (a,b)"),
    ("tier notin (z)", "tier notin (z)"),
    ("tier", "tier"),
    ("!tier", "!tier"),
    ("tier,app=web,!x", "app=web,tier,!x"),
    ("  app = web ,\ttier  in ( a , b ) , ! x ", "app=web,tier in (a,b),!x"),
    ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
    ("x in (a,a)", "x in (a)"),
    ("x in (,a)", "x in (,a)"),
    ("x in (a,)", "x in (,a)"),
    ("in in (in)", "in in (in)"),
    ("notin notin (notin)", "notin notin (notin)"),
    ("app.kubernetes.io/name=web", "app.kubernetes.io/name=web"),
])
def test_selectors_parse_to_a_canonical_string(text: str, canonical: str) -> None:
    assert str(parse_selector(text)) == canonical


@pytest.mark.parametrize(("text", "message"), [
    ("x=(", "unable to parse requirement: found '(', expected: identifier"),
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !="),
    ("a>1", "unable to parse requirement: found '>', expected: in, notin, =, ==, !="),
    ("app in (web", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("app in web", "unable to parse requirement: found 'web' expected: '('"),
    ("app in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
    ("app in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("app in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("!!a", "unable to parse requirement: found '!', expected: identifier"),
    ("a,", "found '', expected: identifier after ','"),
    ("app=web,,x", "found ',', expected: identifier after ','"),
    (",", "found ',', expected: !, identifier, or 'end of string'"),
    ("(a)", "found '(', expected: !, identifier, or 'end of string'"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("-app=web", f'unable to parse requirement: <nil>: Invalid value: "-app": {NAME_PART_ERROR}'),
    ("a=-x", f'unable to parse requirement: values[0][a]: Invalid value: "-x": {LABEL_VALUE_ERROR}'),
    ("a in (b,-x,-y)", "unable to parse requirement: "
                       f'[values[0][a]: Invalid value: "-x": {LABEL_VALUE_ERROR}, '
                       f'values[1][a]: Invalid value: "-y": {LABEL_VALUE_ERROR}]'),
    ("a=" + "v" * 64, "unable to parse requirement: values[0][a]: Invalid value: "
                      f'"{"v" * 64}": must be no more than 63 characters'),
])
def test_malformed_selectors_are_refused_with_kubernetes_message(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as refused:
        parse_selector(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(("text", "labels", "expected"), [
    ("", {}, True),
    ("", {"app": "web"}, True),
    ("app=web", {"app": "web", "tier": "front"}, True),
    ("app=web,tier", {"app": "web"}, False),
    ("app=web,tier", {"app": "web", "tier": ""}, True),
    ("app=web,!canary", {"app": "web", "canary": "true"}, False),
    ("tier notin (front),app", {"app": "db"}, True),
    ("tier notin (front),app", {"tier": "back"}, False),
    ("env in (prod,staging),tier!=cache", {"env": "prod", "tier": "web"}, True),
])
def test_a_selector_matches_when_all_its_requirements_do(
        text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(text).matches(labels) is expected


def test_everything_is_empty_and_matches_any_labels() -> None:
    everything = Selector.everything()
    assert everything.empty
    assert everything.matches({}) and everything.matches({"app": "web"})
    assert str(everything) == ""
    assert not parse_selector("app").empty


def test_requirements_are_kept_sorted_by_key_so_equal_selectors_compare_equal() -> None:
    assert parse_selector("b=1,a=2") == parse_selector("a=2,b=1")
    assert Selector((Requirement("b", "exists"), Requirement("a", "!"))).requirements[0].key == "a"


@pytest.mark.parametrize(("key", "operator", "values", "message"), [
    ("app", "in", (), "values: Invalid value: []string(nil): "
                      "for 'in', 'notin' operators, values set can't be empty"),
    ("app", "=", ("a", "b"), 'values: Invalid value: []string{"a", "b"}: '
                             "exact-match compatibility requires one single value"),
    ("app", "exists", ("a",), 'values: Invalid value: []string{"a"}: '
                              "values set must be empty for exists and does not exist"),
    ("app", "gt", ("1",), 'operator: Unsupported value: "gt": supported values: '
                          '"in", "notin", "=", "==", "!=", "exists", "!"'),
    ("bad key", "exists", (), f'key: Invalid value: "bad key": {NAME_PART_ERROR}'),
])
def test_invalid_requirements_cannot_be_built(
        key: str, operator: str, values: tuple[str, ...], message: str) -> None:
    with pytest.raises(SelectorError) as refused:
        Requirement(key, operator, values)
    assert str(refused.value) == message


@pytest.mark.parametrize(("match_labels", "match_expressions", "canonical"), [
    ({}, [], ""),
    ({"app": "web"}, [], "app=web"),
    ({"tier": "front", "app": "web"}, [], "app=web,tier=front"),
    ({"app": "web"}, [("tier", "In", ["front", "back"])], "app=web,tier in (back,front)"),
    ({}, [("env", "NotIn", ["dev"]), ("canary", "DoesNotExist", []), ("app", "Exists", [])],
     "app,!canary,env notin (dev)"),
])
def test_label_selector_objects_convert_to_selectors(
        match_labels: dict[str, str], match_expressions: list[tuple[str, str, list[str]]],
        canonical: str) -> None:
    selector = selector_from_label_selector(match_labels, match_expressions)
    assert str(selector) == canonical
    assert selector == parse_selector(canonical)


def test_an_empty_label_selector_matches_everything() -> None:
    selector = selector_from_label_selector({}, [])
    assert selector.empty and selector.matches({"anything": "at-all"})


NEED_VALUES = "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
NO_VALUES = 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'


@pytest.mark.parametrize(("operator", "values", "message"), [
    ("In", [], NEED_VALUES),
    ("NotIn", [], NEED_VALUES),
    ("Exists", ["x"], NO_VALUES),
    ("DoesNotExist", ["x"], NO_VALUES),
    ("in", ["x"], '"in" is not a valid label selector operator'),
    ("Equals", ["x"], '"Equals" is not a valid label selector operator'),
])
def test_label_selector_expressions_with_wrong_values_name_the_operator(
        operator: str, values: list[str], message: str) -> None:
    with pytest.raises(SelectorError) as refused:
        selector_from_label_selector({}, [("tier", operator, values)])
    assert str(refused.value) == message


def test_match_labels_with_an_invalid_value_are_refused() -> None:
    with pytest.raises(SelectorError) as refused:
        selector_from_label_selector({"app": "web app"}, [])
    assert str(refused.value) == f'values[0][app]: Invalid value: "web app": {LABEL_VALUE_ERROR}'
