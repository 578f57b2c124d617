"""Namespace deletion: everything inside goes, then the namespace; see controller.py."""
