#!/usr/bin/env bash
# envoy-config.sh: creates or updates the ConfigMap `zeva-envoy` from deploy/envoy/envoy.yaml
# (the one source of the Envoy configuration), for the Deployment in deploy/k8s/envoy.yaml.
set -euo pipefail
source "$(dirname "$0")/kubectl-env.sh"
config="$(dirname "$0")/../envoy/envoy.yaml"
result=$(kube create configmap zeva-envoy --from-file=envoy.yaml="$config" --dry-run=client -o yaml \
  | kube apply -f -)
echo "$result"
# Envoy reads its static configuration once: restart it when the file changed.
if [[ "$result" == *configured* ]] && kube get deployment envoy >/dev/null 2>&1; then
  kube rollout restart deployment/envoy
fi
