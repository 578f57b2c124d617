#!/usr/bin/env bash
# `make run`: the one-machine lab (a master and two workers as network namespaces, every daemon
# in its node), with the demo app deployed. `make down` (or `kubelab down`) removes all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
if [ "$(id -u)" -ne 0 ]; then
  echo "kubelab: the lab needs root (network namespaces, bridges, mounts): run 'sudo make run'" >&2
  exit 1
fi
"$bin/kubelab" up
"$bin/klctl" apply -f deploy/examples/demo.yaml
echo "waiting for the demo pods to be Ready..."
for _ in $(seq 120); do
  ready=$("$bin/klctl" get pods -l app=web --no-headers 2>/dev/null | awk '$2 == "1/1"' | wc -l)
  [ "$ready" -eq 2 ] && break
  sleep 0.5
done
"$bin/klctl" get pods -o wide
ip=$("$bin/klctl" get pod web-1 -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"].get("podIP",""))')
echo
echo "The demo answers at its pod IP, from inside the cluster's network:"
ip netns exec kl-worker1 curl -s "http://$ip:3000/" | head -5 || true
cat <<HINTS

Try next:
  $bin/klctl get nodes -o wide
  $bin/klctl describe pod web-1
  sudo ip netns exec kl-worker1 curl -s http://$ip:3000/
  $bin/klctl logs web-1
  $bin/klctl exec web-1 -- env | grep GREETING
  $bin/klctl port-forward pod/web-1 8080:3000   # then, in another terminal: curl localhost:8080
  $bin/kubelab status
  make down                                     # removes the whole lab
HINTS
