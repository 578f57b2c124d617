"""The plug point for a second witness of node health beside the Lease heartbeat.

The node lifecycle controller asks its witness, on every look at a node, for a verdict on it
(`verdict(name)`); a witness that learns something new calls the listeners it was given
(`subscribe`) with the node's name, and the controller looks at the nodes again at once instead
of at its next period. `run()` is awaited for as long as the controller runs (a witness that
needs no task of its own returns at once). How a verdict counts is `health.judge`'s to say:

- DEAD (confirmed dead by the gossip cluster): the node turns Unknown at once, unless it was
  heard from after the verdict; its pods are evicted after their toleration, as for a silent node.
- ALIVE (its peers hear it, but the control plane may not): no effect; the Lease rule alone decides.
- no verdict (None): the Lease rule alone decides.

`LeaseOnly` is the default: no second witness. The gossip cluster of the agents (issue 6) plugs in
by handing `NodeLifecycleController` a witness of its own (see controllermanager/registry.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from controlplane.controllers.nodelifecycle.health import WitnessVerdict


class HealthWitness(Protocol):
    def verdict(self, node: str) -> WitnessVerdict | None:
        """The witness's current verdict on a node (its age in seconds), or None when it has none."""

    def subscribe(self, changed: Callable[[str], None]) -> None:
        """Call `changed(node name)` whenever the verdict on a node changes."""

    async def run(self) -> None:
        """Whatever the witness must keep doing while the controller runs."""


class LeaseOnly:
    """No second witness: every node is judged by its Lease and Ready heartbeat alone."""

    def verdict(self, node: str) -> WitnessVerdict | None:
        return None

    def subscribe(self, changed: Callable[[str], None]) -> None:
        return None

    async def run(self) -> None:
        return None
