"""The agent notices when it runs where its pod namespaces would be invisible to the machine."""

from __future__ import annotations

from agent.network.netns import propagation_problem

HOST = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
42 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw
43 42 0:4 net:[4026532177] /run/netns/kl-worker1 rw shared:2 - nsfs nsfs rw
"""

IP_NETNS_EXEC = """\
45 44 254:0 / / rw,relatime - ext4 /dev/vda rw
65 45 254:0 /run/netns /run/netns rw,relatime master:1 - ext4 /dev/vda rw
66 65 0:4 net:[4026532177] /run/netns/kl-worker1 rw master:2 - nsfs nsfs rw
48 45 0:39 / /sys rw,relatime - sysfs kl-worker1 rw
"""

SYSTEMD_HOST_NO_NETNS_YET = """\
25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
26 25 0:23 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw
"""

PRIVATE_TMP_SERVICE = """\
301 250 8:1 / / rw,relatime master:1 - ext4 /dev/sda1 rw
302 301 0:23 / /run rw,nosuid,nodev master:5 - tmpfs tmpfs rw
303 301 0:60 / /tmp rw - tmpfs tmpfs rw
"""


def test_the_host_mount_namespace_is_fine() -> None:
    assert propagation_problem(HOST) is None
    assert propagation_problem(SYSTEMD_HOST_NO_NETNS_YET) is None
    assert propagation_problem("") is None


def test_ip_netns_exec_and_sandboxed_services_are_refused_with_the_remedy() -> None:
    for mountinfo in (IP_NETNS_EXEC, PRIVATE_TMP_SERVICE):
        problem = propagation_problem(mountinfo)
        assert problem is not None and "nsenter --net=/run/netns/NODE" in problem
