"""`kubelab controller-manager`: every controller of the control plane in one daemon."""
