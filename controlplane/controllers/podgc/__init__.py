"""Pod garbage collection: pods whose node is gone, too many terminated pods; see controller.py."""
