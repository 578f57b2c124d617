"""`klctl`: kubectl's verbs against a kubelab API server.

Every failure is one line on stderr and exit status 1, worded as kubectl words it
(`Error from server (NotFound): pods "web" not found`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from controlplane import __version__
from controlplane.api import codec
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import UnknownKind
from controlplane.client import ClientConfig, connect, load_client_config
from controlplane.client.config import ClientConfigError
from controlplane.klctl import verbs_members, verbs_read, verbs_services, verbs_streams, verbs_workloads, verbs_write
from controlplane.klctl.context import Context, UsageError, Verb
from controlplane.klctl.manifests import ManifestError


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line, as every other klctl error; and for a verb that takes a
    command (`set_defaults(takes_command=True)`: exec), everything after `--` is its `command`."""

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: Any = None) -> tuple[Any, list[str]]:
        if self.get_default("takes_command") and args is not None and "--" in args:
            words = list(args)
            cut = words.index("--")
            parsed, extra = super().parse_known_args(words[:cut], namespace)
            parsed.command = words[cut + 1:]
            return parsed, extra
        parsed, extra = super().parse_known_args(args, namespace)
        if self.get_default("words_anywhere") and extra:
            # kubectl takes flags between its words (`annotate deploy web --overwrite k=v`): words that
            # argparse left over after a flag belong to the verb's `words`.
            parsed.words = [*parsed.words, *(word for word in extra if not word.startswith("-"))]
            extra = [word for word in extra if word.startswith("-")]
        return parsed, extra

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(1)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="klctl", description="Talk to a kubelab cluster, the way kubectl talks to Kubernetes.")
    parser.add_argument("--server", "-s", help="API server HOST:PORT (overrides the client config)")
    parser.add_argument("--config", type=Path, help="client config file (default: $KUBELAB_CONFIG or "
                                                    "~/.kubelab/config)")
    parser.add_argument("--namespace", "-n", help="namespace to work in")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds to wait for an answer")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs_read.add_parsers(verbs)
    create_kinds = verbs_write.add_parsers(verbs)  # other verb modules add `create` kinds to it
    verbs_services.add_parsers(verbs, create_kinds)
    verbs_streams.add_parsers(verbs)
    verbs_workloads.add_parsers(verbs, create_kinds)
    verbs_members.add_parsers(verbs)
    version = verbs.add_parser("version", help="client and server versions")
    version.set_defaults(run=_version)
    return parser


async def _version(context: Context, args: argparse.Namespace) -> int:
    print(f"Client Version: v{__version__}")
    info = await context.client.server_info()
    print(f"Server Version: v{info.version} (store {info.store}, revision {info.revision})")
    return 0


def _describe_error(error: Exception, config: ClientConfig | None) -> str:
    if isinstance(error, ApiError):
        if error.reason is Reason.UNAVAILABLE:
            server = config.server if config else "the API server"
            return (f"The connection to the server {server} was refused - did you specify the right host "
                    f"or port? ({error.message})")
        return f"Error from server ({error.reason.value}): {error.message}"
    if isinstance(error, codec.DecodeError):
        return f"error: {error}"
    return f"error: {error}"


async def _run(args: argparse.Namespace) -> int:
    config = load_client_config(args.config, args.server)
    client = connect(config, timeout=args.request_timeout)
    try:
        context = Context(client, config, args.namespace or config.namespace, bool(args.namespace),
                          datetime.now(UTC))
        run: Verb = args.run
        try:
            return await run(context, args)
        except (ApiError, ManifestError, UnknownKind, UsageError, codec.DecodeError) as error:
            print(_describe_error(error, config), file=sys.stderr)
            return 1
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0 if args.verb is None else 1
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130
    except ClientConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
