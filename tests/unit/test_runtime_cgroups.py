"""cgroup values with Kubernetes' arithmetic, and choosing the hierarchy from /proc/self/mountinfo."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.runtime.cgroups import (
    Cgroups,
    Hierarchies,
    Resources,
    cpu_quota_us,
    cpu_shares,
    cpu_weight,
    detect,
    parse_mountinfo,
    parse_oom_kills,
    safe_component,
    v1_settings,
    v2_settings,
)

MIB = 1024 * 1024


@pytest.mark.parametrize(("millicores", "quota"), [(700, 70_000), (1000, 100_000), (2500, 250_000), (1, 1_000),
                                                   (5, 1_000), (10, 1_000), (15, 1_500)])
def test_cpu_quota_is_millicores_of_a_100ms_period_with_a_1ms_floor(millicores: int, quota: int) -> None:
    assert cpu_quota_us(millicores) == quota


@pytest.mark.parametrize(("millicores", "shares"), [(None, 2), (0, 2), (1, 2), (100, 102), (400, 409),
                                                    (1000, 1024), (300_000, 262_144)])
def test_cpu_shares_from_the_request(millicores: int | None, shares: int) -> None:
    assert cpu_shares(millicores) == shares


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (102, 4), (1024, 39), (262_144, 10_000)])
def test_cpu_weight_is_kubernetes_conversion_of_shares(shares: int, weight: int) -> None:
    assert cpu_weight(shares) == weight


def test_v1_files_for_s1_resources() -> None:
    settings = v1_settings(Resources(memory_limit=128 * MIB, cpu_limit_millicores=700, cpu_request_millicores=400))
    assert settings == {
        "memory": [("memory.limit_in_bytes", str(128 * MIB))],
        "cpu": [("cpu.shares", "409"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "70000")],
    }


def test_v2_files_for_s1_resources() -> None:
    settings = v2_settings(Resources(memory_limit=16 * MIB, cpu_limit_millicores=700, cpu_request_millicores=400))
    assert settings == {
        "memory": [("memory.oom.group", "1"), ("memory.max", str(16 * MIB)), ("memory.swap.max", "0")],
        "cpu": [("cpu.weight", "16"), ("cpu.max", "70000 100000")],
    }


def test_no_limits_write_no_limit() -> None:
    assert v1_settings(Resources()) == {"memory": [], "cpu": [("cpu.shares", "2")]}
    assert v2_settings(Resources()) == {"memory": [("memory.oom.group", "1")], "cpu": [("cpu.weight", "1")]}


def test_oom_kill_counter_of_v1_and_v2() -> None:
    assert parse_oom_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3
    assert parse_oom_kills("low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 1\n") == 1
    assert parse_oom_kills("oom_kill_disable 0\nunder_oom 0\n") == 0


HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
UNIFIED = """\
25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
27 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""
V1_COMBINED = """\
36 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct
38 31 0:33 / /sys/fs/cgroup/memory rw,nosuid shared:17 - cgroup cgroup rw,memory
"""


def test_v1_controllers_are_chosen_where_mounted() -> None:
    found = detect(HYBRID, lambda path: "")
    assert found.version == "v1"
    assert found.v1 == {"cpu": "/sys/fs/cgroup/cpu", "memory": "/sys/fs/cgroup/memory"}
    assert detect(V1_COMBINED, lambda path: "").v1["cpu"] == "/sys/fs/cgroup/cpu,cpuacct"


def test_v2_is_chosen_when_it_offers_the_controllers() -> None:
    found = detect(UNIFIED, lambda path: "cpuset cpu io memory hugetlb pids rdma misc")
    assert (found.version, found.v2, found.controllers) == ("v2", "/sys/fs/cgroup", ("memory", "cpu"))


def test_nothing_usable_degrades_to_none() -> None:
    assert detect(UNIFIED, lambda path: "pids").version == "none"
    assert detect("", lambda path: "").version == "none"

    def unreadable(path: str) -> str:
        raise PermissionError(path)

    assert detect(UNIFIED, unreadable).version == "none"


def test_mountinfo_parsing_unescapes_paths() -> None:
    (entry,) = parse_mountinfo("40 31 0:1 / /mnt/with\\040space rw - tmpfs tmpfs rw,size=4k\n")
    assert (entry.mount_point, entry.fstype, entry.super_options) == ("/mnt/with space", "tmpfs", ("rw", "size=4k"))


def test_pod_uids_become_safe_directory_names() -> None:
    assert safe_component("4f1c2d3e-aaaa-bbbb-cccc-0123456789ab") == "4f1c2d3e-aaaa-bbbb-cccc-0123456789ab"
    assert safe_component("../x/y") == ".._x_y"
    assert safe_component("..") == "_"


def _fake_hierarchy(root: Path, parent: str, pod: str, container: str, files: list[str]) -> Path:
    """What the kernel would have made: cgroupfs files appear with each directory."""
    for level in (root, root / parent, root / parent / pod):
        level.mkdir(parents=True, exist_ok=True)
        (level / "cgroup.subtree_control").write_text("")
    leaf = root / parent / pod / container
    leaf.mkdir()
    for name in files:
        (leaf / name).write_text("max\n")
    return leaf


def test_v2_cgroup_enables_the_controllers_down_to_the_pod_and_writes_the_limits(tmp_path: Path) -> None:
    root = tmp_path / "cgroup2"
    leaf = _fake_hierarchy(root, "kubelab", "podu1", "c" * 64,
                           ["memory.max", "memory.swap.max", "memory.oom.group", "cpu.max", "cpu.weight",
                            "cgroup.procs", "memory.events"])
    (root / "cgroup.subtree_control").write_text("cpu memory\n")  # systemd's root has them already
    cgroups = Cgroups(Hierarchies("v2", v2=str(root), controllers=("memory", "cpu")), "kubelab")
    made = cgroups.create("u1", "c" * 64, Resources(memory_limit=16 * MIB, cpu_limit_millicores=250))
    assert made is not None
    assert made.procs == (str(leaf / "cgroup.procs"),)
    assert made.oom_file == str(leaf / "memory.events")
    assert (root / "cgroup.subtree_control").read_text() == "cpu memory\n"
    assert (root / "kubelab" / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (root / "kubelab" / "podu1" / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert {name: (leaf / name).read_text() for name in ("memory.max", "memory.swap.max", "memory.oom.group",
                                                         "cpu.max", "cpu.weight")} == {
        "memory.max": str(16 * MIB), "memory.swap.max": "0", "memory.oom.group": "1", "cpu.max": "25000 100000",
        "cpu.weight": "1"}


def test_v1_cgroup_writes_each_controllers_files(tmp_path: Path) -> None:
    memory = _fake_hierarchy(tmp_path / "memory", "kubelab", "podu1", "c" * 64,
                             ["memory.limit_in_bytes", "memory.oom_control", "cgroup.procs"])
    cpu = _fake_hierarchy(tmp_path / "cpu", "kubelab", "podu1", "c" * 64,
                          ["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cgroup.procs"])
    cgroups = Cgroups(Hierarchies("v1", v1={"memory": str(tmp_path / "memory"), "cpu": str(tmp_path / "cpu")},
                                  controllers=("memory", "cpu")), "/kubelab/")
    made = cgroups.create("u1", "c" * 64, Resources(memory_limit=64 * MIB, cpu_request_millicores=400))
    assert made is not None
    assert set(made.dirs) == {str(memory), str(cpu)}
    assert made.oom_file == str(memory / "memory.oom_control")
    assert (memory / "memory.limit_in_bytes").read_text() == str(64 * MIB)
    assert (cpu / "cpu.shares").read_text() == "409"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "max\n"  # no cpu limit: untouched
    assert cgroups.pod_dirs("u1") == [str(tmp_path / "cpu/kubelab/podu1"), str(tmp_path / "memory/kubelab/podu1")]


def test_no_hierarchy_means_no_cgroup_and_a_bad_parent_is_refused() -> None:
    assert Cgroups(Hierarchies("none"), "kubelab").create("u", "c" * 64, Resources(memory_limit=1)) is None
    with pytest.raises(ValueError, match="relative path"):
        Cgroups(Hierarchies("none"), "../escape")
