#!/usr/bin/env bash
# Uploads an ICBC registration extract to IcbcService from the command line, the way the
# frontend does: StartIcbcImport, UploadIcbcChunk in 1 MiB chunks, CommitIcbcImport, then polls
# GetIcbcImport until zeva-worker has finished it (docs/icbc.md).
#   ZEVA_TOKEN=$(bash scripts/dev-token.sh test_gov_1) bash scripts/icbc-upload.sh FILE YYYY-MM-DD
# ZEVA_TOKEN: a government ENGINEER_ANALYST's or DIRECTOR's bearer token (required).
# ZEVA_ADDRESS: the server (default localhost:10102). Calls go through `buf curl` (npm:
# npx -y @bufbuild/buf), which reads the API from the server's reflection.
set -euo pipefail
if [ $# -ne 2 ] || [ ! -f "$1" ] || ! [[ $2 =~ ^([0-9]{4})-([0-9]{2})-([0-9]{2})$ ]]; then
  echo "usage: ZEVA_TOKEN=... $0 FILE CURRENT_TO(YYYY-MM-DD)" >&2
  exit 2
fi
: "${ZEVA_TOKEN:?ZEVA_TOKEN must hold a government user\'s token}"
file=$1
year=$((10#${BASH_REMATCH[1]})) month=$((10#${BASH_REMATCH[2]})) day=$((10#${BASH_REMATCH[3]}))
address=${ZEVA_ADDRESS:-localhost:10102}
chunk=$((1024 * 1024))
size=$(stat -c %s "$file")
sha=$(sha256sum "$file" | cut -d' ' -f1)
name=$(basename "$file")

call() {  # METHOD, request JSON on stdin; prints the response JSON, fails on an error
  npx -y @bufbuild/buf curl --protocol grpc --http2-prior-knowledge \
    -H "authorization: Bearer $ZEVA_TOKEN" -d @- \
    "http://$address/zeva.credits.v1.IcbcService/$1"
}
field() {  # NAME, JSON on stdin: the field's value ("" when absent)
  tr -d '\n' | sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\)\"\{0,1\}.*/\1/p"
}

key="icbc-upload-$(date +%s)-$$"
started=$(printf '{"idempotencyKey":"%s","fileName":"%s","currentTo":{"year":%d,"month":%d,"day":%d},"sizeBytes":"%d","sha256":"%s"}' \
  "$key" "$name" "$year" "$month" "$day" "$size" "$sha" | call StartIcbcImport)
id=$(field id <<<"$started")
[ -n "$id" ] || { echo "no import id in: $started" >&2; exit 1; }
echo "import $id: uploading $size bytes of $name"
offset=0
while [ "$offset" -lt "$size" ]; do
  data=$(dd if="$file" bs="$chunk" skip="$((offset / chunk))" count=1 status=none | base64 -w0)
  printf '{"importId":"%s","offset":"%d","data":"%s"}' "$id" "$offset" "$data" |
    call UploadIcbcChunk >/dev/null
  offset=$((offset + chunk < size ? offset + chunk : size))
  echo "import $id: $offset / $size bytes"
done
printf '{"importId":"%s"}' "$id" | call CommitIcbcImport >/dev/null
echo "import $id: committed; waiting for zeva-worker"
while :; do
  state=$(printf '{"importId":"%s"}' "$id" | call GetIcbcImport)
  status=$(field status <<<"$state")
  case "$status" in
    ICBC_IMPORT_STATUS_COMPLETED | ICBC_IMPORT_STATUS_FAILED | ICBC_IMPORT_STATUS_CANCELLED)
      echo "$state"
      [ "$status" = ICBC_IMPORT_STATUS_COMPLETED ]
      exit
      ;;
  esac
  echo "import $id: $status, rows read: $(field rowsRead <<<"$state")"
  sleep 2
done
