"""Logs, exec and port-forward on the node: the agent's NodeStreams gRPC service (port 10250).

The agent core starts it with the runtime and a lookup of the pods it runs, by uid (the pod as the
API last said, for its name, containers and status.podIP), and stops it on the way out:

    def pod_by_uid(uid: str) -> core_pb2.Pod | None:
        worker = manager.workers.get(uid)
        return worker.pod if worker is not None else None

    streams = await serve_streams(config.listen, NodeStreamsService(runtime, pod_by_uid))
    try:
        ...  # the agent's task group
    finally:
        await streams.stop(1.0)
"""

from agent.streams.service import NodeStreamsService, serve_streams

__all__ = ["NodeStreamsService", "serve_streams"]
