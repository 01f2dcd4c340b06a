#!/usr/bin/env bash
# Stops the local control plane started by hack/cluster-up.sh: only the processes whose pid files it wrote and
# whose command lines are the cached binaries. Data and logs stay in the cluster directory.
#   hack/cluster-down.sh [--quiet] [--purge]   --purge also deletes etcd data, PKI and logs
set -euo pipefail
source "$(dirname "$0")/lib.sh"
quiet=0 purge=0
for a in "$@"; do case "$a" in --quiet) quiet=1 ;; --purge) purge=1 ;; *) die "unknown flag $a" ;; esac; done

PIDS=$CLUSTER_DIR/pids
stopped=()
# Reverse start order: the API server's clients first, etcd last.
for name in operator fake-gcs-server kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  f=$PIDS/$name
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  # Ours: a cached control-plane binary, or the operator that hack/up.sh started.
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE "$BIN_DIR/|mlops-operator\.ts operator"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do [ -d "/proc/$pid" ] || break; sleep 0.25; done
    [ -d "/proc/$pid" ] && kill -9 "$pid" 2>/dev/null || true
    stopped+=("$name")
  fi
  rm -f "$f"
done
[ "$purge" = 1 ] && rm -rf "$CLUSTER_DIR"
if [ "$quiet" = 0 ]; then
  if [ ${#stopped[@]} -gt 0 ]; then log "stopped: ${stopped[*]}"; else log "no control plane of ours was running"; fi
fi
