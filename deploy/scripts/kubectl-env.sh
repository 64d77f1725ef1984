# Sourced by the deploy hooks: kubectl against the context and namespace skaffold deploys
# to (SKAFFOLD_KUBE_CONTEXT / SKAFFOLD_NAMESPACES are set for host hooks), or the current
# context and NAMESPACE when run by hand or from CI.
kube() {
  local args=()
  if [ -n "${SKAFFOLD_KUBE_CONTEXT:-}" ]; then args+=(--context "$SKAFFOLD_KUBE_CONTEXT"); fi
  local ns=${NAMESPACE:-${SKAFFOLD_NAMESPACES%%,*}}
  if [ -n "$ns" ]; then args+=(--namespace "$ns"); fi
  kubectl "${args[@]}" "$@"
}
