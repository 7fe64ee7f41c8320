#!/usr/bin/env bash
# PKI of the local control plane, with openssl, laid out like kubeadm's /etc/kubernetes/pki.
# Idempotent: an existing key or certificate is kept (so a warm `up.sh` reuses everything).
#   pki.sh STATE_DIR APISERVER_IP NODE...
set -euo pipefail

state=$1
api_ip=$2
shift 2
pki=$state/pki
umask 077
mkdir -p "$pki/etcd"
chmod 700 "$state" "$pki" "$pki/etcd"

days=3650

ec_key() { [ -s "$1" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# ca NAME CN
ca() {
  local base=$1 cn=$2
  [ -s "$base.crt" ] && return 0
  ec_key "$base.key"
  openssl req -x509 -new -key "$base.key" -sha256 -days "$days" -subj "/CN=$cn" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$base.crt"
}

# cert BASE CA_BASE SUBJECT EKU [SAN]
cert() {
  local base=$1 cab=$2 subj=$3 eku=$4 san=${5:-}
  [ -s "$base.crt" ] && return 0
  ec_key "$base.key"
  local ext
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    echo "authorityKeyIdentifier=keyid"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -key "$base.key" -subj "$subj" -out "$base.csr"
  openssl x509 -req -in "$base.csr" -CA "$cab.crt" -CAkey "$cab.key" -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "$base.crt" 2>/dev/null
  rm -f "$base.csr" "$ext"
}

ca "$pki/ca" kubernetes
ca "$pki/etcd/ca" etcd-ca

# Clients inside the cluster's namespace use 127.0.0.1; those outside use APISERVER_IP. A
# certificate from a run with another address block lacks it: issue a new one.
api_sans=IP:127.0.0.1
[ "$api_ip" = 127.0.0.1 ] || api_sans+=",IP:$api_ip"
if [ -s "$pki/apiserver.crt" ] && ! openssl x509 -in "$pki/apiserver.crt" -noout -ext subjectAltName |
  tr -d ' ' | tr ',' '\n' | grep -qxF "IPAddress:$api_ip"; then
  rm "$pki/apiserver.crt"
fi
cert "$pki/apiserver" "$pki/ca" "/CN=kube-apiserver" serverAuth \
  "$api_sans,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
cert "$pki/apiserver-kubelet-client" "$pki/ca" "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client" clientAuth
cert "$pki/apiserver-etcd-client" "$pki/etcd/ca" "/CN=kube-apiserver-etcd-client" clientAuth
cert "$pki/etcd/server" "$pki/etcd/ca" "/CN=eksa-cp-1" serverAuth,clientAuth "IP:127.0.0.1,DNS:localhost"

cert "$pki/admin" "$pki/ca" "/O=system:masters/CN=kubernetes-admin" clientAuth
cert "$pki/controller-manager" "$pki/ca" "/CN=system:kube-controller-manager" clientAuth
cert "$pki/scheduler" "$pki/ca" "/CN=system:kube-scheduler" clientAuth
cert "$pki/kube-proxy" "$pki/ca" "/CN=system:kube-proxy" clientAuth
for node in "$@"; do
  cert "$pki/kubelet-$node" "$pki/ca" "/O=system:nodes/CN=system:node:$node" clientAuth
done

# Service-account token signing keypair (RSA, as kubeadm makes it).
if [ ! -s "$pki/sa.key" ]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
fi
[ -s "$pki/sa.pub" ] || openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
rm -f "$pki"/*.srl "$pki"/etcd/*.srl
