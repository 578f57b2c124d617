"""kubelab's offline image catalog: image names, and the programs the catalog's images run."""

from agent.images.catalog import (
    CatalogError,
    HostTools,
    ImageConfig,
    ImageFile,
    SharedDir,
    discover_host_tools,
    resolve,
)
from agent.images.reference import ImageReference, InvalidReference, parse_reference

__all__ = [
    "CatalogError",
    "HostTools",
    "ImageConfig",
    "ImageFile",
    "ImageReference",
    "InvalidReference",
    "SharedDir",
    "discover_host_tools",
    "parse_reference",
    "resolve",
]
