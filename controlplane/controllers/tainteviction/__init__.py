"""Taint-based eviction: pods leave nodes with NoExecute taints they do not tolerate; see controller.py."""
