"""Which daemon runs where with which flags, from the lab's table."""

from __future__ import annotations

from pathlib import Path

from controlplane.lab.daemons import DAEMONS, Stage, launches
from controlplane.lab.plan import plan_lab

STATE = Path("/var/lib/kubelab/kl")


def test_the_api_server_runs_on_the_master_then_the_controller_manager_and_an_agent_on_every_node() -> None:
    todo = launches(plan_lab(), STATE, ["apiserver", "controller-manager", "agent"])
    assert [(launch.daemon, launch.node.name, launch.stage) for launch in todo] == [
        ("apiserver", "master", Stage.API),
        ("controller-manager", "master", Stage.NODES),
        ("agent", "master", Stage.NODES),
        ("agent", "worker1", Stage.NODES),
        ("agent", "worker2", Stage.NODES),
    ]
    assert [launch.log for launch in todo] == [STATE / "master/apiserver.log", STATE / "master/controller-manager.log",
                                               STATE / "master/agent.log", STATE / "worker1/agent.log",
                                               STATE / "worker2/agent.log"]


def test_the_scheduler_runs_on_the_master_once_the_api_server_is_up() -> None:
    todo = [(launch.daemon, launch.node.name, launch.stage, launch.args) for launch in launches(plan_lab(), STATE)
            if launch.daemon == "scheduler"]
    assert todo == [("scheduler", "master", Stage.NODES, ("--server", "10.240.0.10:6443"))]


def test_the_controller_manager_runs_on_the_master_and_dns_on_every_node_once_the_api_answers() -> None:
    todo = launches(plan_lab(), STATE, ["apiserver", "controller-manager", "dns"])
    assert [(launch.daemon, launch.node.name, launch.stage) for launch in todo] == [
        ("apiserver", "master", Stage.API),
        ("controller-manager", "master", Stage.NODES),
        ("dns", "master", Stage.NODES),
        ("dns", "worker1", Stage.NODES),
        ("dns", "worker2", Stage.NODES),
    ]
    assert todo[1].args[:2] == ("--server", "10.240.0.10:6443")
    assert todo[3].args == ("--server", "10.240.0.10:6443", "--node-name", "worker1", "--node-ip", "10.240.0.11",
                            "--resolv-conf", "")


def test_a_proxy_runs_on_every_node_once_the_api_answers() -> None:
    todo = launches(plan_lab(), STATE, ["proxy"])
    assert [(launch.daemon, launch.node.name, launch.stage) for launch in todo] == [
        ("proxy", "master", Stage.NODES),
        ("proxy", "worker1", Stage.NODES),
        ("proxy", "worker2", Stage.NODES),
    ]


def test_proxy_flags_name_the_node_its_service_interface_and_the_labs_lb_pool() -> None:
    import ipaddress

    plan = plan_lab("klt0a1b2c", ipaddress.IPv4Network("10.243.7.0/24"), 1)
    proxies = {launch.node.name: launch.args for launch in launches(plan, Path("/tmp/s"), ["proxy"])}
    assert proxies["worker1"] == ("--server", "10.243.7.10:6443", "--node-name", "worker1", "--node-ip",
                                  "10.243.7.11", "--lb-pool", "10.243.7.200-10.243.7.250",
                                  "--interface", "klt0a1b2c-svc0")
    manager = launches(plan, Path("/tmp/s"), ["controller-manager"])[0]
    assert manager.args[-2:] == ("--lb-pool", "10.243.7.200-10.243.7.250")  # the same pool


def test_apiserver_flags_use_the_labs_addresses() -> None:
    apiserver = launches(plan_lab(), STATE, ["apiserver"])[0]
    assert apiserver.args == ("--listen", "10.240.0.10:6443", "--data-dir", "/var/lib/kubelab/kl/master/apiserver",
                              "--advertise-address", "10.240.0.10", "--default-not-ready-toleration-seconds", "10",
                              "--default-unreachable-toleration-seconds", "10")


def test_the_controller_manager_talks_to_the_labs_api_server_with_short_node_timings() -> None:
    manager = launches(plan_lab(), STATE, ["controller-manager"])[0]
    assert manager.args == ("--server", "10.240.0.10:6443", "--node-monitor-period", "1",
                            "--node-monitor-grace-period", "6", "--node-startup-grace-period", "20",
                            "--gossip-witness", "127.0.0.1:10250", "--lb-pool", "10.240.0.200-10.240.0.250")


def test_agent_flags_name_the_node_its_network_and_cgroup_and_taint_the_master() -> None:
    import ipaddress

    plan = plan_lab("klt0a1b2c", ipaddress.IPv4Network("10.243.7.0/24"), 1)
    agents = {launch.node.name: launch.args for launch in launches(plan, Path("/tmp/s"), ["agent"])}
    assert agents["worker1"] == (
        "--server", "10.243.7.10:6443", "--node-name", "worker1", "--node-ip", "10.243.7.11",
        "--pod-cidr", "10.244.1.0/24", "--state-dir", "/tmp/s/worker1/agent", "--netns-prefix", "klt0a1b2c-worker1",
        "--bridge", "klt0a1b2c-cbr0", "--cgroup-parent", "kubelab-klt0a1b2c-worker1", "--heartbeat-interval", "1",
        "--join", "10.243.7.10", "--gossip-keyring-file", "/tmp/s/worker1/gossip.keyring")
    assert agents["master"][agents["master"].index("--join") + 1] == "10.243.7.11"
    assert agents["master"][-4:] == ("--register-with-taints", "node-role.kubernetes.io/control-plane=:NoSchedule",
                                     "--node-labels", "node-role.kubernetes.io/control-plane=")


def test_a_selection_starts_only_those_daemons() -> None:
    assert {launch.daemon for launch in launches(plan_lab(), STATE, ["apiserver"])} == {"apiserver"}
    assert launches(plan_lab(), STATE, []) == []


def test_every_daemon_of_the_table_has_a_unique_name_and_some_role() -> None:
    names = [spec.name for spec in DAEMONS]
    assert len(names) == len(set(names)) and all(spec.roles for spec in DAEMONS)


def test_a_daemon_enters_its_nodes_network_namespace_only() -> None:
    from controlplane.lab.config import UpConfig
    from controlplane.lab.up import daemon_argv

    launch = launches(plan_lab(), STATE, ["apiserver"])[0]
    argv = daemon_argv(UpConfig(kubelab=("/venv/bin/kubelab",)), launch)
    assert argv[:4] == ("nsenter", "--net=/run/netns/kl-master", "/venv/bin/kubelab", "apiserver")
    assert argv[4:] == launch.args
