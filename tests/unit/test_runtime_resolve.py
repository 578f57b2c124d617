"""What a container runs: Kubernetes' command/args rules, env over the image's, working directory."""

from __future__ import annotations

import pytest

from agent.runtime.resolve import DEFAULT_PATH, resolve_argv, resolve_env, resolve_working_dir

ENTRYPOINT = ("/docker-entrypoint.sh",)
CMD = ("nginx", "-g", "daemon off;")


@pytest.mark.parametrize(("command", "args", "argv"), [
    ((), (), ("/docker-entrypoint.sh", "nginx", "-g", "daemon off;")),  # image defaults
    (("sleep", "10"), (), ("sleep", "10")),  # command replaces ENTRYPOINT and drops CMD
    ((), ("echo", "hi"), ("/docker-entrypoint.sh", "echo", "hi")),  # args replace CMD
    (("sh", "-c"), ("echo $0",), ("sh", "-c", "echo $0")),  # both given
])
def test_command_and_args_over_entrypoint_and_cmd(command: tuple[str, ...], args: tuple[str, ...],
                                                   argv: tuple[str, ...]) -> None:
    assert resolve_argv(ENTRYPOINT, CMD, command, args) == argv


def test_args_alone_with_no_entrypoint_run_as_the_command() -> None:
    assert resolve_argv((), ("sh",), (), ("sleep", "5")) == ("sleep", "5")


def test_nothing_to_run_is_empty() -> None:
    assert resolve_argv((), (), (), ()) == ()


def test_container_env_overrides_the_image_and_hostname_and_home_are_added() -> None:
    env = resolve_env([("PATH", "/opt/bin:/bin"), ("PORT", "3000")], [("PORT", "8080"), ("A", "1"), ("A", "2")],
                      "web-0")
    assert env == (("PATH", "/opt/bin:/bin"), ("PORT", "8080"), ("HOSTNAME", "web-0"), ("HOME", "/root"),
                   ("A", "2"))


def test_an_image_without_path_gets_the_default_one() -> None:
    assert dict(resolve_env([], [], "p"))["PATH"] == DEFAULT_PATH


def test_the_spec_can_set_home_and_hostname() -> None:
    env = dict(resolve_env([], [("HOME", "/data"), ("HOSTNAME", "x")], "p"))
    assert (env["HOME"], env["HOSTNAME"]) == ("/data", "x")


@pytest.mark.parametrize(("image", "spec", "cwd"), [("/", "", "/"), ("/app", "", "/app"), ("/app", "/work", "/work"),
                                                   ("", "", "/"), ("/", "data", "/data")])
def test_working_dir(image: str, spec: str, cwd: str) -> None:
    assert resolve_working_dir(image, spec) == cwd
