"""The controllers of `kubelab controller-manager`, one module each, over shared watch caches."""
