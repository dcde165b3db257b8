#!/bin/sh
# Plays the agent's part in the operator's tests (the real agent is integrated later).
# Called as the agent is: `backup|clean --namespace=NS --backup-name=NAME`. It reports the
# way the agent must: read the Backup, change its status, merge-patch the status
# subresource with the resourceVersion it read, and try again on a conflict.
#
# STUB_MODE (from the Backup's spec.env):
#   complete  Running with backupPath, sleep STUB_SLEEP seconds, then Complete (default)
#   fail      Running, then Failed (BackupDataToRemoteFailed), exit 1: a failure it reported
#   die       Running with backupPath (and a raised gcLifeTime record when STUB_GC_RAISED
#             is set), then exit 137 without reporting: a pod killed mid-backup
#   sleep     Running with backupPath (and the raised record with STUB_GC_RAISED), then
#             sleep until killed
# The clean subcommand writes Clean=True, or CleanFailed and exits 1 with STUB_CLEAN=fail.
set -u
cmd=$1
ns=${2#--namespace=}
name=${3#--backup-name=}
mode=${STUB_MODE:-complete}
path=${STUB_PATH:-s3://my-bucket/$name}

update() {
  i=0
  while [ $i -lt 50 ]; do
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    if obj=$(kubectl get backup "$name" -n "$ns" -o json); then
      patch=$(printf '%s' "$obj" | jq -c --arg now "$now" --arg path "$path" \
        "{metadata: {resourceVersion: .metadata.resourceVersion}, status: ((.status // {}) | $1)}")
      if kubectl patch backup "$name" -n "$ns" --subresource=status --type=merge -p "$patch" >/dev/null; then
        return 0
      fi
    fi
    i=$((i + 1))
    sleep 0.2
  done
  echo "agent stub: could not update the status of $ns/$name" >&2
  exit 3
}

# A jq filter setting condition $1 to status $2 with reason $3 (phase follows, except Restart).
cond() {
  echo "(.conditions = ([.conditions[]? | select(.type != \"$1\")] + [{type: \"$1\", status: \"$2\", reason: \"$3\", lastTransitionTime: \$now}])) | (if \"$1\" == \"Restart\" then . else .phase = \"$1\" end)"
}

echo "agent stub: $cmd $ns/$name mode=$mode"
case "$cmd" in
backup)
  gc="."
  if [ -n "${STUB_GC_RAISED:-}" ]; then
    gc=".gcLifeTime = (.gcLifeTime // {original: \"${STUB_GC_ORIGINAL:-10m0s}\", raisedTo: \"$STUB_GC_RAISED\", raisedAt: \$now, restored: false})"
  fi
  case "$mode" in
  complete)
    update ".backupPath = \$path | $(cond Prepare True '') | $(cond Running True '')"
    sleep "${STUB_SLEEP:-0}"
    update ".commitTs = \"451234567890123457\" | .backupSize = 1024 | .backupSizeReadable = \"1.0 kB\" | .timeCompleted = \$now | $(cond Complete True '')"
    ;;
  fail)
    update ".backupPath = \$path | $(cond Running True '')"
    update "$(cond Failed True BackupDataToRemoteFailed)"
    exit 1
    ;;
  die)
    update ".backupPath = \$path | $gc | $(cond Running True '')"
    exit 137
    ;;
  sleep)
    update ".backupPath = \$path | $gc | $(cond Running True '')"
    exec sleep 600
    ;;
  esac
  ;;
clean)
  if [ "${STUB_CLEAN:-ok}" = fail ]; then
    update "$(cond CleanFailed True CleanBackupDataFailed)"
    exit 1
  fi
  update "$(cond Clean True '')"
  ;;
esac
