"""The client config (kubeconfig's analogue): where the API server is and how to trust it.

Found at `--config FILE`, else `$KUBELAB_CONFIG`, else `~/.kubelab/config`; with none of them the
client talks to 127.0.0.1:6443 in plaintext. The file is YAML:

    server: 10.240.0.10:6443
    namespace: default        # optional: the namespace verbs use without -n
    ca: /path/ca.crt          # optional: TLS (with cert and key for mTLS)
    cert: /path/client.crt
    key: /path/client.key
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_SERVER = "127.0.0.1:6443"


class ClientConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ClientConfig:
    server: str = DEFAULT_SERVER
    namespace: str = "default"
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    source: str = "built-in default"


def default_path() -> Path:
    explicit = os.environ.get("KUBELAB_CONFIG")
    return Path(explicit) if explicit else Path.home() / ".kubelab" / "config"


def load_client_config(path: Path | None = None, server: str | None = None) -> ClientConfig:
    """The config to use: `path` (must exist) or the default location (may be absent); `server` wins."""
    file = path if path is not None else default_path()
    config = ClientConfig()
    if path is not None or file.exists():
        config = _read(file)
    if server:
        config = ClientConfig(server, config.namespace, config.ca, config.cert, config.key, "--server")
    return config


def _read(file: Path) -> ClientConfig:
    try:
        data = yaml.safe_load(file.read_text())
    except OSError as error:
        raise ClientConfigError(f"client config {file}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ClientConfigError(f"client config {file}: not valid YAML ({error})".replace("\n", " ")) from None
    if not isinstance(data, dict) or not isinstance(data.get("server"), str):
        raise ClientConfigError(f"client config {file}: needs a `server: HOST:PORT` line")
    unknown = set(data) - {"server", "namespace", "ca", "cert", "key"}
    if unknown:
        raise ClientConfigError(f"client config {file}: unknown field {sorted(unknown)[0]!r}")

    def path_of(name: str) -> Path | None:
        value = data.get(name)
        return (file.parent / value) if value else None

    return ClientConfig(data["server"], str(data.get("namespace") or "default"), path_of("ca"),
                        path_of("cert"), path_of("key"), str(file))


def write_client_config(file: Path, config: ClientConfig) -> None:
    """Write a config file (used by `kubelab up` and `kubelab init`)."""
    data: dict[str, str] = {"server": config.server, "namespace": config.namespace}
    for name in ("ca", "cert", "key"):
        value = getattr(config, name)
        if value is not None:
            data[name] = str(value)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(yaml.safe_dump(data, sort_keys=False))
