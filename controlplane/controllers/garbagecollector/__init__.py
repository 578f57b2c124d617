"""Garbage collection through ownerReferences; see controller.py."""
