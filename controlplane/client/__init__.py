"""The API client every kubelab component and `klctl` use."""

from controlplane.client.api import ApiClient, WatchEvent, connect, modify
from controlplane.client.config import ClientConfig, load_client_config

__all__ = ["ApiClient", "ClientConfig", "WatchEvent", "connect", "load_client_config", "modify"]
