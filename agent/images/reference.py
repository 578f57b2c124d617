"""Image names as Kubernetes accepts them: `[registry[:port]/]path[:tag][@digest]`. Pure.

The grammar is the distribution/reference one Kubernetes uses: path components are lowercase
alphanumerics joined by `.`, `_`, `__` or dashes; the first component is a registry when it has a
`.` or a `:` or is `localhost`; no registry means Docker Hub (`docker.io`), where a one-component
path lives under `library/`. No tag and no digest means the tag `latest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_REGISTRY = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
                       r"(?::[0-9]+)?")
_MAX_NAME = 255


class InvalidReference(ValueError):
    """Not an image name; the text is distribution/reference's ("invalid reference format...")."""


@dataclass(frozen=True, slots=True)
class ImageReference:
    registry: str  # "docker.io" for Docker Hub, whatever alias was written
    path: str  # "library/nginx", "kubelab/demo"
    tag: str  # "latest" when neither a tag nor a digest was given; "" with a digest alone
    digest: str  # "sha256:..." or ""

    @property
    def name(self) -> str:
        """Familiar short name, as `docker images` shows it: `nginx`, `kubelab/demo`, `quay.io/x/y`."""
        if self.registry in DOCKER_HUB_ALIASES:
            return self.path.removeprefix("library/")
        return f"{self.registry}/{self.path}"

    def __str__(self) -> str:
        """The normalized, fully qualified form: `docker.io/library/nginx:latest`."""
        text = f"{self.registry}/{self.path}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(image: str) -> ImageReference:
    """Parse and normalize; InvalidReference says why not."""
    if not image or len(image) > _MAX_NAME + 200:
        raise InvalidReference("invalid reference format")
    rest, _, digest = image.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise InvalidReference("invalid reference format")
    name, tag = rest, ""
    colon = rest.rfind(":")
    if colon > rest.rfind("/"):  # a ':' after the last '/' is the tag, not a registry port
        name, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise InvalidReference("invalid reference format")
    registry, path = _split_registry(name)
    if len(name) > _MAX_NAME:
        raise InvalidReference("invalid reference format: repository name must not be more than 255 characters")
    components = path.split("/")
    for component in components:
        if not _COMPONENT.fullmatch(component):
            if _COMPONENT.fullmatch(component.lower()):
                raise InvalidReference("invalid reference format: repository name must be lowercase")
            raise InvalidReference("invalid reference format")
    if registry in DOCKER_HUB_ALIASES and len(components) == 1:
        path = f"library/{path}"
    if not tag and not digest:
        tag = "latest"
    return ImageReference(registry=registry, path=path, tag=tag, digest=digest)


def _split_registry(name: str) -> tuple[str, str]:
    first, slash, remainder = name.partition("/")
    if slash and (("." in first or ":" in first) or first == "localhost"):
        if not _REGISTRY.fullmatch(first) or not remainder:
            raise InvalidReference("invalid reference format")
        return first, remainder
    if not name:
        raise InvalidReference("invalid reference format")
    return DEFAULT_REGISTRY, name
