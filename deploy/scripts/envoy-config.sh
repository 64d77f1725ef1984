#!/usr/bin/env bash
# envoy-config.sh [--require-origins]: creates or updates the ConfigMap `zeva-envoy` from
# deploy/envoy/envoy.yaml (the one source of the Envoy configuration) with the CORS origins
# of ENVOY_ALLOWED_ORIGINS (see render-envoy-config.sh), for deploy/k8s/base/envoy.yaml.
set -euo pipefail
source "$(dirname "$0")/kubectl-env.sh"
rendered=$(bash "$(dirname "$0")/render-envoy-config.sh" "$@")
result=$(kube create configmap zeva-envoy --from-file=envoy.yaml=/dev/stdin --dry-run=client -o yaml \
  <<<"$rendered" | kube apply -f -)
echo "$result"
# Envoy reads its static configuration once: restart it when the file changed.
if [[ "$result" == *configured* ]] && kube get deployment envoy >/dev/null 2>&1; then
  kube rollout restart deployment/envoy
fi
