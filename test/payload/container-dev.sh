#!/usr/bin/env bash
# Gives the command a /dev shaped like a privileged Dagger exec's: a fresh
# tmpfs (device nodes usable, unlike bubblewrap's nodev --dev) holding the
# usual character devices, loop-control, fuse and — unless told otherwise —
# the loop devices that exist now. Nothing else appears there by itself.
# Runs inside the payload sandbox (its own mount namespace, all capabilities).
set -euo pipefail

usage() { echo "usage: container-dev.sh with-loop-nodes|without-loop-nodes -- COMMAND [ARG...]"; }
case "${1:-}" in
  with-loop-nodes|without-loop-nodes) mode=$1; shift ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
[[ "${1:-}" == "--" ]] && shift
(($#)) || { usage >&2; exit 2; }

nodes=(null zero full random urandom tty loop-control fuse)
if [[ "$mode" == with-loop-nodes ]]; then
  for dev in /dev/loop[0-9]*; do [[ -b "$dev" ]] && nodes+=("${dev#/dev/}"); done
fi
specs=()
for name in "${nodes[@]}"; do
  [[ -e "/dev/$name" ]] || continue
  type=c; [[ -b "/dev/$name" ]] && type=b
  specs+=("$name $type $(stat -c '%t %T' "/dev/$name")")
done

mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
for spec in "${specs[@]}"; do
  read -r name type major minor <<<"$spec"
  mknod -m 0666 "/dev/$name" "$type" "$((16#$major))" "$((16#$minor))"
done
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts && ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
exec "$@"
