"""Container probes (startup, liveness, readiness) as the kubelet runs them.

- `state`: `ProbeState`, one probe of one container: when it is due, and the verdict its results
  add up to against successThreshold / failureThreshold. Pure; time is passed in.
- `gate`: `ProbeGate`, the probes of one container and Kubernetes' ordering rules (liveness and
  readiness wait for the startup probe; a failed liveness or startup probe means a restart).
- `checks`: the checks themselves, async and thin: httpGet, tcpSocket, grpc, exec, with the
  kubelet's failure messages.
- `events`: the text of the events probes cause (`Liveness probe failed: ...`).

The agent's loop for a running container: ask the gate which probes are `due(now)`, run each with
`checks.run_probe`, record an event for a failure, feed the result to `gate.record(...)`, and act
on the verdicts it returns (restart on a liveness or startup failure; report readiness in the
pod's status); sleep until `gate.next_due(now)`; `gate.reset(started_at)` for the next run.
"""
