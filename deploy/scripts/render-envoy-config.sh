#!/usr/bin/env bash
# render-envoy-config.sh [--require-origins]: prints deploy/envoy/envoy.yaml with the CORS
# allowed origins taken from ENVOY_ALLOWED_ORIGINS (comma-separated, e.g.
# "https://zeva.example.gov.bc.ca,https://zeva-test.example.gov.bc.ca"); unset, the file's
# own list (the dev frontend) stays. Each origin must be scheme://host[:port]: no `*`, no
# path. --require-origins fails when the variable is unset or empty (production).
set -euo pipefail
config="$(dirname "$0")/../envoy/envoy.yaml"
origins=${ENVOY_ALLOWED_ORIGINS:-}
origins=${origins// /}
if [ -z "$origins" ]; then
  if [ "${1:-}" = "--require-origins" ]; then
    echo "render-envoy-config.sh: ENVOY_ALLOWED_ORIGINS is not set (the frontend's origin)" >&2
    exit 1
  fi
  cat "$config"
  exit 0
fi
IFS=, read -r -a list <<<"$origins"
for origin in "${list[@]}"; do
  if ! [[ "$origin" =~ ^https?://[A-Za-z0-9.-]+(:[0-9]+)?$ ]]; then
    echo "render-envoy-config.sh: not an origin (scheme://host[:port]): '$origin'" >&2
    exit 1
  fi
done
# Replaces the `- exact:` entries that follow allow_origin_string_match.
awk -v origins="$origins" '
  replacing && $1 == "-" && $2 == "exact:" { next }
  { replacing = 0 }
  /allow_origin_string_match:/ {
    print
    indent = substr($0, 1, match($0, /[^ ]/) - 1) "  "
    n = split(origins, list, ",")
    for (i = 1; i <= n; i++) print indent "- exact: \"" list[i] "\""
    replacing = 1
    next
  }
  { print }' "$config"
