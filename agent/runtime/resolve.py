"""What a container runs: Kubernetes' command/args rules over the image's ENTRYPOINT/CMD, its env, its
working directory. Pure.

| pod spec                 | runs                    |
|--------------------------|-------------------------|
| no command, no args      | ENTRYPOINT + CMD        |
| command, no args         | command                 |
| no command, args         | ENTRYPOINT + args       |
| command and args         | command + args          |
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def resolve_argv(entrypoint: tuple[str, ...], cmd: tuple[str, ...], command: tuple[str, ...],
                 args: tuple[str, ...]) -> tuple[str, ...]:
    """The process's argv; empty when neither the image nor the spec says what to run."""
    if command:
        return command + args
    return entrypoint + (args if args else cmd)


def resolve_env(image_env: Iterable[tuple[str, str]], container_env: Iterable[tuple[str, str]],
                hostname: str) -> tuple[tuple[str, str], ...]:
    """The image's env, then HOSTNAME and HOME as container runtimes add them, then the container's own
    (a name given again replaces the earlier value in place; the last one wins)."""
    merged: dict[str, str] = {"PATH": DEFAULT_PATH}
    merged.update(image_env)
    merged["HOSTNAME"] = hostname
    merged.setdefault("HOME", "/root")
    for name, value in container_env:
        merged[name] = value
    return tuple(merged.items())


def resolve_working_dir(image_working_dir: str, container_working_dir: str) -> str:
    cwd = container_working_dir or image_working_dir or "/"
    return cwd if cwd.startswith("/") else "/" + cwd
