"""Where a service port's traffic goes from one node: kube-proxy's endpoint categories and verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.routing import Verdict, route
from tests.support.services import ep, port

NODE = "worker1"
HERE_READY = ep("10.244.1.2", NODE)
THERE_READY = ep("10.244.2.2", "worker2")
HERE_TERMINATING = ep("10.244.1.3", NODE, ready=False, serving=True, terminating=True)
THERE_TERMINATING = ep("10.244.2.3", "worker2", ready=False, serving=True, terminating=True)
HERE_UNREADY = ep("10.244.1.4", NODE, ready=False)
THERE_GONE = ep("10.244.2.4", "worker2", ready=False, serving=False, terminating=True)

CLUSTER = {}
EXTERNAL_LOCAL = {"node_port": 30080, "external_local": True}
INTERNAL_LOCAL = {"internal_local": True}
BOTH_LOCAL = {"node_port": 30080, "external_local": True, "internal_local": True}


@pytest.mark.parametrize(("policy", "endpoints", "cluster", "local", "internal", "external"), [
    # Cluster policy: the ready endpoints anywhere; a not-ready one is left out.
    (CLUSTER, [HERE_READY, THERE_READY, HERE_UNREADY], [HERE_READY, THERE_READY], [], Verdict.FORWARD,
     Verdict.REJECT),
    # No ready endpoint anywhere: those still serving while terminating take over.
    (CLUSTER, [HERE_TERMINATING, THERE_TERMINATING, HERE_UNREADY], [HERE_TERMINATING, THERE_TERMINATING], [],
     Verdict.FORWARD, Verdict.REJECT),
    # ...but never while one is ready.
    (CLUSTER, [HERE_TERMINATING, THERE_READY], [THERE_READY], [], Verdict.FORWARD, Verdict.REJECT),
    # Nothing usable: reject.
    (CLUSTER, [HERE_UNREADY, THERE_GONE], [], [], Verdict.REJECT, Verdict.REJECT),
    (CLUSTER, [], [], [], Verdict.REJECT, Verdict.REJECT),
    # externalTrafficPolicy Local: external traffic to this node's endpoints, internal to all.
    (EXTERNAL_LOCAL, [HERE_READY, THERE_READY], [HERE_READY, THERE_READY], [HERE_READY], Verdict.FORWARD,
     Verdict.FORWARD),
    # ...none here: external traffic is dropped (there are endpoints elsewhere), internal still flows.
    (EXTERNAL_LOCAL, [THERE_READY], [THERE_READY], [], Verdict.FORWARD, Verdict.DROP),
    # ...the local fallback to serving-terminating endpoints is per node.
    (EXTERNAL_LOCAL, [HERE_TERMINATING, THERE_READY], [THERE_READY], [HERE_TERMINATING], Verdict.FORWARD,
     Verdict.FORWARD),
    # internalTrafficPolicy Local: the cluster IP reaches only this node's endpoints, else drops.
    (INTERNAL_LOCAL, [HERE_READY, THERE_READY], [], [HERE_READY], Verdict.FORWARD, Verdict.REJECT),
    (INTERNAL_LOCAL, [THERE_READY], [], [], Verdict.DROP, Verdict.REJECT),
    (BOTH_LOCAL, [THERE_READY], [], [], Verdict.DROP, Verdict.DROP),
    (BOTH_LOCAL, [], [], [], Verdict.REJECT, Verdict.REJECT),
])
def test_endpoints_and_verdicts_follow_the_traffic_policies(policy: dict[str, Any], endpoints: list[Any],
                                                            cluster: list[Any], local: list[Any], internal: Verdict,
                                                            external: Verdict) -> None:
    found = route(port(**policy), endpoints, NODE)
    assert (list(found.cluster), list(found.local)) == (cluster, local)
    assert found.internal_verdict is internal
    if found.port.externally_accessible:
        assert found.external_verdict is external


def test_pods_and_the_node_are_not_subject_to_the_local_policy_of_external_traffic() -> None:
    found = route(port(**EXTERNAL_LOCAL), [HERE_READY, THERE_READY], NODE)
    assert found.for_client(external=True, inside=False) == (HERE_READY,)
    assert found.for_client(external=True, inside=True) == (HERE_READY, THERE_READY)
    assert found.for_client(external=False, inside=False) == (HERE_READY, THERE_READY)


def test_reachable_endpoints_and_their_nodes() -> None:
    found = route(port(**EXTERNAL_LOCAL), [HERE_READY, THERE_READY, HERE_UNREADY], NODE)
    assert found.reachable == (HERE_READY, THERE_READY)
    assert found.nodes == {"worker1", "worker2"}
    only_local = route(port(**BOTH_LOCAL), [HERE_READY, THERE_READY], NODE)
    assert only_local.reachable == (HERE_READY,)
    assert only_local.nodes == {"worker1", "worker2"}
