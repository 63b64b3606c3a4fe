#!/usr/bin/env bash
# Run a command (bty's flash integration tests) with what a VM runner has
# and a privileged container lacks: exFAT mounts, loop device and partition
# nodes, /dev/disk/by-label and a /dev/log for logger(1). Loop devices the
# command attached and left behind are detached afterwards; devices of
# other jobs on the same host are never touched.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: flash-env.sh [--sbin DIR] -- COMMAND [ARG...]

Prepares the environment, runs COMMAND and exits with its status:
  * exFAT: kernel driver if present, else mount.exfat -> mount.exfat-fuse in
    DIR (default /sbin), as bty's workflow does;
  * loop devices: ci/loop-shims first on PATH (losetup, partprobe, udevadm
    create the /dev nodes and by-label links a container lacks, for the
    devices this run attaches, recorded in BTY_CI_LOOP_STATE);
  * /dev/log: a discarding syslog socket when none exists (bty-usb-grow
    logs with logger under set -e);
  * loop devices COMMAND attached and left attached are detached.

exit codes: COMMAND's status; 2 usage error; 3 environment not possible
TXT
}

sbin=/sbin
while (($#)); do
  case "$1" in
    --sbin) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; sbin="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "flash-env.sh: unexpected $1 (put the command after --)" >&2; usage >&2; exit 2 ;;
  esac
done
(($#)) || { echo "flash-env.sh: no command given" >&2; usage >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
say() { echo "flash-env.sh: $*" >&2; }

# /dev/log is shared by every flash-env.sh using this /dev (the payload tier
# runs several at once on one host): the first one in starts a discarding
# sink, the last one out stops it. A lock on the /dev directory itself and a
# holder count kept there (so that a private /dev has its own) make the
# hand-over safe and leave nothing behind.
DEV_LOG_STATE=/dev/.bty-ci-dev-log
dev_log_held=""
# Runs with the lock held.
dev_log_join() {
  local holders
  holders=$(cat "$DEV_LOG_STATE.holders" 2>/dev/null || echo 0)
  if ((holders == 0)); then
    # A /dev/log that is not ours (a real syslog) is left alone.
    [[ -S /dev/log ]] && return 0
    python3 - <<'PY' >/dev/null 2>&1 {lock_fd}>&- &
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
while True:
    s.recv(65536)
PY
    echo $! >"$DEV_LOG_STATE.pid"
    for _ in $(seq 50); do [[ -S /dev/log ]] && break; sleep 0.1; done
    [[ -S /dev/log ]] || { say "could not create /dev/log"; return 3; }
  fi
  echo $((holders + 1)) >"$DEV_LOG_STATE.holders"
  dev_log_held=1
}
# Runs with the lock held.
dev_log_leave() {
  [[ -n "$dev_log_held" ]] || return 0
  local holders
  holders=$(($(cat "$DEV_LOG_STATE.holders") - 1))
  if ((holders == 0)); then
    kill "$(cat "$DEV_LOG_STATE.pid")" 2>/dev/null || true
    rm -f /dev/log "$DEV_LOG_STATE.pid" "$DEV_LOG_STATE.holders"
  else
    echo "$holders" >"$DEV_LOG_STATE.holders"
  fi
}

BTY_CI_LOOP_STATE=$(mktemp)
export BTY_CI_LOOP_STATE
cleanup() {
  if [[ -n "$dev_log_held" ]]; then
    flock "$lock_fd"
    dev_log_leave
    flock -u "$lock_fd"
  fi
  local dev
  while read -r dev; do
    [[ -e "/sys/block/${dev##*/}/loop/backing_file" ]] || continue
    say "detaching $dev left attached by the command"
    losetup -d "$dev" || true
  done < <(sort -u "$BTY_CI_LOOP_STATE")
  rm -f "$BTY_CI_LOOP_STATE"
}
trap cleanup EXIT

# exFAT
modprobe exfat 2>/dev/null || true
if grep -qw exfat /proc/filesystems; then
  say "exfat: kernel driver"
elif [[ -e "$sbin/mount.exfat" ]]; then
  say "exfat: $sbin/mount.exfat present"
else
  fuse_helper=$(command -v mount.exfat-fuse || true)
  [[ -n "$fuse_helper" ]] || { say "no kernel exfat and no mount.exfat-fuse: install exfat-fuse"; exit 3; }
  [[ -c /dev/fuse ]] || { say "no kernel exfat and no /dev/fuse: run privileged"; exit 3; }
  ln -s "$fuse_helper" "$sbin/mount.exfat"
  say "exfat: routed to $fuse_helper"
fi

# /dev/log
exec {lock_fd}</dev
flock "$lock_fd"
status=0
dev_log_join || status=$?
flock -u "$lock_fd"
((status == 0)) || exit "$status"

PATH="$here/loop-shims:$PATH" "$@"
