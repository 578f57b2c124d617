"""Turn store events into API watch events for one watcher's selectors. Pure.

A watcher with a selector sees an object enter (ADDED) when a change makes it match, and leave
(DELETED) when a change makes it stop matching, as Kubernetes' watch cache reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from google.protobuf.message import Message

WatchType = Literal["ADDED", "MODIFIED", "DELETED"]


def translate(
    store_type: Literal["PUT", "DELETE"],
    new: Message,
    old: Message | None,
    matches: Callable[[Message], bool],
) -> WatchType | None:
    """The watch event type a watcher should get, or None when the change is not its business.

    `new` is the value after a PUT, or the last value for a DELETE; `old` the value before.
    """
    was = old is not None and matches(old)
    if store_type == "DELETE":
        return "DELETED" if matches(new) else None
    now = matches(new)
    if now and was:
        return "MODIFIED"
    if now:
        return "ADDED"
    if was:
        return "DELETED"
    return None
