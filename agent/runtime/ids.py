"""Container ids: 64 lowercase hex digits, like Docker's and containerd's. Pure."""

from __future__ import annotations

import re
import secrets

_ID = re.compile(r"[0-9a-f]{64}")


def new_container_id() -> str:
    return secrets.token_hex(32)


def is_container_id(text: str) -> bool:
    """Whether `text` can name a container (and is safe as a path component)."""
    return bool(_ID.fullmatch(text))


def short_id(container_id: str) -> str:
    return container_id[:12]
