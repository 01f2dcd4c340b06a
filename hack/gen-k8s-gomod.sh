#!/usr/bin/env bash
# Regenerates hack/tools/k8s/go.mod for K8S_VERSION: k8s.io/kubernetes requires its staging modules at v0.0.0
# and replaces them with local paths, so a consumer must map each to the published tag v0.<minor>.<patch>.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
cd "$HACK_DIR/tools/k8s"
printf 'module mlops.dev/hack/tools/k8s\n\ngo 1.26.0\n' > go.mod
rm -f go.sum
gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[ -f "$gomod" ] || die "could not download k8s.io/kubernetes@v$K8S_VERSION"
if grep -E '=>' "$gomod" | grep -qv '\./staging/'; then
  die "k8s.io/kubernetes go.mod has a replace outside staging/: copy it by hand"
fi
for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/k8s\.io/.*|\1|p' "$gomod"); do
  go mod edit "-replace=$m=$m@v0.${K8S_VERSION#1.}"
done
go mod edit "-require=k8s.io/kubernetes@v$K8S_VERSION"
log "wrote hack/tools/k8s/go.mod for Kubernetes $K8S_VERSION; run hack/build-tools.sh to fill go.sum"
