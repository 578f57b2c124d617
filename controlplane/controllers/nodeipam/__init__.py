"""Node IPAM: every Node gets a pod range (spec.podCIDR) of its own from the cluster CIDR."""
