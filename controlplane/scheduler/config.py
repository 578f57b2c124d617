"""The scheduler's settings, built from flags and env vars (KUBELAB_SCHEDULER_<FLAG>) in one place.
Defaults are kube-scheduler's."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from controlplane.daemon import ConfigError, add_log_flags, at_least_one, flag_adder, not_negative, positive
from controlplane.scheduler.messages import DEFAULT_SCHEDULER_NAME

DAEMON = "SCHEDULER"


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    # The API server, HOST:PORT.
    server: str = "127.0.0.1:6443"
    # Pods whose spec.schedulerName is this (or empty) are ours.
    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    # Share of the nodes to find feasible before scoring (percentageOfNodesToScore); 0 = adaptive:
    # 50% minus 1% per 125 nodes, at least 5%, and never fewer than 100 nodes.
    percentage_of_nodes_to_score: int = 0
    # Back-off of a pod that failed: first delay and cap (podInitialBackoffSeconds, podMaxBackoffSeconds).
    pod_initial_backoff: float = 1.0
    pod_max_backoff: float = 10.0
    # A pod no cluster event helped is tried again after this long anyway
    # (podMaxInUnschedulablePodsDuration).
    max_unschedulable_duration: float = 300.0
    # Bindings written at once, and how many may be pending before scheduling waits for them. Enough
    # in flight for 1,000 pods/s when a loaded API server answers a binding in 100-250 ms.
    parallel_binds: int = 256
    max_pending_binds: int = 2000
    # How long the scheduling loop runs before it lets watch events and bindings through.
    batch_seconds: float = 0.02
    # How often the counters (attempts, bound, failed) are logged; 0 = never.
    stats_interval: float = 10.0
    log_level: str = "info"
    log_format: str = "auto"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab scheduler",
                                description="The kubelab scheduler: binds pending pods to nodes.")
    d = SchedulerConfig()
    flag = flag_adder(p, DAEMON)

    flag("--server", d.server, "API server HOST:PORT")
    flag("--scheduler-name", d.scheduler_name, "schedule the pods whose spec.schedulerName is this")
    flag("--percentage-of-nodes-to-score", d.percentage_of_nodes_to_score,
         "share of nodes to find feasible before scoring, 0-100 (0 = adaptive, as kube-scheduler)", type=int)
    flag("--pod-initial-backoff", d.pod_initial_backoff, "seconds a pod waits after its first failed attempt",
         type=float)
    flag("--pod-max-backoff", d.pod_max_backoff, "the most seconds a pod waits between attempts", type=float)
    flag("--max-unschedulable-duration", d.max_unschedulable_duration,
         "seconds after which an unschedulable pod is tried again even if nothing changed", type=float)
    flag("--parallel-binds", d.parallel_binds, "bindings written at once", type=int)
    flag("--max-pending-binds", d.max_pending_binds, "bindings that may wait before scheduling pauses", type=int)
    flag("--batch-seconds", d.batch_seconds, "seconds of scheduling between chances for watch events", type=float)
    flag("--stats-interval", d.stats_interval, "seconds between logs of the counters (0 = never)", type=float)
    add_log_flags(p, DAEMON)
    return p


def from_args(argv: list[str]) -> SchedulerConfig:
    args = parser().parse_args(argv)
    if not 0 <= args.percentage_of_nodes_to_score <= 100:
        raise ConfigError("--percentage-of-nodes-to-score must be between 0 and 100")
    positive(args, "pod_initial_backoff", "pod_max_backoff", "max_unschedulable_duration", "batch_seconds")
    if args.pod_max_backoff < args.pod_initial_backoff:
        raise ConfigError("--pod-max-backoff must not be less than --pod-initial-backoff")
    at_least_one(args, "parallel_binds", "max_pending_binds")
    not_negative(args, "stats_interval")
    if not args.scheduler_name:
        raise ConfigError("--scheduler-name must not be empty")
    return SchedulerConfig(
        server=args.server, scheduler_name=args.scheduler_name,
        percentage_of_nodes_to_score=args.percentage_of_nodes_to_score,
        pod_initial_backoff=args.pod_initial_backoff, pod_max_backoff=args.pod_max_backoff,
        max_unschedulable_duration=args.max_unschedulable_duration, parallel_binds=args.parallel_binds,
        max_pending_binds=args.max_pending_binds, batch_seconds=args.batch_seconds,
        stats_interval=args.stats_interval, log_level=args.log_level, log_format=args.log_format)
