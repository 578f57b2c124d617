"""A client that follows the ready pods of a selector and keeps requesting them, for rollout tests.

It stands in for a Service (built elsewhere) the way a service proxy works: it watches the pods
through the API, counts as endpoints the pods that are Ready, have an IP and are not being deleted,
and sends each request to the next of them. Every request is one line of JSON in the output file:
{"t": seconds, "ip": ..., "ok": true, "body": first line} or {"ok": false, "error": ...}. A moment
with no ready pod after the first success counts as a failure too. Stops on SIGTERM.

    python -m tests.support.readyclient --selector app=web --port 3000 --out requests.jsonl
(the API server comes from $KUBELAB_CONFIG, as for klctl)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from typing import IO, Any

import aiohttp

from controlplane.api import kinds
from controlplane.api.errors import ApiError
from controlplane.client import connect, load_client_config

POD = kinds.by_kind("Pod")


class ReadyPods:
    def __init__(self) -> None:
        self.ips: dict[str, str] = {}  # pod name -> IP, of ready pods only

    def update(self, event_type: str, pod: Any) -> None:
        name = pod.metadata.name
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
        if event_type == "DELETED" or pod.metadata.deletion_timestamp or not ready or not pod.status.pod_ip:
            self.ips.pop(name, None)
        else:
            self.ips[name] = pod.status.pod_ip


async def follow(namespace: str, selector: str, pods: ReadyPods) -> None:
    client = connect(load_client_config(None, None), timeout=30)
    try:
        while True:
            items, version = await client.list(POD, namespace, label_selector=selector)
            pods.ips.clear()
            for pod in items:
                pods.update("ADDED", pod)
            try:
                async for event in client.watch(POD, namespace, resource_version=version, label_selector=selector):
                    pods.update(event.type, event.object)
            except ApiError:
                continue
    finally:
        await client.close()


async def request_forever(pods: ReadyPods, port: int, interval: float, out: IO[str]) -> None:
    started = time.monotonic()
    succeeded = False
    turn = 0
    timeout = aiohttp.ClientTimeout(total=3)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(force_close=True)) as session:
        while True:
            record: dict[str, Any] = {"t": round(time.monotonic() - started, 3)}
            ips = sorted(pods.ips.values())
            if not ips:
                record.update(ok=not succeeded, error="no ready pod")
            else:
                ip = ips[turn % len(ips)]
                turn += 1
                record["ip"] = ip
                try:
                    async with session.get(f"http://{ip}:{port}/") as response:
                        body = await response.text()
                        record.update(ok=response.status == 200, status=response.status,
                                      body=body.splitlines()[0] if body else "")
                        succeeded = True
                except (aiohttp.ClientError, TimeoutError, OSError) as error:
                    record.update(ok=False, error=f"{type(error).__name__}: {error}")
            out.write(json.dumps(record) + "\n")
            out.flush()
            await asyncio.sleep(interval)


async def main(args: argparse.Namespace) -> None:
    pods = ReadyPods()
    with open(args.out, "a") as out:
        async with asyncio.TaskGroup() as group:
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
            group.create_task(follow(args.namespace, args.selector, pods))
            group.create_task(request_forever(pods, args.port, args.interval, out))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--selector", required=True)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--out", required=True)
    with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
