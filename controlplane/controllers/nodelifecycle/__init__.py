"""Node lifecycle: NotReady after a silent grace period, the node.kubernetes.io taints, pods marked
not ready; see controller.py."""
