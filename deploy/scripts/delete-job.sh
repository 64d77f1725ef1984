#!/usr/bin/env bash
# delete-job.sh JOB: removes the previous release's Job (a Job's pod template is immutable,
# so a new image cannot be applied over it) and waits until it is gone.
set -euo pipefail
source "$(dirname "$0")/kubectl-env.sh"
kube delete job "$1" --ignore-not-found --wait=true
