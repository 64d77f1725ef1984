#!/usr/bin/env bash
# render.sh DIR [--check]: prints the manifests of the kustomization DIR (`kubectl kustomize`),
# and fails, naming them, while any value is still a REPLACE_ME placeholder: an overlay whose
# production values were never set must not reach a cluster. --check prints nothing on success.
set -euo pipefail
rendered=$(kubectl kustomize "$1")
if placeholders=$(grep -n 'REPLACE_ME' <<<"$rendered"); then
  echo "render.sh: $1 still has placeholders; set them in $1 first:" >&2
  echo "$placeholders" >&2
  exit 1
fi
if [ "${2:-}" != "--check" ]; then echo "$rendered"; fi
