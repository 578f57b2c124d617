"""`kubelab`: one command for every daemon and admin task (`kubelab apiserver --help`)."""

from __future__ import annotations

import sys

from controlplane.daemon import ConfigError, run
from controlplane.logs import configure_logging

USAGE = """usage: kubelab COMMAND [FLAGS]

commands:
  apiserver   the API server and its store (gRPC on :6443)

Run `kubelab COMMAND --help` for a command's flags."""


def _apiserver(argv: list[str]) -> int:
    from controlplane.apiserver import config as apiserver_config
    from controlplane.apiserver.server import serve

    try:
        config = apiserver_config.from_args(argv)
    except ConfigError as error:
        print(f"kubelab apiserver: {error}", file=sys.stderr)
        return 2
    configure_logging(config.log_level, config.log_format)  # type: ignore[arg-type]
    return run(lambda: serve(config), "kubelab apiserver")


COMMANDS = {"apiserver": _apiserver}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"kubelab: unknown command {args[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    return command(args[1:])


if __name__ == "__main__":
    sys.exit(main())
