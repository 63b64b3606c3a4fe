#!/usr/bin/env bash
# bty's usb_ventoy_stage: a 4 GiB disk image with Ventoy installed on it
# (Ventoy2Disk.sh -I on a loop device), bty's usbboot-pc ISO on Ventoy's data
# partition, a local image and a catalog under bty-images/ for the wizard to
# find, and ventoy.json's timeouts for a headless boot. The ISO and the Ventoy
# release are checked before the disk is touched; loop device and mount are
# released on every exit.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: ventoy-stage.sh --iso FILE --ventoy DIR --out DIR --verifier FILE [--size BYTES] [--label NAME]

  --iso FILE       bty's usbboot-pc ISO
  --ventoy DIR     an unpacked Ventoy release for Linux (holds Ventoy2Disk.sh)
  --out DIR        where disk.img is written (created if missing)
  --verifier FILE  bty-ci's media verifier (ci/media-verify.py)
  --size BYTES     size of disk.img (default 4294967296, bty's 4 GiB)
  --label NAME     label of the ISO's trailing exFAT partition (default BTY_IMAGES)
exit codes: 0 staged, 1 failed, 2 usage error, 3 bad ISO or Ventoy release
TXT
}

iso="" ventoy="" out="" verifier="" size=4294967296 label=BTY_IMAGES
while (($#)); do
  case "$1" in
    --iso|--ventoy|--out|--verifier|--size|--label)
      [[ $# -ge 2 ]] || { echo "ventoy-stage.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --iso) iso=$2 ;; --ventoy) ventoy=$2 ;; --out) out=$2 ;; --verifier) verifier=$2 ;;
        --size) size=$2 ;; --label) label=$2 ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "ventoy-stage.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$iso" && -n "$ventoy" && -n "$out" && -n "$verifier" ]] || { usage >&2; exit 2; }
[[ "$size" =~ ^[1-9][0-9]*$ ]] || { echo "ventoy-stage.sh: --size must be a positive byte count" >&2; exit 2; }
[[ -f "$iso" ]] || { echo "ventoy-stage.sh: no ISO at $iso: pass the usbboot-pc ISO" >&2; exit 3; }
if ! report=$(python3 "$verifier" iso "$iso" --label "$label" 2>&1); then
  echo "ventoy-stage.sh: $iso is not a usbboot-pc ISO: $report" >&2
  echo "ventoy-stage.sh: pass the ISO from build-usbboot-pc (it ends with the exFAT $label partition)" >&2
  exit 3
fi
[[ -f "$ventoy/Ventoy2Disk.sh" ]] || {
  echo "ventoy-stage.sh: no Ventoy2Disk.sh in $ventoy: pass the unpacked ventoy-<version>-linux.tar.gz (its ventoy-<version>/ directory)" >&2
  exit 3
}

mkdir -p "$out"
disk="$out/disk.img" loop="" mnt=""
cleanup() {
  if [[ -n "$mnt" ]]; then umount "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true; fi
  if [[ -n "$loop" ]]; then losetup -d "$loop" 2>/dev/null || true; fi
}
trap cleanup EXIT

rm -f "$disk"
truncate -s "$size" "$disk"
loop=$(losetup -fP --show "$disk")
echo "ventoy-stage.sh: $disk on $loop"
# -I: install even if the disk looks like it already has Ventoy; the
# script asks twice for confirmation. `yes` ends on SIGPIPE once the script
# stops reading, which pipefail must not count.
(cd "$ventoy" && { yes || true; } | sh ./Ventoy2Disk.sh -I "$loop") || { echo "ventoy-stage.sh: Ventoy2Disk.sh -I $loop failed" >&2; exit 1; }
udevadm settle --timeout=10 2>/dev/null || true
partprobe "$loop" 2>/dev/null || partx -u "$loop" 2>/dev/null || true
lsblk -o NAME,SIZE,TYPE,FSTYPE,LABEL "$loop" || true

# Ventoy's layout: partition 1 the exFAT data partition ("Ventoy"),
# partition 2 the 32 MiB VTOYEFI boot partition.
data="${loop}p1"
if [[ ! -b "$data" ]]; then
  # No partition node (a container's /dev): make it from sysfs.
  name=${data##*/}
  [[ -e /sys/class/block/$name/dev ]] || { echo "ventoy-stage.sh: Ventoy made no partition 1 on $loop" >&2; exit 1; }
  IFS=: read -r major minor <"/sys/class/block/$name/dev"
  mknod "$data" b "$major" "$minor"
fi
[[ -e /sys/class/block/${loop##*/}p2 ]] || { echo "ventoy-stage.sh: Ventoy made no partition 2 (VTOYEFI) on $loop" >&2; exit 1; }
fstype=$(blkid -p -o value -s TYPE "$data" || true)
[[ "$fstype" == exfat ]] || { echo "ventoy-stage.sh: Ventoy's data partition is '$fstype', not exfat" >&2; exit 1; }

mnt=$(mktemp -d)
if ! mount -t exfat "$data" "$mnt" 2>/dev/null; then
  mount.exfat-fuse "$data" "$mnt" >/dev/null || { echo "ventoy-stage.sh: cannot mount $data (exfat module or exfat-fuse needed)" >&2; exit 1; }
fi
cp "$iso" "$mnt/"
mkdir -p "$mnt/bty-images" "$mnt/ventoy"
# bty's sentinel image: 1 MiB sparse, named like an image the wizard lists.
truncate -s 1M "$mnt/bty-images/demo-bty-ventoy-test.img.gz"
cat >"$mnt/bty-images/catalog.toml" <<'TOML'
version = 1

[[images]]
name = "ventoy-test-fedora-sysdev"
src = "oras://ghcr.io/safl/nosi/fedora-sysdev:latest"
format = "img.gz"
description = "Ventoy test entry (parsed by the wizard, never fetched)"
TOML
# Both timeouts are needed for a headless auto-boot with Ventoy 1.1.05.
printf '%s\n' '{"control":[{"VTOY_MENU_TIMEOUT":"1"},{"VTOY_SECONDARY_TIMEOUT":"1"}]}' >"$mnt/ventoy/ventoy.json"
find "$mnt" -maxdepth 2 -printf '%P %s\n' | sort
sync
echo "ventoy-stage.sh: staged $disk"
