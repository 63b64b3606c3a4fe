#!/usr/bin/env bash
# bty's usb_grow_assert, after the guest powered off: attach the disk image
# read-only with partitions, read the partition sizes with lsblk, and require
# the largest to be at least --min-bytes (BTY_IMAGES starts at 32 MiB and
# bty-usb-grow extends it to the end of the disk). Also requires bty-usb-grow's
# `.bty-grown` sentinel on that partition (mounted read-only through a loop
# device of its own, so no partition node is needed inside a container).
# Every loop device and mount made here is released on exit.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: grow-assert.sh --disk FILE [--min-bytes N] [--label NAME] [--sentinel NAME]

  --disk FILE      the disk image the guest ran on
  --min-bytes N    smallest accepted size of the largest partition
                   (default 1073741824, bty's 1 GiB)
  --label NAME     exFAT label the grown partition must carry (default BTY_IMAGES)
  --sentinel NAME  file bty-usb-grow leaves on it (default .bty-grown)
exit codes: 0 grown, 1 not grown (or the sentinel is missing), 2 usage error
TXT
}

disk="" min=1073741824 label=BTY_IMAGES sentinel=.bty-grown
while (($#)); do
  case "$1" in
    --disk|--min-bytes|--label|--sentinel)
      [[ $# -ge 2 ]] || { echo "grow-assert.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --disk) disk=$2 ;; --min-bytes) min=$2 ;; --label) label=$2 ;; --sentinel) sentinel=$2 ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "grow-assert.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$disk" ]] || { usage >&2; exit 2; }
[[ -f "$disk" ]] || { echo "grow-assert.sh: no disk image at $disk" >&2; exit 2; }
[[ "$min" =~ ^[1-9][0-9]*$ ]] || { echo "grow-assert.sh: --min-bytes must be a positive integer" >&2; exit 2; }

loop="" part_loop="" mnt=""
cleanup() {
  if [[ -n "$mnt" ]]; then umount "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true; fi
  if [[ -n "$part_loop" ]]; then losetup -d "$part_loop" 2>/dev/null || true; fi
  if [[ -n "$loop" ]]; then losetup -d "$loop" 2>/dev/null || true; fi
}
trap cleanup EXIT

loop=$(losetup -r -fP --show "$disk")
udevadm settle --timeout=10 2>/dev/null || true
echo "grow-assert.sh: $disk on $loop"
# lsblk reads names and sizes from sysfs: it works without udev or partition nodes.
lsblk -bno NAME,SIZE,TYPE "$loop"
largest=$(lsblk -bnlo NAME,SIZE,TYPE "$loop" | awk '$3 == "part" && $2 > max { max = $2; name = $1 } END { if (name) print name, max }')
[[ -n "$largest" ]] || { echo "grow-assert.sh: no partitions on $disk" >&2; exit 1; }
read -r part bytes <<<"$largest"
if ((bytes < min)); then
  echo "grow-assert.sh: NOT GROWN: largest partition $part is $bytes B (< $min B)" >&2
  exit 1
fi
echo "grow-assert.sh: largest partition $part is $bytes B (>= $min B)"

start=$(cat "/sys/class/block/$part/start")
size=$(cat "/sys/class/block/$part/size")
part_loop=$(losetup -r -f --show -o $((start * 512)) --sizelimit $((size * 512)) "$disk")
found_label=$(blkid -p -o value -s LABEL "$part_loop" || true)
[[ "$found_label" == "$label" ]] || { echo "grow-assert.sh: $part is labelled '${found_label}', not $label" >&2; exit 1; }
mnt=$(mktemp -d)
if ! mount -t exfat -o ro "$part_loop" "$mnt" 2>/dev/null; then
  mount.exfat-fuse -o ro "$part_loop" "$mnt" >/dev/null || { echo "grow-assert.sh: cannot mount $part (exfat module or exfat-fuse needed)" >&2; exit 1; }
fi
if [[ ! -e "$mnt/$sentinel" ]]; then
  echo "grow-assert.sh: $label has no $sentinel: bty-usb-grow did not finish" >&2
  ls -la "$mnt" >&2
  exit 1
fi
echo "grow-assert.sh: $label carries $sentinel"
