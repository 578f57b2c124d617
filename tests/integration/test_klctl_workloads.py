"""klctl's workload verbs against a real API server and controller manager: create deployment, get,
describe, scale, set image, rollout status|history|undo|pause|resume|restart, and Recreate, history
cleanup, minReadySeconds, a progress deadline, --cascade=orphan and a controller-manager crash
mid-rollout.

Pods run on hollow nodes, bound by the real scheduler (`hollow`). The stories that need pods held
unready (a rollout watched step by step, one stuck on a version that never turns ready) have the
test play the node instead (`node`: it binds pods and reports them ready or not through the API,
and finishes deleting them), since a hollow node reports every pod ready at once."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from controlplane.api import kinds
from controlplane.api.timestamps import epoch
from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.client import ApiClient
from controlplane.client.api import modify
from tests.integration import workloads
from tests.integration.workloads import DEPLOYMENT, events_about, pods_of, replica_sets_of
from tests.support import daemon
from tests.support.daemon import ApiServerProcess, DaemonProcess
from tests.support.klctl import Klctl
from tests.support.nodeplay import AutoNode
from tests.support.wait import eventually

cluster = workloads.cluster  # fixtures
controller_manager_args = workloads.controller_manager_args
hollow = workloads.hollow
HASH = "[bcdfghjklmnpqrstvwxz2456789]+"


async def kl(klctl: Klctl, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run klctl off the event loop, so the test's node keeps working meanwhile."""
    return await asyncio.to_thread(klctl, *args, timeout=timeout)


async def ok(klctl: Klctl, *args: str) -> str:
    result = await kl(klctl, *args)
    assert result.returncode == 0, f"klctl {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def spawn(klctl: Klctl, *args: str) -> subprocess.Popen[str]:
    """klctl started in the background, its output readable as it comes."""
    env = {**os.environ, "KUBELAB_CONFIG": str(klctl.workdir / "no-such-config"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "controlplane.klctl.main", "--server", klctl.server, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=klctl.workdir, env=env)


@pytest.fixture
async def node(cluster: ApiClient) -> AsyncIterator[AutoNode]:
    async with AutoNode(cluster) as auto:
        yield auto


async def deployment_of(api: ApiClient, name: str = "web") -> apps_pb2.Deployment:
    found = await api.get(DEPLOYMENT, "default", name)
    assert isinstance(found, apps_pb2.Deployment)
    return found


async def images(api: ApiClient) -> list[str]:
    return sorted(p.spec.containers[0].image for p in await pods_of(api, selector="app=web"))


async def rolled_out(api: ApiClient, image: str, replicas: int) -> None:
    async def done() -> bool:
        d = await deployment_of(api)
        s = d.status
        assert (s.replicas, s.updated_replicas, s.available_replicas) == (replicas,) * 3, s
        assert d.spec.template.spec.containers[0].image == image
        assert await images(api) == [image] * replicas
        return True

    await eventually(done, timeout=30, what=f"{replicas} pods of {image}")


async def test_create_deployment_get_and_describe_as_kubectl_prints_them(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl) -> None:
    assert await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "3",
                    "--port", "3000") == "deployment.apps/web created\n"
    await rolled_out(cluster, "kubelab/demo:1", 3)
    d = await deployment_of(cluster)
    assert dict(d.metadata.labels) == {"app": "web"}
    container = d.spec.template.spec.containers[0]
    assert (container.name, container.ports[0].container_port) == ("demo", 3000)

    table = (await ok(klctl, "get", "deploy")).splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table[1].split()[:4] == ["web", "3/3", "3", "3"]
    wide = (await ok(klctl, "get", "deploy", "-o", "wide")).splitlines()
    assert wide[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[5:] == ["demo", "kubelab/demo:1", "app=web"]
    rs_table = (await ok(klctl, "get", "rs")).splitlines()
    assert rs_table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    rs_name, *counts = rs_table[1].split()[:4]
    assert re.fullmatch(f"web-{HASH}", rs_name) and counts == ["3", "3", "3"]

    described = await ok(klctl, "describe", "deployment", "web")
    assert "Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in described
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in described
    assert re.search(r"Available\s+True\s+MinimumReplicasAvailable", described)
    assert re.search(r"Progressing\s+True\s+NewReplicaSetAvailable", described)
    assert f"NewReplicaSet:   {rs_name} (3/3 replicas created)" in described
    assert f"Scaled up replica set {rs_name} from 0 to 3" in described
    described_rs = await ok(klctl, "describe", "rs", rs_name)
    assert "Controlled By:  Deployment/web" in described_rs
    assert "Replicas:       3 current / 3 desired" in described_rs
    assert "Pods Status:    3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described_rs
    assert "Created pod: " + rs_name in described_rs


async def test_set_image_rolls_out_and_rollout_status_follows_it(
        cluster: ApiClient, node: AutoNode, klctl: Klctl) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "4")
    await rolled_out(cluster, "kubelab/demo:1", 4)
    assert await ok(klctl, "rollout", "status", "deployment/web") == 'deployment "web" successfully rolled out\n'
    node.ready = lambda pod: False  # the new pods start but are not ready yet
    assert await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:2") == \
        "deployment.apps/web image updated\n"
    assert await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:2") == ""  # no change: silent
    status = spawn(klctl, "rollout", "status", "deploy", "web", "--timeout", "60s")
    assert status.stdout is not None
    first = await asyncio.to_thread(status.stdout.readline)  # the rollout is waiting for ready pods
    node.ready = lambda pod: True
    await node.settle()
    rest, errors = await asyncio.to_thread(status.communicate, timeout=60)
    assert status.returncode == 0, errors
    lines = [first.rstrip("\n"), *rest.splitlines()]
    assert lines[-1] == 'deployment "web" successfully rolled out'
    assert all(line.startswith('Waiting for deployment "web" rollout to finish: ') for line in lines[:-1]), lines
    assert any(re.fullmatch(r'Waiting for deployment "web" rollout to finish: \d+ out of 4 new replicas have '
                            r'been updated\.\.\.', line) for line in lines), lines
    await rolled_out(cluster, "kubelab/demo:2", 4)
    missing = await kl(klctl, "set", "image", "deployment/web", "nope=kubelab/demo:3")
    assert (missing.returncode, missing.stderr) == (1, 'error: unable to find container named "nope"\n')


async def test_history_and_undo_bring_back_an_earlier_revision(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "2")
    await rolled_out(cluster, "kubelab/demo:1", 2)
    # As the Kubernetes tutorial does it: change the image, then say why (copied to the new ReplicaSet).
    await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:2")
    await ok(klctl, "annotate", "deployment", "web", "kubernetes.io/change-cause=image 2")
    await rolled_out(cluster, "kubelab/demo:2", 2)
    await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:3")
    await ok(klctl, "annotate", "--overwrite", "deployment", "web", "kubernetes.io/change-cause=image 3")
    await rolled_out(cluster, "kubelab/demo:3", 2)

    async def causes_copied() -> bool:
        d = await deployment_of(cluster)
        causes = {rs.metadata.annotations.get("kubernetes.io/change-cause", "")
                  for rs in await replica_sets_of(cluster, d.metadata.uid)}
        assert causes == {"", "image 2", "image 3"}, causes
        return True

    await eventually(causes_copied, timeout=30, what="the change causes copied to the ReplicaSets")
    assert await ok(klctl, "rollout", "history", "deployment/web") == (
        "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         image 2\n3         image 3\n\n")
    one = await ok(klctl, "rollout", "history", "deployment/web", "--revision=2")
    assert one.startswith("deployment.apps/web with revision #2\nPod Template:\n")
    assert re.search(r"\n    Image:\s+kubelab/demo:2\n", one), one

    assert await ok(klctl, "rollout", "undo", "deployment/web") == "deployment.apps/web rolled back\n"
    await rolled_out(cluster, "kubelab/demo:2", 2)
    d = await deployment_of(cluster)
    assert d.metadata.annotations["kubernetes.io/change-cause"] == "image 2"
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "4"  # revision 2 came back as 4
    sets = await replica_sets_of(cluster, d.metadata.uid)
    back = next(rs for rs in sets if rs.spec.template.spec.containers[0].image == "kubelab/demo:2")
    assert back.metadata.annotations["deployment.kubernetes.io/revision-history"] == "2"
    assert await ok(klctl, "rollout", "undo", "deployment/web", "--to-revision=1") == \
        "deployment.apps/web rolled back\n"
    await rolled_out(cluster, "kubelab/demo:1", 2)
    assert len(await replica_sets_of(cluster, d.metadata.uid)) == 3  # no new ReplicaSet: old ones came back
    again = await ok(klctl, "rollout", "undo", "deployment/web", "--to-revision=5")
    assert again == "deployment.apps/web skipped rollback (current template already matches revision 5)\n"
    missing = await kl(klctl, "rollout", "undo", "deployment/web", "--to-revision=9")
    assert (missing.returncode, missing.stderr) == (1, "error: unable to find specified revision 9 in history\n")


async def test_a_paused_deployment_does_not_roll_until_resumed(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "3")
    await rolled_out(cluster, "kubelab/demo:1", 3)
    assert await ok(klctl, "rollout", "pause", "deployment/web") == "deployment.apps/web paused\n"
    again = await kl(klctl, "rollout", "pause", "deployment/web")
    assert (again.returncode, again.stderr) == (1, 'error: deployments.apps "web" is already paused\n')
    await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:2")
    await ok(klctl, "scale", "deployment", "web", "--replicas", "4")  # a paused deployment still scales

    async def scaled_not_rolled() -> bool:
        d = await deployment_of(cluster)
        progressing = {c.type: c.reason for c in d.status.conditions}.get("Progressing")
        assert progressing == "DeploymentPaused", d.status
        assert await images(cluster) == ["kubelab/demo:1"] * 4
        assert len(await replica_sets_of(cluster, d.metadata.uid)) == 1
        return True

    await eventually(scaled_not_rolled, timeout=30, what="4 old pods and no new ReplicaSet")
    undo = await kl(klctl, "rollout", "undo", "deployment/web")
    assert undo.returncode == 1 and "you cannot rollback a paused deployment" in undo.stderr
    restart = await kl(klctl, "rollout", "restart", "deployment/web")
    assert restart.stderr == 'error: deployments.apps "web" can\'t restart paused deployment (run rollout resume ' \
                             'first)\n'
    assert await ok(klctl, "rollout", "resume", "deployment/web") == "deployment.apps/web resumed\n"
    await rolled_out(cluster, "kubelab/demo:2", 4)
    not_paused = await kl(klctl, "rollout", "resume", "deployment/web")
    assert not_paused.stderr == 'error: deployments.apps "web" is not paused\n'


async def test_restart_rolls_every_pod_with_a_restarted_at_annotation(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "2")
    await rolled_out(cluster, "kubelab/demo:1", 2)
    before = {p.metadata.name for p in await pods_of(cluster, selector="app=web")}
    assert await ok(klctl, "rollout", "restart", "deployment/web") == "deployment.apps/web restarted\n"

    async def replaced() -> bool:
        pods = await pods_of(cluster, selector="app=web")
        assert len(pods) == 2 and not before & {p.metadata.name for p in pods}
        assert all("kubectl.kubernetes.io/restartedAt" in p.metadata.annotations for p in pods)
        return True

    await eventually(replaced, timeout=30, what="every pod replaced")


async def test_scale_in_the_middle_of_a_rollout_is_shared_in_proportion(
        cluster: ApiClient, node: AutoNode, klctl: Klctl) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "10")
    await rolled_out(cluster, "kubelab/demo:1", 10)
    node.ready = lambda pod: pod.spec.containers[0].image == "kubelab/demo:1"  # the new version never turns ready
    await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:2")
    d = await deployment_of(cluster)

    async def stuck() -> dict[str, int]:
        sizes = {rs.spec.template.spec.containers[0].image: rs.spec.replicas
                 for rs in await replica_sets_of(cluster, d.metadata.uid)}
        # 25% of 10: 3 surge pods, 2 old ones may go: new 3 ... old 8 (13 pods at most, 8 available)
        assert sizes == {"kubelab/demo:1": 8, "kubelab/demo:2": 5}, sizes
        return sizes

    await eventually(stuck, timeout=30, what="the rollout stuck on unready new pods")
    assert await ok(klctl, "scale", "deployment/web", "--replicas=20") == "deployment.apps/web scaled\n"

    async def proportional() -> bool:
        sizes = {rs.spec.template.spec.containers[0].image: rs.spec.replicas
                 for rs in await replica_sets_of(cluster, d.metadata.uid)}
        # 13 were allowed, 25 now (20 + 5 surge): 12 more, shared 8:5 -> old 8+7=15, new 5+5=10 (rounded, leftover
        # to the biggest).
        assert sizes == {"kubelab/demo:1": 15, "kubelab/demo:2": 10}, sizes
        return True

    await eventually(proportional, timeout=30, what="both ReplicaSets grown in proportion")


async def test_recreate_removes_every_old_pod_before_the_first_new_one(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl) -> None:
    manifest = klctl.write("recreate.yaml", """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {type: Recreate}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "kubelab/demo:1"}]}
""")
    await ok(klctl, "apply", "-f", manifest)
    await rolled_out(cluster, "kubelab/demo:1", 3)
    seen: list[set[str]] = []
    stop = asyncio.Event()

    async def watch_images() -> None:
        while not stop.is_set():
            pods = await pods_of(cluster, selector="app=web", active_only=False)
            seen.append({p.spec.containers[0].image for p in pods})
            await asyncio.sleep(0.02)

    watcher = asyncio.ensure_future(watch_images())
    await ok(klctl, "set", "image", "deployment/web", "web=kubelab/demo:2")
    await rolled_out(cluster, "kubelab/demo:2", 3)
    stop.set()
    await watcher
    assert not any(len(images) > 1 for images in seen), "old and new pods were seen together"
    scaling = [m for r, m in await events_about(cluster, "web") if r == "ScalingReplicaSet"]
    assert [m.split()[1] for m in scaling] == ["up", "down", "up"]


async def test_revision_history_limit_keeps_only_that_many_old_replica_sets(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "1")
    await rolled_out(cluster, "kubelab/demo:1", 1)
    d = await deployment_of(cluster)
    await modify(cluster, DEPLOYMENT, "default", "web",
                 lambda current: setattr(current.spec, "revision_history_limit", 2))
    for version in (2, 3, 4, 5):
        await ok(klctl, "set", "image", "deployment/web", f"demo=kubelab/demo:{version}")
        await rolled_out(cluster, f"kubelab/demo:{version}", 1)

    async def pruned() -> bool:
        sets = await replica_sets_of(cluster, d.metadata.uid)
        revisions = sorted(int(rs.metadata.annotations["deployment.kubernetes.io/revision"]) for rs in sets)
        assert revisions == [3, 4, 5], revisions
        return True

    await eventually(pruned, timeout=30, what="revisions 1 and 2 cleaned up")


async def test_a_rollout_that_does_not_progress_reports_its_deadline(
        cluster: ApiClient, node: AutoNode, klctl: Klctl) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "2")
    await rolled_out(cluster, "kubelab/demo:1", 2)
    await modify(cluster, DEPLOYMENT, "default", "web",
                 lambda current: setattr(current.spec, "progress_deadline_seconds", 3))
    node.ready = lambda pod: pod.spec.containers[0].image == "kubelab/demo:1"
    await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:2")
    result = await kl(klctl, "rollout", "status", "deployment/web", "--timeout", "40s")
    assert result.returncode == 1
    assert result.stderr == 'error: deployment "web" exceeded its progress deadline\n'
    d = await deployment_of(cluster)
    progressing = next(c for c in d.status.conditions if c.type == "Progressing")
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")
    assert re.fullmatch(f'ReplicaSet "web-{HASH}" has timed out progressing.', progressing.message)
    available = next(c for c in d.status.conditions if c.type == "Available")
    assert available.status == "True"  # the old pods still serve


async def test_a_controller_manager_killed_mid_rollout_finishes_it_after_a_restart(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl,
        controller_manager: DaemonProcess) -> None:
    await ok(klctl, "create", "deployment", "web", "--image", "kubelab/demo:1", "--replicas", "6")
    await rolled_out(cluster, "kubelab/demo:1", 6)
    d = await deployment_of(cluster)
    d.spec.strategy.rolling_update.max_surge.int_val = 1
    d.spec.strategy.rolling_update.max_unavailable.int_val = 0
    d.spec.min_ready_seconds = 1  # hollow pods are ready at once: a step a second keeps "halfway" seconds long
    await modify(cluster, DEPLOYMENT, "default", "web", lambda current: current.spec.CopyFrom(d.spec))
    await ok(klctl, "set", "image", "deployment/web", "demo=kubelab/demo:2")

    async def halfway() -> bool:
        return 2 <= len([i for i in await images(cluster) if i == "kubelab/demo:2"]) < 6

    await eventually(halfway, timeout=30, what="the rollout halfway")
    controller_manager.kill()
    during = await pods_of(cluster, selector="app=web")
    ready = [p for p in during if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions)]
    assert len(ready) >= 6 and len(during) <= 7  # maxUnavailable 0, maxSurge 1
    controller_manager.start()
    await rolled_out(cluster, "kubelab/demo:2", 6)
    sets = await replica_sets_of(cluster, d.metadata.uid)
    assert sorted(rs.spec.replicas for rs in sets) == [0, 6]
    pods = await pods_of(cluster, selector="app=web", active_only=False)
    assert len([p for p in pods if isinstance(p, core_pb2.Pod)]) == 6


async def test_run_creates_a_pod_as_kubectl_run_does(cluster: ApiClient, klctl: Klctl) -> None:
    assert await ok(klctl, "run", "t", "--image=busybox", "--restart=Never", "--env=A=1", "--port=80", "--",
                    "sleep", "3600") == "pod/t created\n"
    pod = await cluster.get(kinds.by_kind("Pod"), "default", "t")
    assert isinstance(pod, core_pb2.Pod)
    container = pod.spec.containers[0]
    assert dict(pod.metadata.labels) == {"run": "t"} and pod.spec.restart_policy == "Never"
    assert (container.name, list(container.args), [(e.name, e.value) for e in container.env],
            [p.container_port for p in container.ports]) == ("t", ["sleep", "3600"], [("A", "1")], [80])
    rm = await kl(klctl, "run", "u", "--image=busybox", "--rm")
    assert (rm.returncode, rm.stderr) == (1, "error: --rm should only be used for attached containers\n")
    tty = await kl(klctl, "run", "u", "--image=busybox", "-t")
    assert tty.stderr == "error: -i/--stdin is required for containers with -t/--tty=true\n"
    dry = await ok(klctl, "run", "u", "--image=nginx", "--dry-run=client", "-o", "yaml")
    assert "kind: Pod" in dry and "run: u" in dry


@pytest.fixture
def collector(apiserver: ApiServerProcess, tmp_path: Path) -> Iterator[DaemonProcess]:
    """A second controller manager running the garbage collector, which turns `--cascade=orphan` into
    the owner gone and its dependents without ownerReferences."""
    with daemon.running(daemon.controller_manager(apiserver.address, tmp_path / "collector.log",
                                                  "--controllers", "garbagecollector")) as manager:
        yield manager


async def test_deleting_a_replica_set_with_cascade_orphan_leaves_its_pods_running_without_an_owner(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl, collector: DaemonProcess) -> None:
    created = await cluster.create(workloads.replica_set(replicas=2))
    uid = created.metadata.uid  # type: ignore[attr-defined]

    async def two_running() -> list[core_pb2.Pod]:
        owned = await pods_of(cluster, uid)
        assert len(owned) == 2 and all(p.status.phase == "Running" for p in owned)
        return owned

    before = await eventually(two_running, timeout=30, what="2 running pods")
    assert await ok(klctl, "delete", "rs", "web", "--cascade=orphan") == 'replicaset.apps "web" deleted\n'

    async def orphaned() -> bool:
        left = await pods_of(cluster, selector="app=web")
        assert [p.metadata.name for p in left] == [p.metadata.name for p in before]
        assert all(not p.metadata.owner_references and p.status.phase == "Running" for p in left)
        return True

    await eventually(orphaned, timeout=30, what="the pods left running, without an owner")
    adopter = await cluster.create(workloads.replica_set("web2", replicas=2))

    async def adopted() -> bool:
        owned = await pods_of(cluster, adopter.metadata.uid)  # type: ignore[attr-defined]
        assert [p.metadata.name for p in owned] == [p.metadata.name for p in before]
        return True

    await eventually(adopted, timeout=30, what="the orphans adopted by a new ReplicaSet, none made")


async def test_min_ready_seconds_holds_old_pods_until_new_ones_stayed_ready_that_long(
        cluster: ApiClient, hollow: list[DaemonProcess], klctl: Klctl) -> None:
    manifest = klctl.write("slow.yaml", """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  minReadySeconds: 3
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "kubelab/demo:1"}]}
""")
    await ok(klctl, "apply", "-f", manifest)
    await rolled_out(cluster, "kubelab/demo:1", 1)
    await ok(klctl, "set", "image", "deployment/web", "web=kubelab/demo:2")
    d = await deployment_of(cluster)

    async def old_scaled_down() -> float:
        sizes = {rs.spec.template.spec.containers[0].image: rs.spec.replicas
                 for rs in await replica_sets_of(cluster, d.metadata.uid)}
        assert sizes.get("kubelab/demo:1") == 0, sizes
        return time.time()

    scaled_at = await eventually(old_scaled_down, timeout=30, what="the old ReplicaSet scaled to 0")
    new_pod = next(p for p in await pods_of(cluster, selector="app=web")
                   if p.spec.containers[0].image == "kubelab/demo:2")
    ready = next(c for c in new_pod.status.conditions if c.type == "Ready")
    ready_at = epoch(ready.last_transition_time)
    assert ready_at is not None
    # Times are kept to the second: the old pod went at least 3 s (less that second) after the new one was ready.
    assert scaled_at - ready_at >= 2, (scaled_at, ready_at)
    await rolled_out(cluster, "kubelab/demo:2", 1)
