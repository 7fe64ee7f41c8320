#!/usr/bin/env bash
# End-to-end check of localcluster: up.sh, nodes, a metrics-proxy-shaped DaemonSet pair
# (haproxy + kube-rbac-proxy, run by the process kubelet), rollouts, authn/authz on the
# proxied kube-proxy endpoint and on kube-controller-manager/kube-scheduler, a template
# change, a crash restart, deletion, and down.sh leaving no process.
#
#   selftest.sh [--keep]     --keep: leave the cluster up at the end (no down.sh)
#
# Bounded in time (EKSA_LOCALCLUSTER_SELFTEST_TIMEOUT, default 600s); exits non-zero on the
# first failure. Prints "N passed, N failed" last.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=../toolchain/env.sh
source "$LC_REPO/dev/toolchain/env.sh"
export PATH=$PATH:/usr/sbin:/sbin

keep=false
[ "${1:-}" = --keep ] && keep=true
limit=${EKSA_LOCALCLUSTER_SELFTEST_TIMEOUT:-600}
ns=eksa-lc-selftest
work=$(mktemp -d)
passed=0
failed=0
t0=$(date +%s)

# Watchdog: the whole run is bounded.
main_pid=$$
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$limit" &
  sleeper=$!
  wait "$sleeper"
  echo "selftest: TIMEOUT after ${limit}s" >&2
  kill -TERM "$main_pid" 2>/dev/null
) &
watchdog=$!

ready_dep=
live_dep=
finish() {
  local rc=$?
  kill "$watchdog" 2>/dev/null || true
  for p in $ready_dep $live_dep; do kill "$p" 2>/dev/null || true; done
  if ((rc != 0)) && ((failed == 0)); then failed=1; fi
  if ((failed > 0)); then
    echo "---- diagnostics ----" >&2
    lc_kubectl get nodes -o wide >&2 2>&1 || true
    lc_kubectl -n "$ns" get ds,pods -o wide >&2 2>&1 || true
    tail -n 40 "$LC_STATE/logs/kubelet.log" >&2 2>/dev/null || true
  fi
  if ! $keep; then
    "$LC_HERE/down.sh" >&2 || { echo "FAIL: down.sh" >&2; failed=$((failed + 1)); }
  fi
  rm -f "$LC_REGISTRIES_FILE" # a closed network must not outlive the check
  rm -rf "$work"
  echo "selftest: $(($(date +%s) - t0))s"
  echo "$passed passed, $failed failed"
  ((failed == 0))
}
trap finish EXIT

ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*" >&2; exit 1; }
# expect_code WANT DESC CURL_ARGS...
expect_code() {
  local want=$1 desc=$2 got
  shift 2
  got=$(curl -sS -o "$work/body" -w '%{http_code}' --max-time 10 "$@" 2>"$work/curlerr") || true
  [ "$got" = "$want" ] || fail "$desc: HTTP $got, want $want ($(head -c 300 "$work/body" "$work/curlerr" 2>/dev/null | tr '\n' ' '))"
  ok "$desc: HTTP $got"
}
# retry N CMD...: run CMD until it succeeds, N times one second apart.
retry() {
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}
k() { lc_kubectl "$@"; }

# ---- up ----
t_up=$(date +%s)
"$LC_HERE/up.sh" >"$work/up.out" 2>&1 || { cat "$work/up.out" >&2; fail "up.sh"; }
ok "up.sh ($(($(date +%s) - t_up))s)"

mapfile -t nodes < <(lc_nodes)
node_ips=()
for n in "${nodes[@]}"; do
  read -r name ip role <<<"$n"
  node_ips+=("$ip")
  [ "$(k get node "$name" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
    fail "node $name not Ready"
  [ "$(k get node "$name" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')" = "$ip" ] ||
    fail "node $name InternalIP is not $ip"
  if [ "$role" = control-plane ]; then
    k get node "$name" -o jsonpath='{.metadata.labels}' | grep '"node-role.kubernetes.io/control-plane":""' >/dev/null ||
      fail "node $name lacks the control-plane label"
    k get node "$name" -o jsonpath='{.spec.taints}' | grep 'node-role.kubernetes.io/control-plane' >/dev/null ||
      fail "node $name lacks the control-plane taint"
  fi
  ok "node $name Ready, InternalIP $ip ($role)"
done
expect_code 200 "etcd metrics on 127.0.0.1:2381" http://127.0.0.1:2381/metrics
grep -q '^etcd_server_has_leader 1' "$work/body" || fail "etcd metrics lack etcd_server_has_leader 1"
expect_code 200 "kube-proxy metrics on 127.0.0.1:10249 (real kube-proxy via nsfwd)" http://127.0.0.1:10249/metrics
grep -q '^kubeproxy_sync_proxy_rules_duration_seconds' "$work/body" || fail "no kubeproxy_ metrics on 10249"

# ---- a control-plane component that exits is restarted, as a kubelet restarts a static pod ----
run=$LC_STATE/run
child_pid() { local pid; read -r pid _ <"$run/$1.child" && echo "$pid"; }
restarted() { # NAME OLD_PID OLD_RESTARTS HEALTH_URL: a new process, counted, and healthy
  [ "$(cat "$run/$1.restarts")" -gt "$3" ] && [ "$(child_pid "$1")" != "$2" ] && curl -fsSk --max-time 2 "$4"
}
# leading NAME: its current process holds its lease (its log says so since its last start).
leading() { awk '/^==== /{led=0} /successfully acquired lease/{led=1} END{exit !led}' "$LC_STATE/logs/$1.log"; }
# An API server outage longer than the leases' renew deadline (10 s): kube-controller-manager and
# kube-scheduler lose their lease and exit, and come back once it is back.
retry 60 leading kube-controller-manager || fail "kube-controller-manager never acquired its lease"
retry 60 leading kube-scheduler || fail "kube-scheduler never acquired its lease"
api_pid=$(child_pid kube-apiserver)
kcm_pid=$(child_pid kube-controller-manager)
sched_pid=$(child_pid kube-scheduler)
kcm_restarts=$(cat "$run/kube-controller-manager.restarts")
sched_restarts=$(cat "$run/kube-scheduler.restarts")
kill -STOP "$api_pid"
sleep 16
kill -CONT "$api_pid"
retry 90 restarted kube-controller-manager "$kcm_pid" "$kcm_restarts" https://127.0.0.1:10257/healthz ||
  fail "kube-controller-manager did not exit and come back after a 16 s API server outage"
retry 90 restarted kube-scheduler "$sched_pid" "$sched_restarts" https://127.0.0.1:10259/healthz ||
  fail "kube-scheduler did not exit and come back after a 16 s API server outage"
for c in kube-controller-manager kube-scheduler; do
  grep -qi 'leaderelection lost' "$LC_STATE/logs/$c.log" || fail "$c's log does not say why it exited"
done
ok "16 s API server outage: kube-controller-manager and kube-scheduler lost their leases, exited, were restarted, healthy"
sched_pid=$(child_pid kube-scheduler)
sched_restarts=$(cat "$run/kube-scheduler.restarts")
t_kill=$(date +%s)
kill -KILL "$sched_pid"
retry 60 restarted kube-scheduler "$sched_pid" "$sched_restarts" https://127.0.0.1:10259/healthz ||
  fail "kube-scheduler killed (pid $sched_pid) did not come back: $(tail -n 5 "$LC_STATE/logs/kube-scheduler.log")"
ok "kube-scheduler killed (pid $sched_pid): restarted (pid $(child_pid kube-scheduler)), /healthz 200 after $(($(date +%s) - t_kill))s"

# ---- fixtures ----
if k get ns "$ns" >/dev/null 2>&1; then
  k delete ns "$ns" --wait=true --timeout=120s >/dev/null
fi
k create ns "$ns" >/dev/null
sans=$(printf 'IP:%s,' "${node_ips[@]}")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=eksa-lc-selftest \
  -addext "subjectAltName=${sans%,}" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
k -n "$ns" create secret tls proxy-tls --cert="$work/tls.crt" --key="$work/tls.key" >/dev/null
k -n "$ns" create serviceaccount metrics-proxy >/dev/null
k -n "$ns" create serviceaccount prometheus >/dev/null
k -n "$ns" create serviceaccount nobody >/dev/null
# kube-rbac-proxy creates TokenReviews and SubjectAccessReviews.
k create clusterrolebinding eksa-lc-selftest-proxy-auth --clusterrole=system:auth-delegator \
  --serviceaccount="$ns:metrics-proxy" --dry-run=client -o yaml | k apply -f - >/dev/null
k create clusterrole eksa-lc-selftest-metrics-reader --verb=get --non-resource-url=/metrics \
  --dry-run=client -o yaml | k apply -f - >/dev/null
k create clusterrolebinding eksa-lc-selftest-metrics-reader --clusterrole=eksa-lc-selftest-metrics-reader \
  --serviceaccount="$ns:prometheus" --dry-run=client -o yaml | k apply -f - >/dev/null

haproxy_cfg() { # $1 = extra frontend port (optional)
  cat <<EOF
global
  log stderr format raw local0
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend health
  bind "\${NODE_IP}:18080"
  monitor-uri /healthz
EOF
  if [ -n "${1:-}" ]; then
    # shellcheck disable=SC2016 # ${NODE_IP} is for haproxy to expand
    printf 'frontend health2\n  bind "${NODE_IP}:%s"\n  monitor-uri /healthz\n' "$1"
  fi
}
haproxy_cfg >"$work/haproxy.cfg"
k -n "$ns" create configmap haproxy-v1 --from-file=haproxy.cfg="$work/haproxy.cfg" >/dev/null

# daemonset NAME ROLE CONFIGMAP: the shape of the metrics-proxy component's DaemonSets.
daemonset() {
  local name=$1 role=$2 cm=$3 placement
  if [ "$role" = control-plane ]; then
    placement='      nodeSelector:
        node-role.kubernetes.io/control-plane: ""
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
      - {key: node-role.kubernetes.io/master, operator: Exists, effect: NoSchedule}'
  else
    placement='      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: node-role.kubernetes.io/control-plane, operator: DoesNotExist}'
  fi
  cat <<EOF
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: $name
  namespace: $ns
spec:
  selector:
    matchLabels: {app: $name}
  template:
    metadata:
      labels: {app: $name}
    spec:
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      automountServiceAccountToken: false
      enableServiceLinks: false
      serviceAccountName: metrics-proxy
      priorityClassName: system-node-critical
      terminationGracePeriodSeconds: 10
$placement
      securityContext:
        runAsNonRoot: true
        runAsUser: 65534
        runAsGroup: 65534
        fsGroup: 65534
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: haproxy
        image: docker.io/library/haproxy:2.8
        command: ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
        env:
        - name: NODE_IP
          valueFrom: {fieldRef: {fieldPath: status.hostIP}}
        ports: [{name: proxy-health, containerPort: 18080, hostPort: 18080, protocol: TCP}]
        resources: {requests: {cpu: 10m, memory: 32Mi}}
        securityContext: &sc
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
        readinessProbe:
          httpGet: {path: /healthz, port: proxy-health, scheme: HTTP}
          periodSeconds: 2
          timeoutSeconds: 2
        livenessProbe:
          httpGet: {path: /healthz, port: proxy-health, scheme: HTTP}
          periodSeconds: 5
          timeoutSeconds: 2
          failureThreshold: 6
          initialDelaySeconds: 10
        volumeMounts:
        - {name: config, mountPath: /usr/local/etc/haproxy, readOnly: true}
        - {name: tls, mountPath: /etc/eksa-metrics/tls, readOnly: true}
      - name: kube-proxy-rbac
        image: quay.io/brancz/kube-rbac-proxy:v0.21.0
        command: ["kube-rbac-proxy"]
        args:
        - --secure-listen-address=\$(NODE_IP):10249
        - --upstream=http://127.0.0.1:10249/
        - --allow-paths=/metrics
        - --tls-cert-file=/etc/eksa-metrics/tls/tls.crt
        - --tls-private-key-file=/etc/eksa-metrics/tls/tls.key
        - --tls-min-version=VersionTLS12
        env:
        - name: NODE_IP
          valueFrom: {fieldRef: {fieldPath: status.hostIP}}
        resources: {requests: {cpu: 10m, memory: 32Mi}}
        securityContext: *sc
        ports: [{name: kube-proxy, containerPort: 10249, hostPort: 10249, protocol: TCP}]
        readinessProbe:
          tcpSocket: {port: 10249}
          periodSeconds: 2
        livenessProbe:
          tcpSocket: {port: 10249}
          periodSeconds: 10
          failureThreshold: 6
          initialDelaySeconds: 10
        volumeMounts:
        - {name: tls, mountPath: /etc/eksa-metrics/tls, readOnly: true}
        - {name: sa-token, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}
      volumes:
      - name: config
        configMap: {name: $cm}
      - name: tls
        secret:
          secretName: proxy-tls
          defaultMode: 0440
          items: [{key: tls.crt, path: tls.crt}, {key: tls.key, path: tls.key}]
      - name: sa-token
        projected:
          defaultMode: 0440
          sources:
          - serviceAccountToken: {path: token, expirationSeconds: 3607}
          - configMap:
              name: kube-root-ca.crt
              items: [{key: ca.crt, path: ca.crt}]
          - downwardAPI:
              items:
              - path: namespace
                fieldRef: {fieldPath: metadata.namespace}
EOF
}
apply_ds() { # CONFIGMAP
  {
    daemonset proxy-control-plane control-plane "$1"
    echo ---
    daemonset proxy-worker worker "$1"
  } >"$work/ds.yaml"
  k apply -f "$work/ds.yaml" >/dev/null
}
rollout() {
  local ds
  for ds in proxy-control-plane proxy-worker; do
    k -n "$ns" rollout status "ds/$ds" --timeout=120s >"$work/rollout.out" 2>&1 ||
      { cat "$work/rollout.out" >&2; fail "rollout status ds/$ds"; }
  done
}
pod_names() { k -n "$ns" get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort; }

# ---- DaemonSets come up on every node ----
apply_ds haproxy-v1
rollout
ok "rollout status: proxy-control-plane and proxy-worker"
want=${#nodes[@]}
ready=$(k -n "$ns" get pods -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
[ "$(grep -c ' Running True$' <<<"$ready")" = "$want" ] || fail "want $want Running/Ready pods, got: $ready"
for n in "${nodes[@]}"; do
  read -r name _ role <<<"$n"
  want_ds=proxy-worker
  [ "$role" = control-plane ] && want_ds=proxy-control-plane
  k -n "$ns" get pods -o jsonpath="{range .items[?(@.spec.nodeName==\"$name\")]}{.metadata.ownerReferences[0].name}{end}" |
    grep -qx "$want_ds" || fail "node $name does not run exactly one $want_ds pod"
done
ok "one Running/Ready pod per node, control-plane DS on the control plane, worker DS on workers"
for ip in "${node_ips[@]}"; do
  expect_code 200 "haproxy health http://$ip:18080/healthz" "http://$ip:18080/healthz"
done
before=$(pod_names)
any_pod=$(echo "$before" | head -1)
k -n "$ns" logs "$any_pod" -c kube-proxy-rbac | grep "Listening securely on" >/dev/null ||
  fail "kubectl logs $any_pod -c kube-proxy-rbac (kubelet API on :10250) lacks 'Listening securely on'"
ok "kubectl logs (the kubelet's containerLogs API) shows kube-rbac-proxy's output"

# ---- kube-rbac-proxy in front of the real kube-proxy's 127.0.0.1:10249 ----
reader=$(k -n "$ns" create token prometheus --duration=10m)
nobody=$(k -n "$ns" create token nobody --duration=10m)
for ip in "${node_ips[@]}"; do
  u=https://$ip:10249/metrics
  expect_code 401 "kube-rbac-proxy $u without token" --cacert "$work/tls.crt" "$u"
  expect_code 403 "kube-rbac-proxy $u with a token lacking the role" --cacert "$work/tls.crt" -H "Authorization: Bearer $nobody" "$u"
  expect_code 200 "kube-rbac-proxy $u with a metrics-reader token" --cacert "$work/tls.crt" -H "Authorization: Bearer $reader" "$u"
  grep -q '^kubeproxy_sync_proxy_rules_duration_seconds' "$work/body" || fail "$u did not serve kube-proxy metrics"
done
expect_code 404 "kube-rbac-proxy path outside --allow-paths" --cacert "$work/tls.crt" -H "Authorization: Bearer $reader" "https://${node_ips[0]}:10249/healthz"

# ---- delegated authn/authz of kube-controller-manager and kube-scheduler ----
for port in 10257 10259; do
  u=https://127.0.0.1:$port/metrics
  expect_code 200 "$u with a metrics-reader token" -k -H "Authorization: Bearer $reader" "$u"
  expect_code 403 "$u with a token lacking the role" -k -H "Authorization: Bearer $nobody" "$u"
  # No credentials: the delegated authenticator lets the request in as system:anonymous and
  # the SubjectAccessReview denies it, so 403 (an invalid token is 401).
  expect_code 403 "$u without token (system:anonymous)" -k "$u"
  expect_code 401 "$u with an invalid token" -k -H "Authorization: Bearer not-a-token" "$u"
done

# ---- the projected token is a real, pod-bound TokenRequest token ----
cp_pod=$(k -n "$ns" get pods -l app=proxy-control-plane -o jsonpath='{.items[0].metadata.name}')
tokfile=$(ls "$LC_STATE/pods/${ns}_$cp_pod/volumes/sa-token/token")
# kubelet rules: token 0600 owned by the pods' single runAsUser, then fsGroup adds g+r.
stat -c '%u %g %a' "$(readlink -f "$tokfile")" | grep -x '65534 65534 640' >/dev/null || fail "projected token is not 0640 65534:65534"
keyfile=$LC_STATE/pods/${ns}_$cp_pod/volumes/tls/tls.key
stat -c '%u %g %a' "$(readlink -f "$keyfile")" | grep -x '0 65534 440' >/dev/null || fail "secret defaultMode 0440 + fsGroup: tls.key is not 0440 root:65534"
payload=$(cut -d. -f2 "$tokfile" | tr '_-' '/+')
while ((${#payload} % 4)); do payload+="="; done
base64 -d <<<"$payload" 2>/dev/null | grep "\"name\":\"$cp_pod\"" >/dev/null || fail "token is not bound to pod $cp_pod"
ok "volumes: token 0640 65534:65534 bound to pod $cp_pod, tls.key 0440 root:65534 (fsGroup)"

# ---- a container that dies is restarted (restartCount++) ----
hp_pid=$(awk '{print $1}' "$LC_STATE/pods/${ns}_$cp_pod/containers/haproxy/pid")
restarts0=$(k -n "$ns" get pod "$cp_pod" -o jsonpath='{.status.containerStatuses[?(@.name=="haproxy")].restartCount}')
kill -KILL "$hp_pid"
restarted() {
  [ "$(k -n "$ns" get pod "$cp_pod" -o jsonpath='{.status.containerStatuses[?(@.name=="haproxy")].restartCount}')" = $((restarts0 + 1)) ] &&
    [ "$(k -n "$ns" get pod "$cp_pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
retry 30 restarted || fail "haproxy was not restarted after SIGKILL"
k -n "$ns" logs "$cp_pod" -c haproxy --previous | grep "Loading success" >/dev/null ||
  fail "kubectl logs --previous does not show the killed haproxy's output"
ok "killed haproxy of $cp_pod: restarted, restartCount $restarts0 -> $((restarts0 + 1)), Ready again"

# ---- ConfigMap + template change: pods are replaced ----
haproxy_cfg 18081 >"$work/haproxy.cfg"
k -n "$ns" create configmap haproxy-v2 --from-file=haproxy.cfg="$work/haproxy.cfg" >/dev/null
apply_ds haproxy-v2
rollout
after=$(pod_names)
[ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ] || fail "old pods survived the template change: $after"
[ "$(echo "$after" | wc -l)" = "$want" ] || fail "want $want pods after the update, got: $after"
ok "template change replaced every pod"
for ip in "${node_ips[@]}"; do
  expect_code 200 "new config in effect: http://$ip:18081/healthz" "http://$ip:18081/healthz"
done

# ---- readiness flips off and on; a failing liveness probe restarts the container ----
# The pod's haproxy answers /healthz on two frontends only while a dependency is up; the
# dependencies are two tiny haproxy listeners the test starts and stops on 127.0.0.1.
listener() { # PORT -> pid
  printf 'defaults\n  mode tcp\n  timeout client 1s\nfrontend l\n  bind 127.0.0.1:%s\n' "$1" >"$work/listener-$1.cfg"
  haproxy -db -f "$work/listener-$1.cfg" >/dev/null 2>&1 &
  echo $!
}
ready_dep=$(listener 18099)
live_dep=$(listener 18098)
cat >"$work/probe.cfg" <<'EOF'
global
  log stderr format raw local0
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
backend ready_dep
  server dep 127.0.0.1:18099 check inter 300ms fall 1 rise 1
backend live_dep
  server dep 127.0.0.1:18098 check inter 300ms fall 1 rise 1
frontend ready
  bind "${NODE_IP}:18090"
  monitor-uri /healthz
  monitor fail if { nbsrv(ready_dep) lt 1 }
frontend live
  bind "${NODE_IP}:18091"
  monitor-uri /healthz
  monitor fail if { nbsrv(live_dep) lt 1 }
EOF
k -n "$ns" create configmap probe-cfg --from-file=haproxy.cfg="$work/probe.cfg" >/dev/null
probe_node=${nodes[-1]%% *}
# haproxy_pod NAME NODE HOSTNETWORK IP_VAR FIELD CONFIGMAP PROBES: haproxy with CONFIGMAP's
# haproxy.cfg, IP_VAR from fieldRef FIELD, and the PROBES (YAML, indented for the container).
haproxy_pod() {
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $ns}
spec:
  nodeName: $2
  hostNetwork: $3
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 3
  securityContext: {runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534}
  containers:
  - name: haproxy
    image: haproxy:2.8
    command: ["haproxy", "-W", "-db", "-f", "/cfg/haproxy.cfg"]
    env:
    - name: $4
      valueFrom: {fieldRef: {fieldPath: $5}}
$7
    volumeMounts: [{name: cfg, mountPath: /cfg}]
  volumes: [{name: cfg, configMap: {name: $6}}]
EOF
}
haproxy_pod probe-check "$probe_node" true NODE_IP status.hostIP probe-cfg '    readinessProbe:
      httpGet: {path: /healthz, port: 18090}
      periodSeconds: 1
      failureThreshold: 1
    livenessProbe:
      httpGet: {path: /healthz, port: 18091}
      initialDelaySeconds: 2
      periodSeconds: 1
      failureThreshold: 2' | k apply -f - >/dev/null
pod_ready() { [ "$(k -n "$ns" get pod probe-check -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = "$1" ]; }
restart_count() { k -n "$ns" get pod probe-check -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
retry 30 pod_ready True || fail "probe-check never became Ready"
ok "probe-check Ready while its readiness dependency is up"
kill "$ready_dep"
retry 15 pod_ready False || fail "probe-check stayed Ready after its readiness probe started failing"
[ "$(restart_count)" = 0 ] || fail "a failing readiness probe restarted the container"
ok "readiness probe failing: Ready=False, container not restarted"
ready_dep=$(listener 18099)
retry 15 pod_ready True || fail "probe-check did not become Ready again"
ok "readiness probe passing again: Ready=True"
kill "$live_dep"
restarted_by_liveness() { (($(restart_count) >= 1)); }
retry 20 restarted_by_liveness || fail "a failing liveness probe did not restart the container"
live_dep=$(listener 18098)
retry 40 pod_ready True || fail "probe-check not Ready after the liveness restart"
ok "liveness probe failing: container restarted (restartCount $(restart_count)), Ready again once healthy"
k -n "$ns" delete pod probe-check --wait=true --timeout=60s >/dev/null
kill "$ready_dep" "$live_dep" 2>/dev/null || true
wait "$ready_dep" "$live_dep" 2>/dev/null || true
ready_dep='' live_dep=''

# ---- a pod whose image the kubelet does not know stays Pending ----
last_node=${nodes[-1]%% *}
# nodeName bypasses the scheduler (and so the control-plane taint when there is no worker).
k -n "$ns" run unknown-image --image=docker.io/library/busybox:1.36 --restart=Never \
  --overrides='{"spec":{"hostNetwork":true,"nodeName":"'"$last_node"'"}}' -- sleep 1 >/dev/null
waiting_reason() { k -n "$ns" get pod unknown-image -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}' | grep -qx ErrImageNeverPull; }
retry 20 waiting_reason || fail "unknown-image pod is not waiting with ErrImageNeverPull"
[ "$(k -n "$ns" get pod unknown-image -o jsonpath='{.status.phase}')" = Pending ] || fail "unknown-image pod is not Pending"
ok "pod with an unknown image stays Pending (ErrImageNeverPull)"
k -n "$ns" delete pod unknown-image --wait=true --timeout=60s >/dev/null

# ---- the pod network: non-hostNetwork pods (README "The pod network") ----
first_node=${nodes[0]%% *}
# haproxy on the pod's own IP (fieldRef status.podIP); probed inside the pod's namespace.
cat >"$work/podnet.cfg" <<'EOF'
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend web
  bind "${POD_IP}:8080"
  monitor-uri /healthz
EOF
k -n "$ns" create configmap podnet-cfg --from-file=haproxy.cfg="$work/podnet.cfg" >/dev/null
t_pod=$(date +%s.%N)
haproxy_pod podnet-server "$last_node" false POD_IP status.podIP podnet-cfg '    readinessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1' | k apply -f - >/dev/null
server_ready() { [ "$(k -n "$ns" get pod podnet-server -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
retry 30 server_ready || fail "podnet-server never became Ready"
t_ready=$(awk -v a="$t_pod" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
server_ip=$(k -n "$ns" get pod podnet-server -o jsonpath='{.status.podIP}')
server_cidr=$(k get node "$last_node" -o jsonpath='{.spec.podCIDR}')
[ "$(k -n "$ns" get pod podnet-server -o jsonpath='{.status.hostIP}')" = "${node_ips[-1]}" ] || fail "podnet-server hostIP is not its node's IP"
python3 -c 'import ipaddress, sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' \
  "$server_ip" "$server_cidr" || fail "pod IP '$server_ip' is not in its node's podCIDR $server_cidr"
ok "non-hostNetwork pod Ready in ${t_ready}s with pod IP $server_ip (podCIDR $server_cidr; probes inside its netns)"
read -r _ _ server_netns server_veth _ <"$LC_STATE/pods/${ns}_podnet-server/network"
ip netns exec "$LC_PODNET_NETNS" curl -fsS --max-time 5 -o /dev/null "http://$server_ip:8080/healthz" ||
  fail "pod IP $server_ip not reachable from the pod-network namespace"
ok "pod IP reachable from the pod-network namespace $LC_PODNET_NETNS"

# A pod on another node (another podCIDR): pod -> pod over the bridge, pod -> apiserver and
# pod -> node IP through the forwarder. restartPolicy Never: it must end Succeeded.
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: podnet-client, namespace: $ns}
spec:
  nodeName: $first_node
  restartPolicy: Never
  automountServiceAccountToken: false
  containers:
  - name: client
    image: curlimages/curl:8.11.1
    command: ["/bin/sh", "-c"]
    args:
    - |
      set -e
      echo "pod: \$(curl -fsS --max-time 5 http://$server_ip:8080/healthz -o /dev/null -w '%{http_code}')"
      echo "apiserver: \$(curl -sk --max-time 5 https://\$KUBERNETES_SERVICE_HOST:\$KUBERNETES_SERVICE_PORT/healthz)"
      echo "node: \$(curl -fsS --max-time 5 http://${node_ips[-1]}:18080/healthz -o /dev/null -w '%{http_code}')"
EOF
pod_phase() { k -n "$ns" get pod "$1" -o jsonpath='{.status.phase}'; }
client_done() { case $(pod_phase podnet-client) in Succeeded | Failed) return 0 ;; esac; return 1; }
retry 40 client_done || fail "podnet-client did not finish (phase $(pod_phase podnet-client))"
client_logs=$(k -n "$ns" logs podnet-client)
[ "$(pod_phase podnet-client)" = Succeeded ] || fail "podnet-client $(pod_phase podnet-client): $client_logs"
grep -qx 'pod: 200' <<<"$client_logs" || fail "pod -> pod over the bridge: $client_logs"
grep -qx 'apiserver: ok' <<<"$client_logs" || fail "pod -> apiserver: $client_logs"
grep -qx 'node: 200' <<<"$client_logs" || fail "pod -> node IP: $client_logs"
ok "pod on $first_node reaches pod $server_ip, the apiserver and ${node_ips[-1]}:18080; Succeeded, logs read"
read -r _ _ client_netns _ <"$LC_STATE/pods/${ns}_podnet-client/network"
netns_gone() { [ ! -e "/run/netns/$1" ]; }
retry 10 netns_gone "$client_netns" || fail "netns $client_netns of the completed pod still exists"
ok "completed pod: its netns is removed"

# curlimages/curl with only args (as `kubectl run` makes it): the image's entrypoint runs curl.
k -n "$ns" run curl-once --image=docker.io/curlimages/curl:8.11.1 --restart=Never \
  --overrides='{"spec":{"nodeName":"'"$last_node"'"}}' -- -sSi "http://$server_ip:8080/healthz" >/dev/null
curl_done() { [ "$(pod_phase curl-once)" = Succeeded ]; }
retry 40 curl_done || fail "curl-once is $(pod_phase curl-once), not Succeeded: $(k -n "$ns" logs curl-once 2>&1)"
[ "$(k -n "$ns" get pod curl-once -o jsonpath='{.status.containerStatuses[0].state.terminated.exitCode}')" = 0 ] ||
  fail "curl-once exit code is not 0"
k -n "$ns" logs curl-once | grep '200 OK' >/dev/null || fail "curl-once logs: $(k -n "$ns" logs curl-once 2>&1)"
ok "curlimages/curl pod (entrypoint curl): Succeeded, exit code 0, logs"

# ---- a closed network: the emulated registries (README "Emulated registries", a stand-in) ----
cat >"$LC_REGISTRIES_FILE" <<'EOF'
{"registries": [{"host": "mirror.example:5000", "images": ["curlimages/curl:8.11.1"],
                 "credentials": {"username": "puller", "password": "selftest"}}]}
EOF
k -n "$ns" create secret docker-registry mirror-pull --docker-server=mirror.example:5000 \
  --docker-username=puller --docker-password=selftest >/dev/null
pull_pod() { # NAME IMAGE [PULL_SECRET]
  local secrets=''
  [ -n "${3:-}" ] && secrets=',"imagePullSecrets":[{"name":"'"$3"'"}]'
  k -n "$ns" run "$1" --image="$2" --restart=Never \
    --overrides='{"spec":{"hostNetwork":true,"nodeName":"'"$last_node"'"'"$secrets"'}}' -- --version >/dev/null
}
waiting() { k -n "$ns" get pod "$1" -o jsonpath='{.status.containerStatuses[0].state.waiting.reason} {.status.containerStatuses[0].state.waiting.message}'; }
backing_off() { waiting "$1" | grep "^ImagePullBackOff .*$2" >/dev/null; }
pull_pod pull-upstream docker.io/curlimages/curl:8.11.1 mirror-pull
retry 30 backing_off pull-upstream 'lookup registry-1.docker.io: no such host.*a stand-in' ||
  fail "pull-upstream on a closed network: $(waiting pull-upstream)"
ok "closed network: an image from elsewhere fails (ErrImagePull, then ImagePullBackOff: no such host)"
pull_pod pull-no-secret mirror.example:5000/curlimages/curl:8.11.1
retry 30 backing_off pull-no-secret '401 Unauthorized' || fail "pull-no-secret: $(waiting pull-no-secret)"
ok "closed network: the mirror without the pod's imagePullSecret fails (401 Unauthorized)"
pull_pod pull-mirror mirror.example:5000/curlimages/curl:8.11.1 mirror-pull
pulled() { [ "$(pod_phase pull-mirror)" = Succeeded ]; }
retry 30 pulled || fail "pull-mirror is $(pod_phase pull-mirror): $(waiting pull-mirror)"
k -n "$ns" get events --field-selector involvedObject.name=pull-mirror,reason=Pulled -o jsonpath='{.items[*].message}' |
  grep -q 'from the emulated registry mirror.example:5000' || fail "pull-mirror: no Pulled event from the mirror"
ok "closed network: the mirror with the pod's imagePullSecret pulls (Pulled, Succeeded)"
rm -f "$LC_REGISTRIES_FILE"
k -n "$ns" delete pod pull-upstream pull-no-secret pull-mirror --wait=true --timeout=60s >/dev/null

k -n "$ns" delete pod podnet-server podnet-client curl-once --wait=true --timeout=60s >/dev/null
netns_gone "$server_netns" || fail "netns $server_netns still exists after deleting the pod"
! ip -n "$LC_PODNET_NETNS" link show "$server_veth" >/dev/null 2>&1 || fail "veth $server_veth still exists"
ok "pod deleted: its netns $server_netns and veth $server_veth are gone"

# ---- deleting the DaemonSets stops the processes ----
ctr_pids=$(cat "$LC_STATE"/pods/"${ns}"_proxy-*/containers/*/pid 2>/dev/null | awk '{print $1}')
[ -n "$ctr_pids" ] || fail "no container pid files found"
k -n "$ns" delete ds proxy-control-plane proxy-worker --wait=true --timeout=60s >/dev/null
k -n "$ns" wait --for=delete pod --all --timeout=60s >/dev/null 2>&1 || true
[ -z "$(k -n "$ns" get pods -o name)" ] || fail "pods left after deleting the DaemonSets: $(k -n "$ns" get pods -o name)"
procs_gone() { local p; for p in $ctr_pids; do [ ! -e "/proc/$p" ] || return 1; done; }
retry 15 procs_gone || fail "container processes still running: $(for p in $ctr_pids; do ps -o pid=,cmd= -p "$p"; done)"
ok "DaemonSets deleted: pods confirmed deleted, their $(wc -w <<<"$ctr_pids") container processes gone"
k delete clusterrolebinding eksa-lc-selftest-proxy-auth eksa-lc-selftest-metrics-reader >/dev/null
k delete clusterrole eksa-lc-selftest-metrics-reader >/dev/null
k delete ns "$ns" --wait=false >/dev/null

# ---- down.sh leaves nothing ----
if ! $keep; then
  # every process up.sh started (pid + start time), checked again after down.sh
  started_pids=()
  for f in "$LC_STATE"/run/*.pid; do started_pids+=("$(cat "$f")"); done
  "$LC_HERE/down.sh" >"$work/down.out" 2>&1 || { cat "$work/down.out" >&2; fail "down.sh"; }
  keep=true # finish() must not run it again
  for entry in "${started_pids[@]}"; do
    read -r pid st <<<"$entry"
    [ "$(lc_starttime "$pid" 2>/dev/null)" != "$st" ] || fail "process $pid ($(ps -o cmd= -p "$pid")) still running after down.sh"
  done
  for port in 2379 2380 2381 6443 10249 10257 10259; do
    ! ss -Hltn "sport = :$port" | grep . >/dev/null || fail "port $port still listening after down.sh"
  done
  for n in "$LC_NETNS" "$LC_PODNET_NETNS"; do [ ! -e "/run/netns/$n" ] || fail "netns $n still exists"; done
  ok "down.sh: the ${#started_pids[@]} processes up.sh started are gone, no port or netns left"
fi
