#!/usr/bin/env bash
# Arrows point down: fails when a C++ file includes a header of a folder that the layering
# table in docs/development.md (section "Layers") does not allow for its own folder, or when a
# folder with C++ files has no row there. Generated protobuf headers (*.pb.h) count as protos/.
# Run by scripts/lint.sh; takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
table=docs/development.md

# "folder allowed allowed ..." per row of the table: | `db/` | `domain/` | ...
declare -A allowed
while read -r folder rest; do
  allowed[$folder]=" $rest "
done < <(awk '/^### Layers/{on=1; next} on && /^#/{exit} on && /^\| `[a-z_]+\/` \|/' "$table" |
  awk -F'|' '{
    row = $2; gsub(/[` \/]/, "", row); out = row; rest = $3
    if (rest ~ /anything/) out = out " *"
    while (match(rest, /`[a-z_]+\/`/)) {
      out = out " " substr(rest, RSTART + 1, RLENGTH - 3); rest = substr(rest, RSTART + RLENGTH)
    }
    print out
  }')
if [ "${#allowed[@]}" -eq 0 ]; then
  echo "layers: no table under '### Layers' in $table" >&2
  exit 1
fi

problems=0
while IFS= read -r file; do
  folder=${file%%/*}
  if [ -z "${allowed[$folder]+set}" ]; then
    echo "layers: $folder/ has no row in the table of $table" >&2
    problems=$((problems + 1))
    continue
  fi
  [[ ${allowed[$folder]} == *" * "* ]] && continue
  while IFS= read -r header; do
    if [[ $header == *.pb.h ]]; then
      target=protos
    else
      target=${header%%/*}
      # Only the project's own folders count (absl/, spdlog/, grpcpp/ ... are libraries).
      [ "$target" != "$header" ] && [ -n "${allowed[$target]+set}" ] || continue
    fi
    [ "$target" = "$folder" ] && continue
    if [[ ${allowed[$folder]} != *" $target "* ]]; then
      echo "layers: $file includes \"$header\": $folder/ may not include $target/ ($table, Layers)" >&2
      problems=$((problems + 1))
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(git ls-files '*.cc' '*.h' | grep '/')

if [ "$problems" -gt 0 ]; then
  echo "layers: $problems problem(s)" >&2
  exit 1
fi
echo "layers: ${#allowed[@]} folders, every include points down"
