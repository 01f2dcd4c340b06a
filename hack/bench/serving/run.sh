#!/usr/bin/env bash
# Serving benchmark (~10 minutes on 2 cores): our model server vs FastAPI + onnxruntime, in-process onnxruntime-node
# and a node:http echo server. Usage: hack/bench/serving/run.sh   (BENCH_SECONDS=8 per point; BENCH_OUT=results.json)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
source hack/lib.sh
source hack/ensure-node.sh
source hack/python-env.sh
command -v taskset >/dev/null || die "taskset (util-linux) is required"
if ! command -v wrk >/dev/null; then
  log "installing wrk from Debian"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi
# The peer runs as `uvicorn[standard]` would: with uvloop and httptools.
if ! "$MLOPS_PYTHON" -c 'import uvloop, httptools' 2>/dev/null; then
  log "installing uvloop and httptools into the test venv for the FastAPI peer"
  "$(dirname "$MLOPS_PYTHON")/pip" install --quiet --disable-pip-version-check uvloop httptools >&2
fi
[ "$(nproc)" -ge 2 ] || log "warning: fewer than 2 CPUs; server and load generator will share a core"
exec node hack/bench/serving/bench.ts "$@"
