#!/usr/bin/env bash
# kubeconfig-from-env.sh: writes ~/.kube/config from KUBECONFIG_DATA (a base64 kubeconfig),
# for CI. The secret comes in through the environment, never pasted into a script.
set -euo pipefail
: "${KUBECONFIG_DATA:?KUBECONFIG_DATA (base64 kubeconfig) is not set}"
mkdir -p ~/.kube
umask 077
printf '%s' "$KUBECONFIG_DATA" | base64 -d > ~/.kube/config
