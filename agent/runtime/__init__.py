"""Container runtimes behind one interface (interface.py); the embedded one is the default."""

from agent.runtime.embedded import EmbeddedRuntime
from agent.runtime.interface import (
    ContainerConfig,
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStatus,
    ImagePullError,
    Mount,
    Runtime,
)

__all__ = [
    "ContainerConfig",
    "ContainerNotFound",
    "ContainerNotRunning",
    "ContainerStatus",
    "EmbeddedRuntime",
    "ImagePullError",
    "Mount",
    "Runtime",
]
