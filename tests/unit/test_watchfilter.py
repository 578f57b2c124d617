"""A selector watcher sees objects enter and leave its selection as ADDED and DELETED."""

import pytest

from controlplane.api.v1 import core_pb2
from controlplane.apiserver.watchfilter import translate


def _pod(app: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.labels["app"] = app
    return pod


def _is_web(obj) -> bool:
    return obj.metadata.labels.get("app") == "web"


@pytest.mark.parametrize(("store_type", "new", "old", "expected"), [
    ("PUT", "web", None, "ADDED"),
    ("PUT", "web", "web", "MODIFIED"),
    ("PUT", "web", "db", "ADDED"),
    ("PUT", "db", "web", "DELETED"),
    ("PUT", "db", "db", None),
    ("PUT", "db", None, None),
    ("DELETE", "web", "web", "DELETED"),
    ("DELETE", "db", "db", None),
])
def test_selection_transitions(store_type, new, old, expected) -> None:
    assert translate(store_type, _pod(new), _pod(old) if old else None, _is_web) == expected
