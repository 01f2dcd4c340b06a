#!/usr/bin/env bash
# Starts a real Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok (simulated nodes and pod lifecycle) and fake-gcs-server. Builds the binaries first if
# they are not cached. Idempotent: a healthy running control plane is reused.
#
#   hack/cluster-up.sh            start (or reuse) and print the KUBECONFIG line
#   MLOPS_CLUSTER_DIR=DIR ...     keep PKI, data, logs and pids in DIR (default ~/.cache/mlops-operator/cluster)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || die "openssl is required (apt-get install openssl)"
command -v curl >/dev/null || die "curl is required (apt-get install curl)"

"$HACK_DIR/build-tools.sh"
mapfile -t dirs < <("$HACK_DIR/build-tools.sh" --print)
K8S_BIN=${dirs[0]} ETCD_BIN=${dirs[1]} KWOK_BIN=${dirs[2]} GCS_BIN=${dirs[3]}

W=$CLUSTER_DIR
P=$W/pki
LOGS=$W/logs
PIDS=$W/pids
KUBECONFIG_FILE=$W/kubeconfig
API=https://127.0.0.1:$APISERVER_PORT

# running NAME: the pid file names a live process that is ours (its command line is the cached binary).
running() {
  local pid
  pid=$(cat "$PIDS/$1" 2>/dev/null) || return 1
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$BIN_DIR/"
}

ready() { curl -fsS --max-time 2 --cacert "$P/ca.crt" "$API/readyz" >/dev/null 2>&1; }

print_env() {
  log "control plane ready: $API (logs in $LOGS)"
  echo "export KUBECONFIG=$KUBECONFIG_FILE"
}

all=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok fake-gcs-server)
healthy=1
for c in "${all[@]}"; do running "$c" || healthy=0; done
if [ "$healthy" = 1 ] && [ -f "$P/ca.crt" ] && ready; then
  log "reusing the running control plane"
  print_env
  exit 0
fi

# Anything half-running from an earlier attempt is ours to stop; a fresh start is simpler than repair.
"$HACK_DIR/cluster-down.sh" --quiet || true
rm -rf "$W/etcd" "$LOGS" "$PIDS"
mkdir -p "$P" "$LOGS" "$PIDS"

# on_failure: show what the components said, keep the logs for later.
on_failure() {
  local status=$?
  [ "$status" -eq 0 ] && return
  log "the control plane did not start; last lines of each log (all kept in $LOGS):"
  for f in "$LOGS"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  "$HACK_DIR/cluster-down.sh" --quiet || true
}
trap on_failure EXIT

# --- PKI: a throwaway CA, the serving certificate and an admin client certificate (system:masters).
if [ ! -f "$P/admin.crt" ]; then
  log "generating PKI in $P"
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=mlops-local-ca \
    -keyout "$P/ca.key" -out "$P/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  sign() { # name subject extendedKeyUsage [subjectAltName line]
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null
    printf 'extendedKeyUsage=%s\nkeyUsage=critical,digitalSignature,keyEncipherment\n%s\n' "$3" "${4:-}" >"$P/$1.ext"
    openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 365 \
      -out "$P/$1.crt" -extfile "$P/$1.ext" 2>/dev/null
    rm -f "$P/$1.csr" "$P/$1.ext"
  }
  sign apiserver /CN=kube-apiserver serverAuth \
    'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.0.0.1'
  sign admin '/O=system:masters/CN=mlops-admin' clientAuth
  sign front-proxy-client /CN=front-proxy-client clientAuth
  openssl genrsa -out "$P/sa.key" 2048 2>/dev/null
  openssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
fi

b64() { base64 -w0 "$1"; }
cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: mlops-local
  cluster: {server: "$API", certificate-authority-data: $(b64 "$P/ca.crt")}
users:
- name: mlops-admin
  user: {client-certificate-data: $(b64 "$P/admin.crt"), client-key-data: $(b64 "$P/admin.key")}
contexts:
- name: mlops-local
  context: {cluster: mlops-local, user: mlops-admin}
current-context: mlops-local
EOF
chmod 600 "$KUBECONFIG_FILE"

# start NAME CMD...: runs CMD in its own session, logs to $LOGS/NAME.log, records the pid.
start() {
  local name=$1; shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name"
}

# wait_for WHAT SECONDS CMD...: bounded polling, 0.25 s apart; fails with WHAT named.
wait_for() {
  local what=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what not ready after ${limit}s"
    sleep 0.25
  done
}

t0=$(date +%s%N)
start etcd "$ETCD_BIN/etcd" --name=mlops --data-dir="$W/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="mlops=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --log-level=warn
wait_for etcd 30 curl -fsS --max-time 1 "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" --client-ca-file="$P/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --proxy-client-cert-file="$P/front-proxy-client.crt" --proxy-client-key-file="$P/front-proxy-client.key" \
  --requestheader-client-ca-file="$P/ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --service-cluster-ip-range=10.0.0.0/24 --authorization-mode=Node,RBAC --allow-privileged=true \
  --endpoint-reconciler-type=none --cert-dir="$W/apiserver-certs" --profiling=false
wait_for kube-apiserver 120 ready
t1=$(date +%s%N)
log "kube-apiserver ready in $(((t1 - t0) / 1000000)) ms after etcd start"

K=(--kubeconfig="$KUBECONFIG_FILE" --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE")
start kube-controller-manager "$K8S_BIN/kube-controller-manager" "${K[@]}" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --use-service-account-credentials=true --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --node-monitor-period=5s --node-monitor-grace-period=40s
start kube-scheduler "$K8S_BIN/kube-scheduler" "${K[@]}" \
  --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --leader-elect=false

# kwok: the stage files say how simulated pods move (ready, complete after a delay that a pod annotation can
# set, fail on a label, delete). Tests read them from shared/; a user's clone gets them from kwok's module.
stages=()
if [ -d "$SHARED_DIR/thirdparty-crds/kwok-v0.8.0-stages" ]; then
  S=$SHARED_DIR/thirdparty-crds/kwok-v0.8.0-stages
  stages=("$S/node-fast-node-initialize.yaml" "$S/node-heartbeat-with-lease-node-heartbeat-with-lease.yaml"
    "$S/pod-fast-pod-ready.yaml" "$S/pod-general-pod-complete.yaml" "$S/pod-fast-pod-delete.yaml"
    "$S/pod-chaos-pod-container-running-failed.yaml")
else
  S=$(go_module_dir "sigs.k8s.io/kwok@v$KWOK_VERSION")/kustomize/stage
  stages=("$S/node/fast/node-initialize.yaml" "$S/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"
    "$S/pod/fast/pod-ready.yaml" "$S/pod/general/pod-complete.yaml" "$S/pod/fast/pod-delete.yaml"
    "$S/pod/chaos/pod-container-running-failed.yaml")
fi
{
  printf '# kwok stages, concatenated by hack/cluster-up.sh\n'
  for f in "${stages[@]}"; do [ -f "$f" ] || die "kwok stage file missing: $f"; echo ---; cat "$f"; done
} >"$W/kwok.yaml"
start kwok "$KWOK_BIN/kwok" --kubeconfig="$KUBECONFIG_FILE" --config="$W/kwok.yaml" \
  --manage-all-nodes=true --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=127.0.0.1

mkdir -p "$W/gcs"
start fake-gcs-server "$GCS_BIN/fake-gcs-server" -scheme http -host 127.0.0.1 -port "$FAKE_GCS_PORT" \
  -backend memory -external-url "http://127.0.0.1:$FAKE_GCS_PORT" -public-host "127.0.0.1:$FAKE_GCS_PORT" \
  -log-level warn

probe() { curl -fsSk --max-time 1 "https://127.0.0.1:$1/healthz" >/dev/null 2>&1; }
wait_for kube-controller-manager 60 probe "$KCM_PORT"
wait_for kube-scheduler 60 probe "$SCHEDULER_PORT"
wait_for fake-gcs-server 30 curl -fsS --max-time 1 "http://127.0.0.1:$FAKE_GCS_PORT/storage/v1/b"
for c in kwok; do running "$c" || die "$c exited; see $LOGS/$c.log"; done
# The default ServiceAccount appears once kcm's controllers run; pods in "default" need it.
wait_for "default ServiceAccount" 60 "$K8S_BIN/kubectl" --kubeconfig="$KUBECONFIG_FILE" get serviceaccount default -n default -o name

cat >"$W/env" <<EOF
KUBECONFIG=$KUBECONFIG_FILE
MLOPS_GCS_ENDPOINT=http://127.0.0.1:$FAKE_GCS_PORT
MLOPS_KUBECTL=$K8S_BIN/kubectl
MLOPS_APISERVER_READY_MS=$(((t1 - t0) / 1000000))
EOF
trap - EXIT
print_env
