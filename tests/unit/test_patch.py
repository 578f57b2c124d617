"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), by the RFCs' own examples."""

import pytest

from controlplane.apiserver.patch import PatchError, json_patch, merge_patch


@pytest.mark.parametrize(("target", "patch", "result"), [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_follows_rfc_7386(target, patch, result) -> None:
    assert merge_patch(target, patch) == result


def test_json_patch_operations() -> None:
    document = {"spec": {"replicas": 1, "ports": [{"port": 80}]}}
    patched = json_patch(document, [
        {"op": "replace", "path": "/spec/replicas", "value": 3},
        {"op": "add", "path": "/spec/ports/-", "value": {"port": 443}},
        {"op": "copy", "from": "/spec/replicas", "path": "/spec/copies"},
        {"op": "move", "from": "/spec/copies", "path": "/spec/moved"},
        {"op": "remove", "path": "/spec/ports/0"},
        {"op": "test", "path": "/spec/replicas", "value": 3},
    ])
    assert patched == {"spec": {"replicas": 3, "ports": [{"port": 443}], "moved": 3}}
    assert document == {"spec": {"replicas": 1, "ports": [{"port": 80}]}}, "the input is not changed"


@pytest.mark.parametrize("operations", [
    [{"op": "remove", "path": "/missing"}],
    [{"op": "replace", "path": "/a/b", "value": 1}],
    [{"op": "test", "path": "/a", "value": 2}],
    [{"op": "add", "path": "/list/9", "value": 1}],
    [{"op": "frobnicate", "path": "/a"}],
    {"op": "add"},
])
def test_json_patch_refuses_what_cannot_apply(operations) -> None:
    with pytest.raises(PatchError):
        json_patch({"a": 1, "list": []}, operations)
