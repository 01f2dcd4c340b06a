#!/usr/bin/env bash
# Builds the local control plane from Go modules through the module proxy and caches the binaries by version
# under ~/.cache/mlops-operator/bin/<tool>-<version>/. A tool whose binaries are cached is not rebuilt.
#   hack/build-tools.sh            build whatever is missing
#   hack/build-tools.sh --print    print the bin directories, one per line, and build nothing
set -euo pipefail
source "$(dirname "$0")/lib.sh"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
command -v go >/dev/null || die "Go >= 1.26 is required to build the control plane (https://go.dev/dl/)"

k8s_dir="$BIN_DIR/kubernetes-$K8S_VERSION"
etcd_dir="$BIN_DIR/etcd-$ETCD_VERSION"
kwok_dir="$BIN_DIR/kwok-$KWOK_VERSION"
gcs_dir="$BIN_DIR/fake-gcs-server-$FAKE_GCS_VERSION"

if [ "${1:-}" = "--print" ]; then
  printf '%s\n' "$k8s_dir" "$etcd_dir" "$kwok_dir" "$gcs_dir"; exit 0
fi
rm -rf "$BIN_DIR"/*.tmp.* 2>/dev/null || true

# build_module TOOLDIR OUTDIR LDFLAGS PKG...: builds in a copy of the wrapper module so the clone stays clean,
# then moves the binaries into place in one rename, so an interrupted build never looks cached.
build_module() {
  local tool=$1 out=$2 ldflags=$3; shift 3
  local work="$MLOPS_CACHE/build/$tool" tmp="$out.tmp.$$"
  rm -rf "$work" "$tmp"; mkdir -p "$work" "$tmp"
  cp "$HACK_DIR/tools/$tool/go.mod" "$work/"
  [ -f "$HACK_DIR/tools/$tool/go.sum" ] && cp "$HACK_DIR/tools/$tool/go.sum" "$work/"
  log "building $tool ($*) - the first build takes minutes; progress follows"
  local start=$SECONDS n=0 d=0
  # -v names each package as it is compiled: print a line every 100 so a slow first build shows it is alive.
  set +o pipefail
  (cd "$work" && go build -v -trimpath -ldflags "$ldflags" -o "$tmp/" "$@" 2>&1) |
    while IFS= read -r line; do
      case "$line" in
        "go: downloading "*)
          d=$((d + 1))
          if [ $((d % 50)) -eq 0 ]; then log "  $tool: $d modules downloaded ($((SECONDS - start))s)"; fi ;;
        *.go:*|"go: "*|"# "*|*"cannot "*) printf '%s\n' "$line" >&2 ;;
        *) n=$((n + 1))
          if [ $((n % 100)) -eq 0 ]; then log "  $tool: $n packages compiled ($((SECONDS - start))s)"; fi ;;
      esac
    done
  local status=${PIPESTATUS[0]}
  set -o pipefail
  [ "$status" -eq 0 ] || { rm -rf "$tmp"; die "building $tool failed (exit $status)"; }
  # Keep the resolved go.mod/go.sum beside the binaries: `hack/build-tools.sh` users can diff them.
  cp "$work/go.mod" "$work/go.sum" "$tmp/"
  rm -rf "$out"; mv "$tmp" "$out"
  log "built $tool in $((SECONDS - start))s: $(ls "$out" | grep -v '^go\.' | tr '\n' ' ')"
}

version_ldflags() {
  local v="v$K8S_VERSION" major=${K8S_VERSION%%.*} rest=${K8S_VERSION#*.} date
  local minor=${rest%%.*}
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local f="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f="$f -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  printf '%s' "$f"
}

have() { local d=$1; shift; for b in "$@"; do [ -x "$d/$b" ] || return 1; done; }

have "$etcd_dir" etcd || build_module etcd "$etcd_dir" "-s -w" go.etcd.io/etcd/server/v3
# The server module's main package would be named "server"; rename it.
[ -x "$etcd_dir/etcd" ] || { mv "$etcd_dir/v3" "$etcd_dir/etcd" 2>/dev/null || mv "$etcd_dir/server" "$etcd_dir/etcd"; }
have "$gcs_dir" fake-gcs-server || build_module fake-gcs-server "$gcs_dir" "-s -w" github.com/fsouza/fake-gcs-server
have "$kwok_dir" kwok || build_module kwok "$kwok_dir" "-s -w" sigs.k8s.io/kwok/cmd/kwok
have "$k8s_dir" kube-apiserver kube-controller-manager kube-scheduler kubectl ||
  build_module k8s "$k8s_dir" "$(version_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

log "control plane binaries ready under $BIN_DIR"
