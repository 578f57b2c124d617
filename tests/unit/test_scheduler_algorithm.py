"""Scheduling decisions over the cache, without I/O: where pods land, why they do not, and that the
column-wise search agrees with the filters applied node by node."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from controlplane.api.labels import parse_selector
from controlplane.scheduler import messages
from controlplane.scheduler.algorithm import Algorithm, FitFailure, Placement, feasible_nodes_to_find
from controlplane.scheduler.cache import SchedulerCache
from controlplane.scheduler.filters import node_ports, resources_fit, static_verdict
from controlplane.scheduler.podinfo import PodInfo, pod_info
from tests.support.scheduling import CONTROL_PLANE_TAINT, node, pod


def _cluster(*nodes: Any) -> SchedulerCache:
    cache = SchedulerCache()
    for made in nodes:
        cache.set_node(made)
    return cache


def _place(algorithm: Algorithm, info: PodInfo, **kwargs: Any) -> str:
    result = algorithm.schedule(info, **kwargs)
    assert isinstance(result, Placement), result
    algorithm.cache.assume(info, result.node)
    return result.node


@pytest.mark.parametrize(("nodes", "to_find"), [
    (0, 0), (50, 50), (100, 100), (200, 100), (500, 230), (1000, 420), (5000, 500), (10000, 500), (20000, 1000)])
def test_adaptive_share_of_nodes_to_find(nodes: int, to_find: int) -> None:
    assert feasible_nodes_to_find(nodes) == to_find


@pytest.mark.parametrize(("percentage", "to_find"), [(10, 100), (50, 500), (100, 1000)])
def test_a_set_share_of_nodes_to_find_never_goes_under_100(percentage: int, to_find: int) -> None:
    assert feasible_nodes_to_find(1000, percentage) == to_find


def test_a_pod_too_big_for_the_workers_gets_kube_schedulers_message() -> None:
    cache = _cluster(node("master", cpu="2", taints=[CONTROL_PLANE_TAINT]), node("worker1", cpu="1"),
                     node("worker2", cpu="1"))
    result = Algorithm(cache).schedule(pod_info(pod("big", cpu="1500m")))
    assert result == FitFailure(
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu.", frozenset({messages.TAINT_TOLERATION, messages.NODE_RESOURCES_FIT}))


def test_no_nodes_at_all() -> None:
    assert Algorithm(SchedulerCache()).schedule(pod_info(pod("p"))) == FitFailure(
        "no nodes available to schedule pods", frozenset())


def test_an_assumed_pod_takes_its_room_at_once_and_gives_it_back_when_forgotten() -> None:
    cache = _cluster(node("only", cpu="1"))
    algorithm = Algorithm(cache)
    first = pod_info(pod("first", cpu="600m"))
    assert _place(algorithm, first) == "only"
    second = pod_info(pod("second", cpu="600m"))
    assert algorithm.schedule(second) == FitFailure("0/1 nodes are available: 1 Insufficient cpu.",
                                                    frozenset({messages.NODE_RESOURCES_FIT}))
    cache.forget(first.key)
    assert _place(algorithm, second) == "only"


def test_pods_of_one_replica_set_spread_over_the_nodes() -> None:
    cache = _cluster(*(node(f"w{i}") for i in range(3)))
    algorithm = Algorithm(cache, rng=random.Random(1))
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs1"}
    selector = parse_selector("app=web")
    placed = Counter(_place(algorithm, pod_info(pod(f"web-{i}", cpu="100m", labels={"app": "web"}, owner=owner)),
                            spread=selector) for i in range(6))
    assert placed == {"w0": 2, "w1": 2, "w2": 2}


def test_spreading_counts_pods_already_bound_and_only_those_that_match() -> None:
    cache = _cluster(node("a"), node("b"))
    for i in range(3):
        cache.set_pod(pod_info(pod(f"web-{i}", labels={"app": "web"}, node_name="a")))
        cache.set_pod(pod_info(pod(f"db-{i}", labels={"app": "db"}, node_name="b")))
    algorithm = Algorithm(cache)
    assert _place(algorithm, pod_info(pod("web-new", labels={"app": "web"})), spread=parse_selector("app=web")) == "b"


def test_least_allocated_prefers_the_emptier_node() -> None:
    cache = _cluster(node("busy", cpu="4"), node("idle", cpu="4"))
    cache.set_pod(pod_info(pod("hog", cpu="3", node_name="busy")))
    assert _place(Algorithm(cache), pod_info(pod("p", cpu="100m"))) == "idle"


def test_preferred_affinity_outweighs_a_little_load() -> None:
    cache = _cluster(node("plain"), node("ssd", labels={"disk": "ssd"}))
    cache.set_pod(pod_info(pod("some", cpu="500m", node_name="ssd")))
    prefers = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}}
    assert _place(Algorithm(cache), pod_info(pod("p", cpu="100m", spec=prefers))) == "ssd"


def test_prefer_no_schedule_taints_steer_pods_away_but_do_not_forbid() -> None:
    cache = _cluster(node("soft", taints=[{"key": "spot", "effect": "PreferNoSchedule"}]), node("hard"))
    algorithm = Algorithm(cache)
    assert _place(algorithm, pod_info(pod("p1"))) == "hard"
    cache.set_node(node("hard", unschedulable=True))
    assert _place(algorithm, pod_info(pod("p2"))) == "soft"


def test_host_ports_keep_two_pods_apart_and_then_nothing_fits() -> None:
    cache = _cluster(node("a"), node("b"))
    algorithm = Algorithm(cache)
    with_port = [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 80}]}]
    placed = {_place(algorithm, pod_info(pod(f"p{i}", containers=with_port))) for i in range(2)}
    assert placed == {"a", "b"}
    assert algorithm.schedule(pod_info(pod("p3", containers=with_port))) == FitFailure(
        "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
        frozenset({messages.NODE_PORTS}))


def test_a_taint_removed_from_a_node_lets_pods_in() -> None:
    cache = _cluster(node("n", taints=[{"key": "maintenance", "effect": "NoSchedule"}]))
    algorithm = Algorithm(cache)
    assert isinstance(algorithm.schedule(pod_info(pod("p"))), FitFailure)
    cache.set_node(node("n"))
    assert _place(algorithm, pod_info(pod("p"))) == "n"


def test_a_pod_bound_to_an_unknown_node_counts_once_the_node_appears() -> None:
    cache = SchedulerCache()
    cache.set_pod(pod_info(pod("early", cpu="1", node_name="late")))
    cache.set_node(node("late", cpu="1"))
    assert Algorithm(cache).schedule(pod_info(pod("p", cpu="100m"))) == FitFailure(
        "0/1 nodes are available: 1 Insufficient cpu.", frozenset({messages.NODE_RESOURCES_FIT}))


def test_removing_a_node_keeps_the_others_totals() -> None:
    cache = _cluster(node("a", cpu="1"), node("b", cpu="1"), node("c", cpu="1"))
    cache.set_pod(pod_info(pod("on-c", cpu="1", node_name="c")))
    cache.remove_node("a")  # c moves into a's slot
    algorithm = Algorithm(cache)
    assert _place(algorithm, pod_info(pod("p", cpu="1"))) == "b"
    assert isinstance(algorithm.schedule(pod_info(pod("q", cpu="1"))), FitFailure)


def test_successive_searches_start_where_the_last_one_stopped() -> None:
    cache = _cluster(*(node(f"n{i:03}") for i in range(500)))
    algorithm = Algorithm(cache)
    result = algorithm.schedule(pod_info(pod("p")))
    assert isinstance(result, Placement)
    assert (result.evaluated, result.feasible, algorithm.next_start) == (230, 230, 230)
    algorithm.schedule(pod_info(pod("q")))
    assert algorithm.next_start == 460


def _on_node(name: str) -> dict[str, Any]:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}]}}}}


def test_a_pod_pinned_to_one_node_by_name_is_filtered_there_only() -> None:
    cache = _cluster(node("n0", taints=[CONTROL_PLANE_TAINT]), node("n1"), node("n2"))
    algorithm = Algorithm(cache)
    assert _place(algorithm, pod_info(pod("ds-n1", spec=_on_node("n1")))) == "n1"
    assert algorithm.schedule(pod_info(pod("ds-n0", spec=_on_node("n0")))) == FitFailure(
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't satisfy plugin(s) [NodeAffinity].",
        frozenset({messages.TAINT_TOLERATION, messages.NODE_AFFINITY}))
    assert len(cache.static) == 0  # no per-template columns for pods pinned by name


def test_zones_spread_pods_away_from_a_crowded_zone() -> None:
    cache = _cluster(node("a1", labels={"topology.kubernetes.io/zone": "a"}),
                     node("a2", labels={"topology.kubernetes.io/zone": "a"}),
                     node("b1", labels={"topology.kubernetes.io/zone": "b"}))
    for i in range(2):
        cache.set_pod(pod_info(pod(f"web-a{i}", labels={"app": "web"}, node_name="a1")))
    # a2 and b1 are both empty, but a2's zone already runs two: b1 wins.
    web = pod_info(pod("web", labels={"app": "web"}))
    assert _place(Algorithm(cache), web, spread=parse_selector("app=web")) == "b1"


# ------------------------------------------------------------------------------------- agreement


def _reference_reasons(cache: SchedulerCache, info: PodInfo) -> Counter[str]:
    """Every node's reasons, filter by filter, node by node."""
    reasons: Counter[str] = Counter()
    for slot, facts in enumerate(cache.table.facts[:cache.table.size]):
        verdict = static_verdict(info, facts)
        if verdict is not None:
            reasons[verdict[1]] += 1
            continue
        ports = node_ports(info.host_ports, cache.ports_on(slot))
        if ports is not None:
            reasons[ports] += 1
            continue
        requested, count = cache.requested_on(slot)
        reasons.update(resources_fit(info.requests, facts.allocatable, requested, count))
    return reasons


def _random_node(rng: random.Random, name: str) -> Any:
    taints = [] if rng.random() < 0.7 else [{"key": rng.choice(["gpu", "spot"]), "value": rng.choice(["", "x"]),
                                             "effect": rng.choice(["NoSchedule", "PreferNoSchedule", "NoExecute"])}]
    ready = rng.random() < 0.9
    return node(name, cpu=str(rng.choice([1, 2, 4])), memory=rng.choice(["1Gi", "4Gi"]), pods=str(rng.choice([3, 110])),
                labels={"disk": rng.choice(["ssd", "hdd"])}, taints=taints, unschedulable=rng.random() < 0.1,
                conditions=[{"type": "Ready", "status": "True" if ready else "False"}])


def _random_pod(rng: random.Random, name: str) -> Any:
    spec: dict[str, Any] = {}
    if rng.random() < 0.3:
        spec["nodeSelector"] = {"disk": "ssd"}
    if rng.random() < 0.3:
        spec["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
    containers = [{"name": "a", "image": "busybox", "resources": {"requests": {
        "cpu": rng.choice(["100m", "500m", "1500m"]), "memory": rng.choice(["64Mi", "900Mi"])}}}]
    if rng.random() < 0.2:
        containers[0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    if rng.random() < 0.1:
        spec.update(_on_node(f"n{rng.randrange(32)}"))  # sometimes a node that does not exist
    return pod(name, spec=spec, containers=containers)


@pytest.mark.parametrize("seed", range(8))
def test_the_column_wise_search_agrees_with_the_filters_node_by_node(seed: int) -> None:
    rng = random.Random(seed)
    cache = _cluster(*(_random_node(rng, f"n{i}") for i in range(30)))
    algorithm = Algorithm(cache, percentage=100, rng=rng)
    for i in range(60):
        info = pod_info(_random_pod(rng, f"p{i}"))
        expected = _reference_reasons(cache, info)
        feasible = cache.table.size - sum(1 for slot in range(cache.table.size) if _refused(cache, info, slot))
        result = algorithm.schedule(info)
        if feasible:
            assert isinstance(result, Placement) and result.feasible == feasible
            assert not _refused(cache, info, cache.table.slots[result.node])
            cache.assume(info, result.node)
        else:
            assert isinstance(result, FitFailure)
            assert result.message == messages.fit_error_message(cache.table.size, expected)


def _refused(cache: SchedulerCache, info: PodInfo, slot: int) -> bool:
    facts = cache.table.facts[slot]
    requested, count = cache.requested_on(slot)
    return (static_verdict(info, facts) is not None or node_ports(info.host_ports, cache.ports_on(slot)) is not None
            or bool(resources_fit(info.requests, facts.allocatable, requested, count)))
