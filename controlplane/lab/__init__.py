"""The one-machine lab: `kubelab up`, `kubelab status`, `kubelab down`.

Nodes are network namespaces (`<prefix>-master`, `<prefix>-worker1`, ...) on a bridge in the root
namespace (`<prefix>-br0`); every daemon runs inside its node. Everything the lab makes carries
its prefix followed by a dash, and prefixes hold no dash, so one lab never claims another's things.
"""
