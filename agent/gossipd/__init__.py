"""`kubelab gossip`: one member of the gossip cluster on its own, without the rest of the agent
(to try the library, to join a machine that runs no pods, and for bench/gossip_bench.py)."""
