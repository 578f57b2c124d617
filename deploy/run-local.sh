#!/usr/bin/env bash
# `make run`: the one-machine lab (a master and two workers as network namespaces, every daemon
# in its node), with the demo app deployed behind a LoadBalancer Service. `make down` (or
# `kubelab down`) removes all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
if [ "$(id -u)" -ne 0 ]; then
  echo "kubelab: the lab needs root (network namespaces, bridges, mounts): run 'sudo make run'" >&2
  exit 1
fi
"$bin/kubelab" up
"$bin/klctl" apply -f deploy/examples/demo.yaml
"$bin/klctl" rollout status deployment/web --timeout 120s
address=""
for _ in $(seq 60); do
  address=$("$bin/klctl" get service web -o json |
    python3 -c 'import json,sys; print(next(iter(json.load(sys.stdin)["status"].get("loadBalancer",{}).get("ingress",[])),{}).get("ip",""))')
  [ -n "$address" ] && break
  sleep 0.5
done
echo
"$bin/klctl" get nodes -o wide
echo
"$bin/klctl" get deployment,pods,service -o wide
echo
if [ -n "$address" ]; then
  echo "The demo answers at its LoadBalancer address, from this machine:"
  echo "\$ curl http://$address/"
  curl -s --max-time 5 "http://$address/" | head -5 || true
else
  echo "The Service has no LoadBalancer address yet: see 'klctl describe service web'."
fi
cat <<HINTS

Try next:
  curl http://${address:-<EXTERNAL-IP>}/                  # again: the other replica may answer
  $bin/klctl describe service web
  $bin/klctl scale deployment web --replicas 4
  $bin/klctl set image deployment/web web=kubelab/demo:2 && $bin/klctl rollout status deployment/web
  $bin/klctl rollout undo deployment/web
  $bin/klctl logs deployment/web
  $bin/klctl run -it --rm probe --image=busybox --restart=Never -- nslookup web
  $bin/klctl get members
  $bin/kubelab status
  make down                                    # removes the whole lab
HINTS
