#!/usr/bin/env bash
# `make run`: the API server on its embedded store at 127.0.0.1:6443, with the demo applied.
# (The node agents and the lab of network namespaces take this over as they are built.)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
state=.kubelab/run
address=${KUBELAB_RUN_ADDRESS:-127.0.0.1:6443}
mkdir -p "$state"

"$bin/kubelab" apiserver --listen "$address" --data-dir "$state/apiserver" --log-format json \
  2>"$state/apiserver.log" &
apiserver=$!
trap 'kill "$apiserver" 2>/dev/null || true; wait "$apiserver" 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM

for _ in $(seq 150); do
  "$bin/klctl" --server "$address" version >/dev/null 2>&1 && break
  if ! kill -0 "$apiserver" 2>/dev/null; then
    echo "kubelab: the API server did not start; its log ($state/apiserver.log) ends with:" >&2
    tail -n 5 "$state/apiserver.log" >&2
    exit 1
  fi
  sleep 0.1
done

"$bin/klctl" --server "$address" apply -f deploy/examples/demo.yaml
echo
"$bin/klctl" --server "$address" get all
cat <<HINTS

The API server is serving on $address (store: $state/apiserver, log: $state/apiserver.log).
Try, in another terminal:
  $bin/klctl get all
  $bin/klctl describe deployment web
  $bin/klctl get svc web -o yaml
  $bin/klctl apply -f deploy/examples/demo.yaml      # again: every object "unchanged"
Ctrl-C stops it.
HINTS
wait "$apiserver"
