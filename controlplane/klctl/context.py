"""What every klctl verb gets: the client, the namespace to work in, and the time it started."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from controlplane.api.kinds import Kind
from controlplane.client import ApiClient, ClientConfig


class UsageError(ValueError):
    pass


@dataclass(frozen=True)
class Context:
    client: ApiClient
    config: ClientConfig
    namespace: str
    namespace_given: bool
    now: datetime

    def scope(self, kind: Kind, all_namespaces: bool = False) -> str:
        """The namespace a verb on `kind` works in ("" for every namespace or a cluster-scoped kind)."""
        if not kind.namespaced or all_namespaces:
            return ""
        return self.namespace


Verb = Callable[[Context, argparse.Namespace], Awaitable[int]]
