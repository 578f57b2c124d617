"""A container's life as the kubelet sees it, without any I/O: restart policy, CrashLoopBackOff,
and the pod status built from what the agent observed.

- `restart`: Always / OnFailure / Never, and what a container's exit means for its pod.
- `backoff`: the per-container CrashLoopBackOff delay and its Kubernetes wording.
- `status`: a `core_pb2.PodStatus` from plain facts (`PodFacts`, `ContainerFacts`) and the previous status.
- `events`: the text of the events a lifecycle step records.
- `goformat`: Go's renderings (`time.Duration`, `%q`) that Kubernetes' messages contain.

Every function here takes the time (`now`) as an argument; nothing reads a clock or touches a process.
"""
