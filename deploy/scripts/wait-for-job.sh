#!/usr/bin/env bash
# wait-for-job.sh JOB [TIMEOUT_SECONDS]: waits until the Job completes (exit 0) or fails
# (exit 1, with its logs). `kubectl wait --for=condition=complete` alone would sit out the
# whole timeout on a failed Job, so both conditions are polled.
set -euo pipefail
source "$(dirname "$0")/kubectl-env.sh"
job=$1
timeout=${2:-900}
deadline=$((SECONDS + timeout))
while [ "$SECONDS" -lt "$deadline" ]; do
  complete=$(kube get job "$job" -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}')
  failed=$(kube get job "$job" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')
  if [ "$complete" = "True" ]; then
    echo "wait-for-job: job/$job complete"
    kube logs "job/$job" --tail=50 || true
    exit 0
  fi
  if [ "$failed" = "True" ]; then
    echo "wait-for-job: job/$job FAILED; its logs:" >&2
    kube logs "job/$job" --tail=200 >&2 || true
    exit 1
  fi
  sleep 3
done
echo "wait-for-job: job/$job did not finish within ${timeout}s" >&2
kube logs "job/$job" --tail=200 >&2 || true
exit 1
