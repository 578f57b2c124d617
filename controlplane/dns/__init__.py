"""`kubelab dns`: the cluster DNS (Kubernetes' CoreDNS with its `kubernetes` plugin, in kubelab's words).

records.py holds what the cluster's names stand for, fed by watch caches (cache.py); answer.py is
the pure answer builder; wire.py turns packets into answers; transport.py serves UDP and TCP;
upstream.py forwards names outside the cluster domain; registration.py keeps this instance among
the endpoints of the `kube-dns` Service.
"""
