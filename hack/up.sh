#!/usr/bin/env bash
# The one command a new user runs. On a fresh machine it:
#   1. brings Node >= 22 if needed, installs npm packages and the Python environment of the example;
#   2. builds (first time) and starts the local control plane, installs the CRDs, adds a simulated GPU node;
#   3. trains the ad-click example for real (scikit-learn -> ONNX) and uploads model and eval set to the local
#      GCS emulator under the URIs that examples/ad-click/ names;
#   4. applies examples/ (with the checksum of the model just trained), starts the operator, waits for the
#      evaluation gate's verdict on ad-click-v1, and prints `kubectl get mlops`.
# The control plane and the operator keep running afterwards; `npm run cluster:down` stops both.
#   bash hack/up.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/ensure-node.sh
unset STORAGE_EMULATOR_HOST

[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
source hack/python-env.sh

hack/cluster-up.sh >/dev/null
# shellcheck disable=SC1091
source "$CLUSTER_DIR/env"
export KUBECONFIG
k() { "$MLOPS_KUBECTL" "$@"; }

log "installing the CRDs"
k apply --server-side --force-conflicts -f crds/trainingpipelines.yaml -f crds/modelversions.yaml \
  -f crds/inferenceservices.yaml >/dev/null
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

# --- Train ad-click on synthetic data, as its training pod would, and put the results where the example says.
work=$CLUSTER_DIR/demo
rm -rf "$work" && mkdir -p "$work"
log "training examples/ad-click (scikit-learn -> ONNX) on synthetic data"
"$MLOPS_PYTHON" examples/ad-click/train/make_data.py "$work" >/dev/null
MLOPS_RUN=local MLOPS_MODEL=ad-click MLOPS_DATA_URI="file://$work/raw/" MLOPS_EVAL_URI="file://$work/eval.csv" \
  MLOPS_OUTPUT_URI="file://$work/out/" MLOPS_HYPERPARAMETERS='{}' \
  "$MLOPS_PYTHON" examples/ad-click/train/train.py >"$work/train.log"
sha=$(sha256sum "$work/out/model.onnx" | cut -d' ' -f1)
size=$(stat -c %s "$work/out/model.onnx")

gcs=$MLOPS_GCS_ENDPOINT
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"name":"acme-ml"}' "$gcs/storage/v1/b" 2>/dev/null || true
upload() { # local-file object-name
  curl -fsS -o /dev/null -X POST --data-binary "@$1" -H 'Content-Type: application/octet-stream' \
    "$gcs/upload/storage/v1/b/acme-ml/o?uploadType=media&name=$2"
}
mv_uri=$(sed -n 's|^ *uri: gs://acme-ml/\(.*model\.onnx\)$|\1|p' examples/ad-click/modelversion.yaml)
upload "$work/out/model.onnx" "$mv_uri"
upload "$work/eval.csv" ad-click/eval.csv
log "uploaded gs://acme-ml/$mv_uri (sha256 ${sha:0:12}..., $size bytes) and gs://acme-ml/ad-click/eval.csv"

log "applying examples/"
k apply --server-side -f examples/namespace.yaml >/dev/null
# ModelVersion specs are immutable: a rerun that trained a different model replaces ad-click-v1.
if [ "$(k get mv ad-click-v1 -n ml -o jsonpath='{.spec.artifact.sha256}' 2>/dev/null)" != "$sha" ]; then
  k delete mv ad-click-v1 -n ml --ignore-not-found --wait=true >/dev/null
fi
for f in $(find examples -name '*.yaml' ! -name namespace.yaml | sort); do
  if [ "$f" = examples/ad-click/modelversion.yaml ]; then
    sed -e "s|^\( *sha256:\).*|\1 $sha|" -e "s|^\( *sizeBytes:\).*|\1 $size|" "$f" | k apply --server-side -f - >/dev/null
  else
    k apply --server-side -f "$f" >/dev/null
  fi
done

# --- The operator, as a local process with the admin identity (in a cluster it runs from manifests/).
pidfile=$CLUSTER_DIR/pids/operator
if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
  log "starting the operator (log: $CLUSTER_DIR/logs/operator.log)"
  setsid node operator/src/cli/mlops-operator.ts operator --leader-elect=false --namespaces=ml \
    --metrics-bind-address=127.0.0.1:18080 --gcs-endpoint="$gcs" --gate-work-dir="$CLUSTER_DIR/gate" \
    >"$CLUSTER_DIR/logs/operator.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
fi

log "waiting for the evaluation gate's verdict on ad-click-v1"
for _ in $(seq 1 240); do
  phase=$(k get mv ad-click-v1 -n ml -o jsonpath='{.status.phase}' 2>/dev/null || true)
  case "$phase" in Passed | Failed) break ;; esac
  kill -0 "$(cat "$pidfile")" 2>/dev/null || die "the operator exited; see $CLUSTER_DIR/logs/operator.log"
  sleep 0.5
done

echo
k get mlops -n ml
echo
k get mv ad-click-v1 -n ml -o jsonpath='{range .status.gate.checks[*]}  {.metric}: {.value} (threshold {.threshold}) {.reason}{"\n"}{end}' || true
echo
echo "The control plane and the operator keep running. Use them with:"
echo "  export KUBECONFIG=$KUBECONFIG"
echo "  npm run kubectl -- get mlops -A"
echo "Stop both with: npm run cluster:down"
