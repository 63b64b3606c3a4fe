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

sink_pid=""
BTY_CI_LOOP_STATE=$(mktemp)
export BTY_CI_LOOP_STATE
cleanup() {
  if [[ -n "$sink_pid" ]]; then kill "$sink_pid" 2>/dev/null || true; rm -f /dev/log; fi
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
if [[ ! -S /dev/log ]]; then
  python3 - <<'PY' &
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
while True:
    s.recv(65536)
PY
  sink_pid=$!
  for _ in $(seq 50); do [[ -S /dev/log ]] && break; sleep 0.1; done
  [[ -S /dev/log ]] || { say "could not create /dev/log"; exit 3; }
fi

PATH="$here/loop-shims:$PATH" "$@"
