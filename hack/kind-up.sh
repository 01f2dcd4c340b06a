#!/usr/bin/env bash
# For machines with Docker: makes a kind cluster named "mlops", installs Gateway API's standard CRDs (taken from the
# sigs.k8s.io/gateway-api Go module, the same version the tests use) and this project's CRDs.
# Not run in CI here (no Docker engine); the local control plane of hack/cluster-up.sh is the tested path.
#   hack/kind-up.sh            KIND_CLUSTER=name to choose another name
set -euo pipefail
source "$(dirname "$0")/lib.sh"
name=${KIND_CLUSTER:-mlops}
command -v docker >/dev/null && docker info >/dev/null 2>&1 || die "kind needs a running Docker engine"
command -v kind >/dev/null || die "kind is not installed (https://kind.sigs.k8s.io/docs/user/quick-start/)"
command -v kubectl >/dev/null || die "kubectl is not installed"

if ! kind get clusters 2>/dev/null | grep -qx "$name"; then
  kind create cluster --name "$name" --image "kindest/node:v$K8S_VERSION" --wait 120s
fi
ctx="kind-$name"
gw=$(go_module_dir "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION")/config/crd/standard
[ -d "$gw" ] || die "Gateway API CRDs not found in the Go module cache ($gw)"
kubectl --context "$ctx" apply --server-side -f "$gw" >/dev/null
kubectl --context "$ctx" apply --server-side -f "$REPO_ROOT/crds/" >/dev/null
for crd in trainingpipelines modelversions inferenceservices; do
  kubectl --context "$ctx" wait --for=condition=Established --timeout=60s "crd/$crd.mlops.dev" >/dev/null
done
log "kind cluster $name ready; kubectl context $ctx"
