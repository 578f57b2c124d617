"""kubelab's control plane: the API (its typed objects and client), the API server and its store,
and the controllers that act on it."""

__version__ = "0.1.0"
