"""`kubelab scheduler`: binds pending pods to nodes, as kube-scheduler does (see server.py)."""
