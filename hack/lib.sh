# shellcheck shell=bash
# Shared settings for the hack/ scripts. Source it; it defines no behaviour of its own.

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HACK_DIR/.." && pwd)

# Versions of the Go-built control plane. Bump here; the cache is keyed by them.
K8S_VERSION=${K8S_VERSION:-1.36.3}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
KWOK_VERSION=${KWOK_VERSION:-0.8.0}
FAKE_GCS_VERSION=${FAKE_GCS_VERSION:-1.56.1}
GATEWAY_API_VERSION=${GATEWAY_API_VERSION:-1.6.1}

MLOPS_CACHE=${MLOPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-operator}
BIN_DIR="$MLOPS_CACHE/bin"
# Where `cluster:up` keeps its PKI, data, logs and pid files.
CLUSTER_DIR=${MLOPS_CLUSTER_DIR:-$MLOPS_CACHE/cluster}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Ports of the local control plane, all on 127.0.0.1. Uncommon defaults so a developer's own cluster is spared.
ETCD_CLIENT_PORT=${ETCD_CLIENT_PORT:-23790}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-23800}
APISERVER_PORT=${APISERVER_PORT:-16443}
KCM_PORT=${KCM_PORT:-16257}
SCHEDULER_PORT=${SCHEDULER_PORT:-16259}
FAKE_GCS_PORT=${FAKE_GCS_PORT:-14443}

# shared/ beside the clone holds third-party data for the project's tests; a user's clone has none, and then the
# same files come from the Go modules that build-tools.sh downloads.
SHARED_DIR=${MLOPS_SHARED_DIR:-$REPO_ROOT/../shared}

# go_module_dir MODULE@VERSION: the read-only directory of a downloaded Go module.
go_module_dir() {
  (cd "$HACK_DIR/tools/kwok" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "$1") |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}
