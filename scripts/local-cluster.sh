#!/usr/bin/env bash
# A real local Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager as
# local processes; no kubelet, no container runtime), for tests and for trying tenantry out.
#
#   scripts/local-cluster.sh start DIR [--with-gatekeeper] [--with-flux]
#                                        start a fresh cluster whose state lives in DIR;
#                                        prints DIR/kubeconfig on stdout once it is ready.
#                                        --with-gatekeeper also runs Gatekeeper's manager
#                                        (webhook, audit, status) as a local process, its
#                                        validating webhook registered by URL.
#                                        --with-flux also runs Flux's source-controller and
#                                        kustomize-controller (FLUX_VERSION) as local processes,
#                                        with the flux engine's lockdown flags (docs/engines.md)
#   scripts/local-cluster.sh stop DIR    stop the processes that `start DIR` started
#   scripts/local-cluster.sh status DIR  exit 0 if all processes of DIR are running
#   scripts/local-cluster.sh restart DIR COMPONENT
#   scripts/local-cluster.sh stop-component DIR COMPONENT
#   scripts/local-cluster.sh start-component DIR COMPONENT
#                                        stop and/or start one component of the running cluster
#                                        of DIR (etcd, apiserver, controller-manager, gatekeeper,
#                                        source-controller, kustomize-controller)
#                                        with the very command line `start` gave it: same ports,
#                                        same certificates, same etcd data. start-component and
#                                        restart return once it is ready again. For fault tests.
#
# `start` returns only when the apiserver's /readyz is ok and the controller-manager has
# created the `default` ServiceAccount in namespace `default`. Every start is a fresh cluster
# (new etcd data, new certificates, free ports chosen at start, so clusters in different DIRs
# do not collide). `start` on a DIR whose cluster is still running fails (exit 1).
# `stop` is idempotent. Details: docs/local-cluster.md.
#
# Environment:
#   TENANTRY_CLUSTER_TIMEOUT   seconds to wait for the cluster to be ready (default 120)
#   TENANTRY_STOP_GRACE        seconds between SIGTERM and SIGKILL on stop (default 10; 0: SIGKILL
#                              at once, a crash)
#   TENANTRY_ETCD_PORT, TENANTRY_ETCD_PEER_PORT, TENANTRY_APISERVER_PORT,
#   TENANTRY_CONTROLLER_MANAGER_PORT   fixed ports instead of free ones (unset or 0: pick)
#   TENANTRY_CACHE             where install-tools.sh keeps the binaries
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
service_cidr=10.0.0.0/24
service_ip=10.0.0.1
issuer=https://kubernetes.default.svc.cluster.local
name=tenantry-local
# Stop order; start order is the reverse. gatekeeper runs only with --with-gatekeeper, the two
# Flux controllers only with --with-flux.
components=(kustomize-controller source-controller gatekeeper kube-controller-manager kube-apiserver etcd)
flux_namespace=flux-system
# The flux engine's lockdown (as fluxcd/flux2-multi-tenancy patches it onto kustomize-controller).
# The admin repo's cluster/common/flux-system/kustomization.yaml patches the same flags; a test
# (test/unit/engines.test.ts) holds the two lists equal.
flux_lockdown=(--no-cross-namespace-refs=true --no-remote-bases=true --default-service-account=default)
# Gatekeeper's namespace, and the Pod object that stands for its process (no kubelet runs it:
# Gatekeeper's status objects are owned by the Pod it runs as, so one must exist).
gk_namespace=gatekeeper-system
gk_pod=gatekeeper-local

say() { printf 'local-cluster: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
  say "usage: scripts/local-cluster.sh start DIR [--with-gatekeeper] [--with-flux] | stop DIR | status DIR"
  say "       scripts/local-cluster.sh restart|stop-component|start-component DIR etcd|apiserver|controller-manager|gatekeeper|source-controller|kustomize-controller"
  exit 2
}

# now_ms: wall clock in milliseconds.
now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo $((10#$t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}

# since START_MS: elapsed seconds with one decimal.
since() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

# ---------------------------------------------------------------------------------------------
# Processes

pidfile() { echo "$dir/pids/$1.pid"; }

# belongs PID NAME: PID runs binary NAME with an argument (or KUBECONFIG) inside $dir (so a
# recycled pid, or the same component of another cluster, is never taken for ours).
belongs() {
  local pid=$1 want=$2 args=() a
  if [ -r "/proc/$pid/cmdline" ]; then
    mapfile -d '' -t args <"/proc/$pid/cmdline" 2>/dev/null || return 1
    [ ${#args[@]} -gt 0 ] || return 1 # a zombie has no command line
    [ "$(basename -- "${args[0]}")" = "$want" ] || return 1
    for a in "${args[@]:1}"; do
      case $a in *"$dir/"*) return 0 ;; esac
    done
    # Flux's controllers take no path argument: their KUBECONFIG (environment) names $dir.
    if [ -r "/proc/$pid/environ" ]; then
      mapfile -d '' -t args <"/proc/$pid/environ" 2>/dev/null || return 1
      for a in "${args[@]}"; do
        case $a in KUBECONFIG="$dir/"*) return 0 ;; esac
      done
    fi
    return 1
  fi
  # No /proc (not Linux): fall back on ps.
  a=$(ps -o args= -p "$pid" 2>/dev/null) || return 1
  case $a in *"$want"*"$dir/"*) return 0 ;; esac
  return 1
}

# alive PID: the process exists and is not a zombie.
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/stat" ]; then
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ] || return 1
  fi
  return 0
}

# running NAME: prints the pid of $dir's NAME if it is running.
running() {
  local f pid
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" && belongs "$pid" "$1" || return 1
  echo "$pid"
}

# stop_one NAME: SIGTERM, wait up to TENANTRY_STOP_GRACE seconds, then SIGKILL.
stop_one() {
  local comp=$1 pid t0 grace=${TENANTRY_STOP_GRACE:-10} i
  if ! pid=$(running "$comp"); then
    rm -f "$(pidfile "$comp")"
    return 0
  fi
  t0=$(now_ms)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid" && belongs "$pid" "$comp"; then
    say "$comp (pid $pid) did not stop within ${grace}s of SIGTERM: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
  wait "$pid" 2>/dev/null || true # reap it if it is our own child (a failed start)
  if alive "$pid"; then
    say "warning: $comp (pid $pid) is still running"
    return 1
  fi
  rm -f "$(pidfile "$comp")"
  say "stopped $comp (pid $pid) in $(since "$t0")"
}

stop_all() {
  local comp rc=0
  for comp in "${components[@]}"; do
    stop_one "$comp" || rc=1
  done
  return "$rc"
}

# launch NAME BINARY ARGS...: starts NAME in its own session, detached from this script, and
# records its command line in cmdline/NAME (NUL-separated) for start-component and restart.
launch() {
  local comp=$1
  shift
  : >"$dir/logs/$comp.log"
  printf '%s\0' "$@" >"$dir/cmdline/$comp"
  spawn "$comp" "$@"
}

# relaunch NAME: starts NAME again with the command line `start` recorded; its log is appended to.
relaunch() {
  local comp=$1 f="$dir/cmdline/$1"
  local -a argv=()
  [ -s "$f" ] || die "no recorded command line for $comp in $dir (was it started by 'scripts/local-cluster.sh start'?)"
  mapfile -d '' -t argv <"$f"
  printf '\n==== local-cluster.sh: %s started again at %s ====\n' "$comp" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$dir/logs/$comp.log"
  spawn "$comp" "${argv[@]}"
}

# spawn NAME BINARY ARGS...: runs it detached, its output appended to logs/NAME.log.
spawn() {
  local comp=$1 pid
  shift
  if command -v setsid >/dev/null 2>&1; then
    setsid "$@" </dev/null >>"$dir/logs/$comp.log" 2>&1 &
  else
    nohup "$@" </dev/null >>"$dir/logs/$comp.log" 2>&1 &
  fi
  pid=$!
  echo "$pid" >"$(pidfile "$comp")"
  pids[$comp]=$pid
}

# fail_component NAME MESSAGE: the tail of NAME's log, then a one-line error; exit 1.
fail_component() {
  local comp=$1 msg=$2 log="$dir/logs/$1.log" port
  if [ -s "$log" ]; then
    say "last 20 lines of $log:"
    tail -n 20 "$log" >&2
    if grep -q 'address already in use' "$log"; then
      port=$(grep -o '127\.0\.0\.1:[0-9]*[^0-9]*address already in use' "$log" | head -n 1 |
        grep -o '^127\.0\.0\.1:[0-9]*' || true)
      msg="$comp could not listen: port ${port:-(see log)} is already in use"
    fi
  fi
  die "$msg"
}

# wait_for NAME DESCRIPTION CHECK-FUNCTION: polls until the check passes, NAME dies, or the
# deadline passes.
wait_for() {
  local comp=$1 what=$2 check=$3 t0 rc pid=${pids[$1]}
  t0=$(now_ms)
  while :; do
    if "$check"; then
      say "$comp ready in $(since "$t0")${what:+ ($what)}"
      return 0
    fi
    if ! alive "$pid"; then
      rc=0
      wait "$pid" 2>/dev/null || rc=$?
      fail_component "$comp" "$comp exited during startup (exit status $rc); full log in $dir/logs/$comp.log"
    fi
    if (($(now_ms) >= deadline)); then
      fail_component "$comp" "cluster not ready within ${timeout}s ($comp${what:+: waiting for $what}; set TENANTRY_CLUSTER_TIMEOUT to wait longer); full log in $dir/logs/$comp.log"
    fi
    sleep 0.25
  done
}

# ---------------------------------------------------------------------------------------------
# Ports

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line (held open together while
# the kernel picks them, so they differ).
free_ports() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
EOF
  elif command -v node >/dev/null 2>&1; then
    node - "$1" <<'EOF'
const net = require('net');
const n = Number(process.argv[2]);
const servers = [];
const next = () => {
  if (servers.length === n) {
    for (const s of servers) console.log(s.address().port);
    for (const s of servers) s.close();
    return;
  }
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { servers.push(s); next(); });
};
next();
EOF
  else
    die "python3 or node is needed to pick free ports (or set the TENANTRY_*_PORT variables)"
  fi
}

# port_free PORT: nothing listens on 127.0.0.1:PORT.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------------------------------------
# Certificates and kubeconfigs

write_openssl_config() {
  cat >"$pki/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = @alt
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[webhook]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1,DNS:localhost
[alt]
DNS.1 = localhost
DNS.2 = kubernetes
DNS.3 = kubernetes.default
DNS.4 = kubernetes.default.svc
DNS.5 = kubernetes.default.svc.cluster.local
IP.1 = 127.0.0.1
IP.2 = $service_ip
EOF
}

# newkey FILE: an ECDSA P-256 private key.
newkey() {
  openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null
  chmod 600 "$1"
}

# new_ca NAME CN: a self-signed CA, NAME.key and NAME.crt.
new_ca() {
  newkey "$pki/$1.key"
  openssl req -x509 -new -config "$pki/openssl.cnf" -extensions ca -key "$pki/$1.key" \
    -subj "/CN=$2" -days 365 -sha256 -out "$pki/$1.crt"
}

# sign NAME SUBJECT EXTENSIONS [CA]: NAME.key and NAME.crt signed by CA (default: ca).
sign() {
  local n=$1 subj=$2 ext=$3 ca=${4:-ca}
  newkey "$pki/$n.key"
  openssl req -new -config "$pki/openssl.cnf" -key "$pki/$n.key" -subj "$subj" \
    -out "$pki/$n.csr"
  openssl x509 -req -in "$pki/$n.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 \
    -extfile "$pki/openssl.cnf" -extensions "$ext" -out "$pki/$n.crt" 2>/dev/null
  rm -f "$pki/$n.csr"
}

make_pki() {
  local t0
  t0=$(now_ms)
  mkdir -p "$pki"
  write_openssl_config
  # One CA for serving, client certificates and the controller-manager's cluster signer.
  new_ca ca tenantry-local-ca
  sign apiserver "/CN=kube-apiserver" server
  sign admin "/O=system:masters/CN=tenantry-admin" client
  sign controller-manager "/CN=system:kube-controller-manager" client
  # The aggregation layer's front proxy has its own CA, as kubeadm sets it up: a client cert
  # of the main CA must not be able to assert identities through the X-Remote-* headers.
  new_ca front-proxy-ca tenantry-local-front-proxy-ca
  sign front-proxy-client "/CN=front-proxy-client" client front-proxy-ca
  # Gatekeeper's webhook serves with a certificate of its own CA, which the API server is
  # given in the webhook configuration's caBundle (no cert rotation: nothing rewrites it).
  if $with_gatekeeper; then
    new_ca gatekeeper-ca tenantry-local-gatekeeper-ca
    sign gatekeeper-webhook "/CN=gatekeeper-webhook" webhook gatekeeper-ca
  fi
  # The service-account token signing key pair, apart from the CA.
  newkey "$pki/sa.key"
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  say "certificates written to $pki in $(since "$t0")"
}

b64() { base64 <"$1" | tr -d '\n'; }

# write_kubeconfig FILE CLIENT-NAME [TOKEN]: a kubeconfig with everything embedded: the
# client certificate pki/CLIENT-NAME.{crt,key}, or a bearer TOKEN when given.
write_kubeconfig() {
  local f=$1 n=$2 token=${3:-} user
  if [ -n "$token" ]; then
    user="    token: $token"
  else
    user="    client-certificate-data: $(b64 "$pki/$n.crt")
    client-key-data: $(b64 "$pki/$n.key")"
  fi
  cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $name
  cluster:
    server: https://127.0.0.1:$apiserver_port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: $name
  user:
$user
contexts:
- name: $name
  context:
    cluster: $name
    user: $name
current-context: $name
EOF
  chmod 600 "$f"
}

# env_line KEY VALUE: KEY=VALUE, single-quoted only when the value needs it.
env_line() {
  if [[ $2 =~ ^[A-Za-z0-9_./:@%+=,-]*$ ]]; then
    printf '%s=%s\n' "$1" "$2"
  else
    printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"
  fi
}

# ---------------------------------------------------------------------------------------------
# Readiness checks

kc() { "$kubectl_bin" --kubeconfig "$dir/kubeconfig" --request-timeout=5s "$@"; }
# etcd_ready: etcd's /health says true.
# http_get PORT PATH: the plain-HTTP/1.0 answer of 127.0.0.1:PORT (bash's /dev/tcp: no curl needed).
http_get() {
  (
    exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    timeout 5 cat <&3
  )
}
etcd_ready() {
  local resp
  resp=$(http_get "$etcd_port" /health) || return 1
  [[ $resp == *'"health":"true"'* ]]
}
apiserver_ready() { [ "$(kc get --raw=/readyz 2>/dev/null)" = ok ]; }
# controller_manager_ready: its /healthz (HTTPS with a certificate it made itself, open to
# anonymous requests) says ok.
controller_manager_ready() {
  local resp
  resp=$(printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' |
    timeout 5 openssl s_client -connect "127.0.0.1:$cm_port" -quiet 2>/dev/null) || return 1
  [[ $resp == 'HTTP/1.'?' 200'* ]] && [[ $resp == *ok ]]
}
default_sa_ready() { kc -n default get serviceaccount default -o name >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# Gatekeeper (--with-gatekeeper)

# gk_docs KIND...: the documents of Gatekeeper's release manifest whose kind is one of KIND.
gk_docs() {
  awk -v kinds=" $* " '
    function flush() { if (keep) printf "%s---\n", doc; doc = ""; keep = 0 }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n" }
    /^kind: / { keep = index(kinds, " " substr($0, 7) " ") > 0 }
    END { flush() }' "$gk_manifest"
}

# gk_webhooks: the release's ValidatingWebhookConfiguration, its service reference replaced by
# the local process's URL and CA, its timeout raised from 3 s to $gk_timeout s (a loaded test
# machine answers slower than a dedicated one, and the validation webhook fails open).
gk_webhooks() {
  gk_docs ValidatingWebhookConfiguration | awk -v base="https://127.0.0.1:$gk_port" -v ca="$(b64 "$pki/gatekeeper-ca.crt")" -v timeout="$gk_timeout" '
    /^    service:$/ { skip = 1; next }
    skip && /^      path: / { print "    url: " base substr($0, 13); print "    caBundle: " ca; skip = 0; next }
    skip { next }
    /^  timeoutSeconds: / { print "  timeoutSeconds: " timeout; next }
    { print }'
}

# gk_pod: the Pod object that stands for the manager process (never run: no kubelet). Gatekeeper
# reads the Pod it runs as and makes it the owner of its status objects.
gk_pod() {
  cat <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $gk_pod
  namespace: $gk_namespace
  labels:
    gatekeeper.sh/system: "yes"
  annotations:
    tenantry.dev/note: stands for the gatekeeper process local-cluster.sh runs; no kubelet runs it
spec:
  serviceAccountName: gatekeeper-admin
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: manager
      image: openpolicyagent/gatekeeper:$GATOR_VERSION
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
}

gk_ready() {
  local resp
  resp=$(http_get "$gk_health_port" /readyz) || return 1
  [[ $resp == 'HTTP/1.'?' 200'* ]]
}

# gk_answers: the API server reaches the webhook: a namespace asking to be ignored by Gatekeeper
# is refused by its check-ignore-label webhook (failurePolicy Fail), on a dry run.
gk_answers() {
  local out
  out=$(printf '%s\n' 'apiVersion: v1' 'kind: Namespace' 'metadata:' '  name: tenantry-gatekeeper-probe' \
    '  labels: {admission.gatekeeper.sh/ignore: probe}' | kc create --dry-run=server -f - 2>&1) && return 1
  [[ $out == *'admission webhook "check-ignore-label.gatekeeper.sh" denied'* ]]
}

# start_gatekeeper: its Namespace, CRDs and RBAC from the release, a token of its
# ServiceAccount, the manager process, then the webhook configuration.
start_gatekeeper() {
  local bins token t0
  bins=$("$root/scripts/install-tools.sh" gatekeeper) || die "could not get Gatekeeper's manager (see above)"
  gk_bin=${bins#gatekeeper=}/gatekeeper gk_manifest=${bins#gatekeeper=}/gatekeeper.yaml
  [ -x "$gk_bin" ] && [ -f "$gk_manifest" ] || die "install-tools.sh did not report Gatekeeper's manager and manifest (got: $bins)"
  t0=$(now_ms)
  gk_docs Namespace CustomResourceDefinition ServiceAccount Role ClusterRole RoleBinding ClusterRoleBinding |
    kc apply --server-side --field-manager=local-cluster -f - >/dev/null ||
    die "could not apply Gatekeeper's Namespace, CRDs and RBAC from $gk_manifest"
  kc wait --for=condition=Established --timeout=60s crd -l gatekeeper.sh/system=yes >/dev/null ||
    die "Gatekeeper's CRDs were not established within 60 s"
  gk_pod | kc apply --server-side --field-manager=local-cluster -f - >/dev/null || die "could not create the Pod object $gk_namespace/$gk_pod"
  token=$(kc -n "$gk_namespace" create token gatekeeper-admin --duration=48h) || die "could not get a token for $gk_namespace/gatekeeper-admin"
  write_kubeconfig "$dir/gatekeeper.kubeconfig" gatekeeper-admin "$token"
  mkdir -p "$dir/gatekeeper/certs"
  cp "$pki/gatekeeper-webhook.crt" "$dir/gatekeeper/certs/tls.crt"
  cp "$pki/gatekeeper-webhook.key" "$dir/gatekeeper/certs/tls.key"
  say "Gatekeeper $GATOR_VERSION: Namespace, CRDs and RBAC applied in $(since "$t0")"

  # The release's webhook Deployment runs --operation=webhook, its audit Deployment
  # --operation=audit, status and generate (it makes the constraint CRDs); one process does
  # them all here, as gatekeeper-admin.
  # shellcheck disable=SC2054 # the commas are inside flag values
  args=(
    --kubeconfig="$dir/gatekeeper.kubeconfig"
    --operation=webhook --operation=audit --operation=status --operation=generate
    --host=127.0.0.1 --port="$gk_port"
    --cert-dir="$dir/gatekeeper/certs" --disable-cert-rotation
    --health-addr=127.0.0.1:"$gk_health_port" --metrics-addr=0 --prometheus-port="$gk_metrics_port"
    --exempt-namespace="$gk_namespace"
    --disable-opa-builtin='{http.send}'
    --audit-interval=30
    --shutdown-delay=0
    --log-denies
    --logtostderr
  )
  say "starting gatekeeper (webhook on https://127.0.0.1:$gk_port, health on 127.0.0.1:$gk_health_port)"
  launch gatekeeper env POD_NAME="$gk_pod" POD_NAMESPACE="$gk_namespace" NAMESPACE="$gk_namespace" \
    CONTAINER_NAME=manager "$gk_bin" "${args[@]}"
  wait_for gatekeeper "/readyz ok" gk_ready
  gk_webhooks | kc apply --server-side --field-manager=local-cluster -f - >/dev/null ||
    die "could not register Gatekeeper's ValidatingWebhookConfiguration"
  wait_for gatekeeper "the API server reaches its webhook" gk_answers
}

# ---------------------------------------------------------------------------------------------
# Flux (--with-flux)

# flux_docs KIND...: the documents of vendor/flux/gotk-components.yaml whose kind is one of KIND
# (the components the flux engine's admin repo installs; no Deployment: no kubelet runs it).
flux_docs() {
  awk -v kinds=" $* " '
    /^---$/ { if (keep) printf "---\n%s", doc; doc = ""; keep = 0; next }
    { doc = doc $0 "\n"; if ($0 ~ /^kind: /) keep = index(kinds, " " $2 " ") > 0 }
    END { if (keep) printf "---\n%s", doc }
  ' "$root/vendor/flux/gotk-components.yaml"
}
flux_source_ready() { [[ $(http_get "$flux_source_health_port" /readyz) == *' 200 '* ]]; }
flux_kustomize_ready() { [[ $(http_get "$flux_kustomize_health_port" /readyz) == *' 200 '* ]]; }

# start_flux: Flux's Namespace, CRDs and RBAC from vendor/flux/gotk-components.yaml, a token of
# each controller's ServiceAccount, then both controllers as local processes acting as them
# (they read KUBECONFIG: neither has a --kubeconfig flag).
start_flux() {
  local bins flux_dir t0 c token
  bins=$("$root/scripts/install-tools.sh" flux) || die "could not get Flux's controllers (see above)"
  flux_dir=${bins#flux=}
  [ -x "$flux_dir/source-controller" ] && [ -x "$flux_dir/kustomize-controller" ] ||
    die "install-tools.sh did not report Flux's controllers (got: $bins)"
  t0=$(now_ms)
  flux_docs Namespace CustomResourceDefinition ServiceAccount Role ClusterRole RoleBinding ClusterRoleBinding |
    kc apply --server-side --field-manager=local-cluster -f - >/dev/null ||
    die "could not apply Flux's Namespace, CRDs and RBAC from vendor/flux/gotk-components.yaml"
  kc wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=flux >/dev/null ||
    die "Flux's CRDs were not established within 60 s"
  mkdir -p "$dir/flux/storage"
  for c in source-controller kustomize-controller; do
    token=$(kc -n "$flux_namespace" create token "$c" --duration=48h) || die "could not get a token for $flux_namespace/$c"
    write_kubeconfig "$dir/flux/$c.kubeconfig" "$c" "$token"
  done
  say "Flux $FLUX_VERSION: Namespace, CRDs and RBAC applied in $(since "$t0")"
  say "starting source-controller (artifacts on http://127.0.0.1:$flux_storage_port, health on 127.0.0.1:$flux_source_health_port)"
  launch source-controller env RUNTIME_NAMESPACE="$flux_namespace" KUBECONFIG="$dir/flux/source-controller.kubeconfig" "$flux_dir/source-controller" \
    --watch-all-namespaces --log-level=info --log-encoding=json --enable-leader-election=false \
    --storage-path="$dir/flux/storage" --storage-addr=127.0.0.1:"$flux_storage_port" \
    --storage-adv-addr=127.0.0.1:"$flux_storage_port" \
    --metrics-addr=127.0.0.1:"$flux_source_metrics_port" --health-addr=127.0.0.1:"$flux_source_health_port"
  wait_for source-controller "/readyz ok" flux_source_ready
  say "starting kustomize-controller (${flux_lockdown[*]}; health on 127.0.0.1:$flux_kustomize_health_port)"
  launch kustomize-controller env RUNTIME_NAMESPACE="$flux_namespace" KUBECONFIG="$dir/flux/kustomize-controller.kubeconfig" "$flux_dir/kustomize-controller" \
    --watch-all-namespaces --log-level=info --log-encoding=json --enable-leader-election=false \
    --metrics-addr=127.0.0.1:"$flux_kustomize_metrics_port" --health-addr=127.0.0.1:"$flux_kustomize_health_port" \
    "${flux_lockdown[@]}"
  wait_for kustomize-controller "/readyz ok" flux_kustomize_ready
}

# ---------------------------------------------------------------------------------------------
# Commands

# start_failed: the EXIT trap of a start that has not finished: stop what it started.
start_failed() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ] && [ ${#pids[@]} -gt 0 ]; then
    say "start failed: stopping what was started"
    stop_all || true
  fi
  exit "$rc"
}

cmd_start() {
  local t_all comp pid bins etcd_bin k8s_bin line p
  local -a ports args

  timeout=${TENANTRY_CLUSTER_TIMEOUT:-120}
  [[ $timeout =~ ^[1-9][0-9]*$ ]] || die "TENANTRY_CLUSTER_TIMEOUT must be a positive number of seconds, not '$timeout'"
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the cluster's certificates"

  for comp in "${components[@]}"; do
    if pid=$(running "$comp"); then
      die "a cluster is already running in $dir ($comp pid $pid): run 'scripts/local-cluster.sh stop $dir' first"
    fi
  done

  # The binaries (built once into the cache; instant when cached). The readiness checks use
  # the pinned kubectl, whose release is the control plane's.
  if ! bins=$("$root/scripts/install-tools.sh" etcd kubernetes kubectl); then
    die "could not get the control-plane binaries (see above)"
  fi
  etcd_bin='' k8s_bin='' kubectl_bin=''
  while IFS= read -r line; do
    case $line in
      etcd=*) etcd_bin=${line#etcd=}/etcd ;;
      kubernetes=*) k8s_bin=${line#kubernetes=} ;;
      kubectl=*) kubectl_bin=${line#kubectl=}/kubectl ;;
    esac
  done <<<"$bins"
  [ -x "$etcd_bin" ] || die "install-tools.sh did not report an etcd binary (got: $bins)"
  [ -x "$kubectl_bin" ] || die "install-tools.sh did not report a kubectl binary (got: $bins)"
  if [ ! -x "$k8s_bin/kube-apiserver" ] || [ ! -x "$k8s_bin/kube-controller-manager" ]; then
    die "install-tools.sh did not report the Kubernetes binaries (got: $bins)"
  fi

  t_all=$(now_ms)
  deadline=$((t_all + timeout * 1000))
  # From here on a failure stops whatever was started.
  trap start_failed EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # A fresh cluster: remove what an earlier start in this DIR left (only our own files).
  rm -rf "$dir/etcd" "$dir/pki" "$dir/pids" "$dir/logs" "$dir/cmdline" "$dir/kubeconfig" \
    "$dir/controller-manager.kubeconfig" "$dir/env" "$dir/gatekeeper" "$dir/gatekeeper.kubeconfig" "$dir/flux"
  mkdir -p "$dir/pids" "$dir/logs" "$dir/cmdline"
  pki=$dir/pki

  mapfile -t ports < <(free_ports 12)
  [ ${#ports[@]} -eq 12 ] || die "could not pick free ports"
  etcd_port=${TENANTRY_ETCD_PORT:-0}
  etcd_peer_port=${TENANTRY_ETCD_PEER_PORT:-0}
  apiserver_port=${TENANTRY_APISERVER_PORT:-0}
  cm_port=${TENANTRY_CONTROLLER_MANAGER_PORT:-0}
  [ "$etcd_port" != 0 ] || etcd_port=${ports[0]}
  [ "$etcd_peer_port" != 0 ] || etcd_peer_port=${ports[1]}
  [ "$apiserver_port" != 0 ] || apiserver_port=${ports[2]}
  [ "$cm_port" != 0 ] || cm_port=${ports[3]}
  gk_port=${ports[4]} gk_health_port=${ports[5]} gk_metrics_port=${ports[6]}
  flux_storage_port=${ports[7]} flux_source_health_port=${ports[8]} flux_source_metrics_port=${ports[9]}
  flux_kustomize_health_port=${ports[10]} flux_kustomize_metrics_port=${ports[11]}
  for p in "$etcd_port" "$etcd_peer_port" "$apiserver_port" "$cm_port"; do
    if ! [[ $p =~ ^[0-9]+$ ]] || ((10#$p < 1 || 10#$p > 65535)); then die "invalid port '$p'"; fi
    port_free "$p" || die "port 127.0.0.1:$p is already in use"
  done

  make_pki
  write_kubeconfig "$dir/kubeconfig" admin
  write_kubeconfig "$dir/controller-manager.kubeconfig" controller-manager
  {
    env_line KUBECONFIG "$dir/kubeconfig"
    env_line TENANTRY_CLUSTER_DIR "$dir"
    env_line KUBECTL "$kubectl_bin"
    env_line APISERVER_URL "https://127.0.0.1:$apiserver_port"
    env_line APISERVER_PORT "$apiserver_port"
    env_line ETCD_PORT "$etcd_port"
    env_line ETCD_PEER_PORT "$etcd_peer_port"
    env_line CONTROLLER_MANAGER_PORT "$cm_port"
    if $with_gatekeeper; then
      env_line GATEKEEPER_WEBHOOK_PORT "$gk_port"
      env_line GATEKEEPER_HEALTH_PORT "$gk_health_port"
    fi
    if $with_flux; then
      env_line FLUX_STORAGE_PORT "$flux_storage_port"
      env_line FLUX_SOURCE_HEALTH_PORT "$flux_source_health_port"
      env_line FLUX_KUSTOMIZE_HEALTH_PORT "$flux_kustomize_health_port"
    fi
  } >"$dir/env"
  chmod 600 "$dir/env"

  # etcd
  local etcd_url=http://127.0.0.1:$etcd_port peer_url=http://127.0.0.1:$etcd_peer_port
  args=(
    --name=default
    --data-dir="$dir/etcd"
    --listen-client-urls="$etcd_url"
    --advertise-client-urls="$etcd_url"
    --listen-peer-urls="$peer_url"
    --initial-advertise-peer-urls="$peer_url"
    --initial-cluster="default=$peer_url"
    --initial-cluster-state=new
    --unsafe-no-fsync=true
  )
  say "starting etcd on 127.0.0.1:$etcd_port (peer 127.0.0.1:$etcd_peer_port)"
  launch etcd "$etcd_bin" "${args[@]}"
  wait_for etcd "" etcd_ready

  # kube-apiserver
  # shellcheck disable=SC2054 # the commas are inside flag values
  args=(
    --bind-address=127.0.0.1
    --advertise-address=127.0.0.1
    --secure-port="$apiserver_port"
    --etcd-servers="$etcd_url"
    --service-cluster-ip-range="$service_cidr"
    --tls-cert-file="$pki/apiserver.crt"
    --tls-private-key-file="$pki/apiserver.key"
    --client-ca-file="$pki/ca.crt"
    --authorization-mode=Node,RBAC
    --enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,PodSecurity,ResourceQuota,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook,MutatingAdmissionWebhook,DefaultStorageClass,DefaultTolerationSeconds,PodNodeSelector,Priority,RuntimeClass
    --service-account-issuer="$issuer"
    --service-account-key-file="$pki/sa.pub"
    --service-account-signing-key-file="$pki/sa.key"
    --api-audiences="$issuer"
    --allow-privileged=true
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt"
    --requestheader-allowed-names=front-proxy-client
    --requestheader-username-headers=X-Remote-User
    --requestheader-group-headers=X-Remote-Group
    --requestheader-extra-headers-prefix=X-Remote-Extra-
    --proxy-client-cert-file="$pki/front-proxy-client.crt"
    --proxy-client-key-file="$pki/front-proxy-client.key"
    # The apiserver listens on 127.0.0.1 only, and a loopback address is not a valid
    # endpoint: without this it logs "unable to sync kubernetes service" every 10s. The
    # `kubernetes` Service itself is still created.
    --endpoint-reconciler-type=none
  )
  say "starting kube-apiserver on https://127.0.0.1:$apiserver_port"
  launch kube-apiserver "$k8s_bin/kube-apiserver" "${args[@]}"
  wait_for kube-apiserver "/readyz ok" apiserver_ready

  # kube-controller-manager
  args=(
    --kubeconfig="$dir/controller-manager.kubeconfig"
    --authentication-kubeconfig="$dir/controller-manager.kubeconfig"
    --authorization-kubeconfig="$dir/controller-manager.kubeconfig"
    --use-service-account-credentials=true
    --service-account-private-key-file="$pki/sa.key"
    --root-ca-file="$pki/ca.crt"
    --cluster-signing-cert-file="$pki/ca.crt"
    --cluster-signing-key-file="$pki/ca.key"
    --controllers='*'
    --leader-elect=false
    --bind-address=127.0.0.1
    --secure-port="$cm_port"
  )
  say "starting kube-controller-manager (health on https://127.0.0.1:$cm_port)"
  launch kube-controller-manager "$k8s_bin/kube-controller-manager" "${args[@]}"
  wait_for kube-controller-manager "default ServiceAccount created" default_sa_ready

  if $with_gatekeeper; then start_gatekeeper; fi
  if $with_flux; then start_flux; fi

  trap - EXIT INT TERM
  say "cluster ready in $(since "$t_all"); KUBECONFIG=$dir/kubeconfig (ports in $dir/env)"
  echo "$dir/kubeconfig"
}

cmd_stop() {
  if [ ! -d "$dir/pids" ]; then
    say "no cluster running in $dir"
    return 0
  fi
  local comp any=0
  for comp in "${components[@]}"; do
    if running "$comp" >/dev/null; then any=1; fi
  done
  if [ "$any" = 0 ]; then
    rm -f "$dir"/pids/*.pid
    say "no cluster running in $dir"
    return 0
  fi
  stop_all || die "could not stop every process of $dir"
}

# component NAME: the component a command-line name stands for.
component() {
  case $1 in
    etcd) echo etcd ;;
    apiserver | kube-apiserver) echo kube-apiserver ;;
    controller-manager | kube-controller-manager) echo kube-controller-manager ;;
    gatekeeper) echo gatekeeper ;;
    source-controller | kustomize-controller) echo "$1" ;;
    *) say "unknown component '$1' (etcd, apiserver, controller-manager, gatekeeper, source-controller, kustomize-controller)"; usage ;;
  esac
}

# load_env: the ports and kubectl of the running cluster of $dir, from DIR/env.
load_env() {
  [ -f "$dir/env" ] || die "no cluster in $dir (no env file): start one first"
  # shellcheck disable=SC1091 # written by cmd_start
  . "$dir/env"
  etcd_port=${ETCD_PORT:-0} apiserver_port=${APISERVER_PORT:-0} cm_port=${CONTROLLER_MANAGER_PORT:-0}
  gk_health_port=${GATEKEEPER_HEALTH_PORT:-0} kubectl_bin=${KUBECTL:-}
  flux_source_health_port=${FLUX_SOURCE_HEALTH_PORT:-0} flux_kustomize_health_port=${FLUX_KUSTOMIZE_HEALTH_PORT:-0}
}

# component_failed: the EXIT trap of a start-component that has not finished: stop it again.
component_failed() {
  local rc=$?
  trap - EXIT
  if [ "$rc" -ne 0 ] && [ ${#pids[@]} -gt 0 ]; then
    say "start of $target failed: stopping it"
    stop_one "$target" || true
  fi
  exit "$rc"
}

cmd_stop_component() {
  if ! running "$target" >/dev/null; then
    rm -f "$(pidfile "$target")"
    say "$target is not running in $dir"
    return 0
  fi
  stop_one "$target" || die "could not stop $target of $dir"
}

cmd_start_component() {
  local pid check what t0
  if pid=$(running "$target"); then die "$target of $dir is already running (pid $pid)"; fi
  [ "$target" != gatekeeper ] || [ -d "$dir/gatekeeper" ] || die "the cluster of $dir runs without Gatekeeper"
  [[ $target != *-controller ]] || [ -d "$dir/flux" ] || die "the cluster of $dir runs without Flux"
  load_env
  case $target in
    etcd) check=etcd_ready what="/health true" ;;
    kube-apiserver) check=apiserver_ready what="/readyz ok" ;;
    kube-controller-manager) check=controller_manager_ready what="/healthz ok" ;;
    gatekeeper) check=gk_ready what="/readyz ok" ;;
    source-controller) check=flux_source_ready what="/readyz ok" ;;
    kustomize-controller) check=flux_kustomize_ready what="/readyz ok" ;;
  esac
  [ "$target" != kube-apiserver ] || [ -x "$kubectl_bin" ] || die "no KUBECTL in $dir/env"
  timeout=${TENANTRY_CLUSTER_TIMEOUT:-120}
  [[ $timeout =~ ^[1-9][0-9]*$ ]] || die "TENANTRY_CLUSTER_TIMEOUT must be a positive number of seconds, not '$timeout'"
  t0=$(now_ms)
  deadline=$((t0 + timeout * 1000))
  trap component_failed EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  say "starting $target again"
  relaunch "$target"
  wait_for "$target" "$what" "$check"
  trap - EXIT INT TERM
}

cmd_restart() {
  cmd_stop_component
  cmd_start_component
}

cmd_status() {
  local comp pid rc=0
  for comp in "${components[@]}"; do
    [ "$comp" != gatekeeper ] || [ -d "$dir/gatekeeper" ] || continue
    [[ $comp != *-controller ]] || [ -d "$dir/flux" ] || continue
    if pid=$(running "$comp"); then
      say "$comp running (pid $pid)"
    else
      say "$comp not running"
      rc=1
    fi
  done
  return "$rc"
}

with_gatekeeper=false with_flux=false target=''
if [ $# -ge 3 ] && [ "$1" = start ]; then
  for opt in "${@:3}"; do
    case $opt in
      --with-gatekeeper) with_gatekeeper=true ;;
      --with-flux) with_flux=true ;;
      *) say "unknown option '$opt'"; usage ;;
    esac
  done
  set -- "$1" "$2"
fi
case ${1:-} in
  restart | stop-component | start-component)
    [ $# -eq 3 ] || usage
    target=$(component "$3")
    set -- "$1" "$2"
    ;;
esac
[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
umask 077
case $cmd in
  start)
    mkdir -p -- "$2"
    dir=$(cd -- "$2" && pwd -P)
    ;;
  stop | status | restart | stop-component | start-component)
    if [ -d "$2" ]; then
      dir=$(cd -- "$2" && pwd -P)
    else
      say "no cluster in $2"
      [ "$cmd" = stop ] && exit 0
      exit 1
    fi
    ;;
  *) usage ;;
esac
declare -A pids=()
timeout=120 deadline=0 pki=$dir/pki
etcd_port=0 etcd_peer_port=0 apiserver_port=0 cm_port=0
gk_port=0 gk_health_port=0 gk_metrics_port=0 gk_timeout=10 gk_bin='' gk_manifest=''
flux_storage_port=0 flux_source_health_port=0 flux_source_metrics_port=0 flux_kustomize_health_port=0 flux_kustomize_metrics_port=0
# shellcheck source=../tools/versions.env
. "$root/tools/versions.env"
"cmd_${cmd//-/_}"
