#!/usr/bin/env bash
# Make `mount -t exfat` work, as bty's flash-integration job does: use the
# kernel driver when the host has it, else route exfat mounts to FUSE.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: enable-exfat.sh [--sbin DIR]

Ensures `mount -t exfat` works: loads the exfat kernel module when possible;
when the kernel has no exfat, links DIR/mount.exfat to mount.exfat-fuse so
mount(8) falls through to FUSE (needs /dev/fuse).

  --sbin DIR   where mount(8) looks for helpers (default /sbin)
  -h, --help   this text

exit codes: 0 exfat mounts will work, 1 neither kernel exfat nor FUSE, 2 usage
TXT
}

sbin=/sbin
while (($#)); do
  case "$1" in
    --sbin) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; sbin="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "enable-exfat.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

modprobe exfat 2>/dev/null || true
if grep -qw exfat /proc/filesystems; then
  echo "enable-exfat.sh: kernel exfat driver present"
  exit 0
fi
if [[ -e "$sbin/mount.exfat" ]]; then
  echo "enable-exfat.sh: $sbin/mount.exfat already present"
  exit 0
fi
fuse_helper=$(command -v mount.exfat-fuse || true)
if [[ -z "$fuse_helper" ]]; then
  echo "enable-exfat.sh: no kernel exfat and no mount.exfat-fuse: install exfat-fuse" >&2
  exit 1
fi
if [[ ! -c /dev/fuse ]]; then
  echo "enable-exfat.sh: no kernel exfat and no /dev/fuse: run privileged (insecureRootCapabilities)" >&2
  exit 1
fi
ln -s "$fuse_helper" "$sbin/mount.exfat"
echo "enable-exfat.sh: routed exfat mounts to $fuse_helper"
