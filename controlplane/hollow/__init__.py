"""`kubelab hollow-nodes`: simulated nodes whose pods run without running anything (see server.py)."""
