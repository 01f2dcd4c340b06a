#!/usr/bin/env bash
# The one command a new user runs: brings Node >= 22 if needed, installs npm packages, builds and starts the
# local control plane, installs the CRDs, applies the example pipeline, and prints `kubectl get mlops`.
#   bash hack/up.sh          (also: npm run up, once Node >= 22 and npm packages are there)
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/ensure-node.sh

unset STORAGE_EMULATOR_HOST
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error

eval "$(hack/cluster-up.sh)"
k() { hack/kubectl.sh "$@"; }

log "installing the CRDs"
k apply --server-side --force-conflicts -f crds/ >/dev/null
for crd in trainingpipelines modelversions inferenceservices; do
  k wait --for=condition=Established --timeout=60s "crd/$crd.mlops.dev" >/dev/null
done

# A simulated GPU node, so the example's training pods have somewhere to be scheduled.
k apply --server-side -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-gpu-0
  labels: {type: kwok, kubernetes.io/hostname: kwok-gpu-0, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
  annotations: {kwok.x-k8s.io/node: fake}
status:
  capacity: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "8"}
  allocatable: {cpu: "32", memory: 256Gi, pods: "110", nvidia.com/gpu: "8"}
EOF

log "applying examples/"
k apply --server-side -f examples/namespace.yaml >/dev/null
k apply --server-side -R -f examples/ >/dev/null

echo
k get mlops -A
echo
echo "The control plane keeps running. Use it with:"
echo "  export KUBECONFIG=$CLUSTER_DIR/kubeconfig   # then: npm run kubectl -- get mlops -A"
echo "Stop it with: npm run cluster:down"
