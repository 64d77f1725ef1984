# shellcheck shell=bash
# Sourced by the deploy hooks and scripts: kubectl against the context and namespace skaffold
# deploys to (SKAFFOLD_KUBE_CONTEXT / SKAFFOLD_NAMESPACES are set for host hooks), or the
# current context and NAMESPACE (or the context's namespace) when run by hand or from CI.
# Safe under `set -u`: every variable may be unset.
kube() {
  local args=()
  if [ -n "${SKAFFOLD_KUBE_CONTEXT:-}" ]; then args+=(--context "$SKAFFOLD_KUBE_CONTEXT"); fi
  local namespaces=${SKAFFOLD_NAMESPACES:-}
  local ns=${NAMESPACE:-${namespaces%%,*}}
  if [ -n "$ns" ]; then args+=(--namespace "$ns"); fi
  kubectl "${args[@]}" "$@"
}
