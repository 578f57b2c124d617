"""The agents' gossip cluster as the node lifecycle controller's second witness (witness.py).

Where the verdict comes from: the agent on the controller manager's own machine, the master's
(`--gossip-witness 127.0.0.1:10250`), which streams its view of the cluster at every change
(`Members.Watch`, agent/members.py). Why that agent, rather than a gossip member of the
controller manager's own:

- it is a full member already, probing and probed; SWIM's verdicts spread to every member within
  milliseconds and a death is only declared once a suspicion went unrefuted (and confirmed, by the
  other members' nacks or suspicions), so one live member's view is the cluster's verdict;
- a member of the controller manager's own would be one more member that every node probes, with
  no Node behind it (in every view and in `klctl get members`), one more process with the cluster
  key, and a second gossip port on the master, all to hold the same view;
- a stream over the loopback pushes each change at once, and when it breaks (the master's agent is
  restarting) the witness has no verdict: the Lease alone decides, the safe side.

Verdicts: a dead member is DEAD, reached when the agent declared it (the view says how long ago:
`status_seconds`); an alive one ALIVE; a suspect, a member that left on purpose (an agent stopped
for maintenance) or one the view does not have: no verdict.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping

import grpc
import structlog

from controlplane.api.errors import ApiError
from controlplane.api.v1 import gossip_pb2
from controlplane.client.members import MembersClient
from controlplane.controllers.nodelifecycle.health import Verdict, WitnessVerdict

log = structlog.get_logger("controller.nodelifecycle.gossip")

VERDICTS = {"alive": Verdict.ALIVE, "dead": Verdict.DEAD}
RETRY = 1.0
WARN_EVERY = 30.0

# node name -> (verdict, when the witness reached it, on our monotonic clock)
Verdicts = dict[str, tuple[Verdict, float]]


def read_view(members: Iterable[gossip_pb2.GossipMember], received: float,
              previous: Mapping[str, tuple[Verdict, float]],
              ) -> tuple[Verdicts, set[str]]:
    """The verdicts a view gives (and the nodes whose verdict changed), `received` being when it
    arrived. A verdict that did not change keeps the moment it was first reached. Pure."""
    verdicts: Verdicts = {}
    for member in members:
        verdict = VERDICTS.get(member.status)
        if verdict is None:
            continue
        old = previous.get(member.name)
        verdicts[member.name] = old if old is not None and old[0] is verdict else (
            verdict, received - max(0.0, member.status_seconds))
    changed = {name for name in set(previous) | set(verdicts)
               if (previous.get(name) or (None,))[0] is not (verdicts.get(name) or (None,))[0]}
    return verdicts, changed


class GossipWitness:
    def __init__(self, address: str, *, clock: Callable[[], float] = time.monotonic, retry: float = RETRY) -> None:
        self.address = address
        self.clock = clock
        self.retry = retry
        self.verdicts: Verdicts = {}
        self._listeners: list[Callable[[str], None]] = []
        self._warned = -WARN_EVERY

    def verdict(self, node: str) -> WitnessVerdict | None:
        found = self.verdicts.get(node)
        if found is None:
            return None
        verdict, reached = found
        return WitnessVerdict(verdict, max(0.0, self.clock() - reached))

    def subscribe(self, changed: Callable[[str], None]) -> None:
        self._listeners.append(changed)

    async def run(self) -> None:
        while True:
            channel = grpc.aio.insecure_channel(self.address)
            try:
                async for view in MembersClient(channel, timeout=None).watch():
                    self._take(view.members)
            except ApiError as error:
                if self.clock() - self._warned >= WARN_EVERY:
                    self._warned = self.clock()
                    log.warning("gossip_witness.unavailable", address=self.address, error=error.message)
            finally:
                self._take(())  # no view, no verdicts: the Lease alone decides meanwhile
                await channel.close(None)
            await asyncio.sleep(self.retry)

    def _take(self, members: Iterable[gossip_pb2.GossipMember]) -> None:
        self.verdicts, changed = read_view(members, self.clock(), self.verdicts)
        for name in sorted(changed):
            found = self.verdicts.get(name)
            log.info("gossip_witness.verdict", node=name, verdict=found[0].value if found else None)
            for listener in self._listeners:
                listener(name)
