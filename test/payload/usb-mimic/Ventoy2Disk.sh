#!/bin/sh
# Test stand-in, NOT Ventoy: no Ventoy release is reachable from this
# machine. Takes Ventoy2Disk.sh's `-I DEVICE`, reads the confirmations from
# stdin and leaves Ventoy's partition layout (MBR; p1 exFAT "Ventoy" data
# partition from 1 MiB, p2 32 MiB FAT "VTOYEFI" at the end), so that
# ci/usb/ventoy-stage.sh's own work after the Ventoy call runs for real.
# Ventoy's boot code is not written: this disk does not boot.
set -eu
# POSIX sh, like Ventoy's own script (run as `sh Ventoy2Disk.sh`).
[ $# -eq 2 ] && [ "$1" = "-I" ] || { echo "stand-in Ventoy2Disk.sh: usage: -I DEVICE" >&2; exit 1; }
dev=$2
read -r _ && read -r _ || true
sectors=$(( $(blockdev --getsize64 "$dev") / 512 ))
efi=$((32 * 2048))
sfdisk --quiet "$dev" <<TXT
label: dos
start=2048, size=$((sectors - efi - 2048)), type=7
start=$((sectors - efi)), size=$efi, type=ef
TXT
partprobe "$dev" 2>/dev/null || partx -u "$dev"
mkfs.exfat -L Ventoy "${dev}p1" >/dev/null
mkfs.vfat -n VTOYEFI "${dev}p2" >/dev/null
echo "stand-in Ventoy2Disk.sh: Ventoy's layout on $dev"
