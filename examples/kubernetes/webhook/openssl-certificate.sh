#!/bin/sh
# The webhook's certificate without cert-manager: a CA and a serving
# certificate made with openssl, the Secret the webhook mounts, and the CA in
# the MutatingWebhookConfiguration's caBundle.
#
#   sh examples/kubernetes/webhook/openssl-certificate.sh [DIR]
#
# Run it after webhook.yaml, in place of certificate.yaml (README "Harbor on
# EKS", step 4): it creates the Secret the webhook mounts, applies
# mutating-webhook.yaml itself and sets its caBundle; label a namespace only
# once the webhook is ready (kubectl -n credbridge rollout status
# deployment/credbridge-webhook). DIR (default: a new
# temporary directory) keeps ca.key: renew the serving certificate before it
# expires (365 days) by running the script again with the same DIR; the webhook
# reloads the new files without a restart. KUBECTL overrides the kubectl command.
set -eu
NAMESPACE=credbridge
SERVICE=credbridge-webhook
DIR=${1:-$(mktemp -d)}
KUBECTL=${KUBECTL:-kubectl}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$DIR"
umask 077

if [ ! -f "$DIR/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$DIR/ca.key" -out "$DIR/ca.crt" -days 3650 -subj "/CN=$SERVICE-ca" 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$DIR/tls.key" -out "$DIR/tls.csr" -subj "/CN=$SERVICE.$NAMESPACE.svc" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s\nextendedKeyUsage=serverAuth\n' \
  "$SERVICE.$NAMESPACE.svc" "$SERVICE.$NAMESPACE.svc.cluster.local" >"$DIR/tls.ext"
openssl x509 -req -in "$DIR/tls.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -CAcreateserial \
  -days 365 -extfile "$DIR/tls.ext" -out "$DIR/tls.crt" 2>/dev/null

"$KUBECTL" -n "$NAMESPACE" create secret tls "$SERVICE-tls" \
  --cert="$DIR/tls.crt" --key="$DIR/tls.key" --dry-run=client -o yaml | "$KUBECTL" apply -f -
"$KUBECTL" apply -f "$HERE/mutating-webhook.yaml"
CA_BUNDLE=$(base64 <"$DIR/ca.crt" | tr -d '\n')
"$KUBECTL" patch mutatingwebhookconfiguration "$SERVICE" --type=json \
  -p "[{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"$CA_BUNDLE\"}]"
echo "certificate in $DIR (keep ca.key to renew)"
