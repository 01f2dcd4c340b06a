#!/usr/bin/env bash
# Runs the kubectl built by hack/build-tools.sh against the local control plane (or $KUBECONFIG when set).
#   npm run kubectl -- get mlops -A
set -euo pipefail
source "$(dirname "$0")/lib.sh"
kubectl=$("$HACK_DIR/build-tools.sh" --print | head -n 1)/kubectl
[ -x "$kubectl" ] || die "kubectl is not built yet: run npm run cluster:up"
export KUBECONFIG=${KUBECONFIG:-$CLUSTER_DIR/kubeconfig}
exec "$kubectl" "$@"
