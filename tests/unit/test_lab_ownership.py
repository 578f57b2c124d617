"""Which namespaces, interfaces, cgroups and mounts belong to lab P, and which do not."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from controlplane.lab.ownership import (
    cgroup_roots,
    is_node_dir,
    owned_mounts,
    owned_names,
    owns_cgroup,
    owns_name,
    parse_mountinfo,
)


@pytest.mark.parametrize(("prefix", "name", "owned"), [
    ("kl", "kl-master", True),
    ("kl", "kl-worker1", True),
    ("kl", "kl-worker1-3f2a9c0e-77aa-4c1e-9d4e-0123456789ab", True),  # a pod netns made by an agent
    ("kl", "kl-br0", True),
    ("kl", "kl-w12", True),
    ("kl", "klt123-master", False),  # another lab whose prefix starts like ours
    ("kl", "klt123-br0", False),
    ("kl", "kl", False),
    ("kl", "xkl-master", False),
    ("kl", "eth0", False),
    ("kl", "docker0", False),
    ("klt123", "kl-master", False),  # the default lab, seen from a test lab
    ("klt123", "klt123-worker2", True),
    ("klt123", "klt1234-worker2", False),
])
def test_names_belong_to_the_lab_up_to_the_dash(prefix: str, name: str, owned: bool) -> None:
    assert owns_name(prefix, name) is owned


def test_owned_names_picks_the_labs_and_sorts_them() -> None:
    names = ["lo", "eth0", "kl-br0", "klt1-br0", "kl-w1", "kl-m", "veth0", "klm-h"]
    assert owned_names("kl", names) == ["kl-br0", "kl-m", "kl-w1"]


@pytest.mark.parametrize(("prefix", "dirname", "owned"), [
    ("kl", "kubelab-kl-master", True),
    ("kl", "kubelab-kl-worker1", True),
    ("kl", "kubelab-klt123-worker1", False),
    ("kl", "kubelab", False),
    ("kl", "kubelab-kl", False),
    ("kl", "kl-master", False),
    ("kl", "system.slice", False),
    ("klt123", "kubelab-klt123-master", True),
])
def test_cgroups_belong_to_the_lab_by_their_name(prefix: str, dirname: str, owned: bool) -> None:
    assert owns_cgroup(prefix, dirname) is owned


@pytest.mark.parametrize(("name", "is_node"), [
    ("master", True), ("worker1", True), ("worker12", True),
    ("worker0", False), ("worker", False), ("lab.json", False), ("masters", False), ("worker1x", False),
])
def test_node_directories_of_the_state_dir(name: str, is_node: bool) -> None:
    assert is_node_dir(name) is is_node


MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
90 27 0:50 / /run/netns rw shared:5 - tmpfs tmpfs rw
91 90 0:4 net:[4026532300] /run/netns/kl-master rw shared:5 - nsfs nsfs rw
92 90 0:4 net:[4026532400] /run/netns/klt1-master rw shared:5 - nsfs nsfs rw
100 27 0:60 / /var/lib/kubelab/kl/worker1/agent/pods/a/volumes/cache rw - tmpfs tmpfs rw
101 100 0:61 / /var/lib/kubelab/kl/worker1/agent/pods/a/volumes/cache/sub rw - tmpfs tmpfs rw
102 27 0:62 / /var/lib/kubelab/kl/worker1/agent/pods/a/volumes/cache rw - tmpfs tmpfs rw
103 27 254:0 /srv /var/lib/kubelab/kl/master/agent/pods/b/volumes/host\\040path rw - ext4 /dev/vda rw
104 27 0:63 / /var/lib/kubelab/kl rw - tmpfs tmpfs rw
105 27 0:64 / /var/lib/kubelab/kl/extra rw - tmpfs tmpfs rw
106 27 0:65 / /var/lib/kubelab/klt1/worker1/agent/x rw - tmpfs tmpfs rw
107 27 0:66 / /var/lib/kubelab/kl-old/worker1/x rw - tmpfs tmpfs rw
"""


def test_mountinfo_is_parsed_with_escapes_and_optional_fields() -> None:
    mounts = {m.mount_id: m for m in parse_mountinfo(MOUNTINFO)}
    assert mounts[91].mount_point == PurePosixPath("/run/netns/kl-master") and mounts[91].fstype == "nsfs"
    assert mounts[103].mount_point.name == "host path"
    assert mounts[41].fstype == "cgroup2"


def test_the_labs_mounts_are_those_in_its_node_dirs_and_its_netns_files_deepest_first() -> None:
    owned = owned_mounts(parse_mountinfo(MOUNTINFO), PurePosixPath("/var/lib/kubelab/kl"), "kl")
    assert [m.mount_id for m in owned] == [101, 103, 102, 100, 91]
    # Not the state dir itself, nor what is not in a node dir, nor another lab's, nor a sibling dir.


def test_cgroup_roots_are_every_v1_and_v2_hierarchy() -> None:
    assert cgroup_roots(parse_mountinfo(MOUNTINFO)) == [PurePosixPath("/sys/fs/cgroup/memory"),
                                                        PurePosixPath("/sys/fs/cgroup/unified")]
