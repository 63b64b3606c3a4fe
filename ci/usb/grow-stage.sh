#!/usr/bin/env bash
# Stage bty's test-usb-grow disk (usb_grow_stage): the usbboot-pc ISO copied to
# a raw disk image of a fixed size, so the in-VM bty-usb-grow has room to grow
# BTY_IMAGES into. The ISO is checked first (hybrid MBR, last partition exFAT
# BTY_IMAGES), so a wrong input fails here, before any VM starts.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: grow-stage.sh --iso FILE --out DIR --verifier FILE [--size BYTES] [--label NAME]

  --iso FILE       bty's usbboot-pc ISO (bty-usbboot-pc-x86_64-v<version>.iso)
  --out DIR        where disk.img is written (created if missing)
  --verifier FILE  bty-ci's media verifier (ci/media-verify.py)
  --size BYTES     size of disk.img (default 4294967296, bty's 4 GiB)
  --label NAME     label of the trailing exFAT partition (default BTY_IMAGES)
exit codes: 0 staged, 1 failed, 2 usage error, 3 the ISO is not a usbboot-pc ISO
TXT
}

iso="" out="" verifier="" size=4294967296 label=BTY_IMAGES
while (($#)); do
  case "$1" in
    --iso|--out|--verifier|--size|--label)
      [[ $# -ge 2 ]] || { echo "grow-stage.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --iso) iso=$2 ;; --out) out=$2 ;; --verifier) verifier=$2 ;; --size) size=$2 ;; --label) label=$2 ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "grow-stage.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$iso" && -n "$out" && -n "$verifier" ]] || { usage >&2; exit 2; }
[[ "$size" =~ ^[1-9][0-9]*$ ]] || { echo "grow-stage.sh: --size must be a positive byte count" >&2; exit 2; }
[[ -f "$iso" ]] || { echo "grow-stage.sh: no ISO at $iso: pass the usbboot-pc ISO (build-usbboot-pc's .iso)" >&2; exit 3; }
[[ -f "$verifier" ]] || { echo "grow-stage.sh: verifier $verifier not found" >&2; exit 2; }

if ! report=$(python3 "$verifier" iso "$iso" --label "$label" 2>&1); then
  echo "grow-stage.sh: $iso is not a usbboot-pc ISO: $report" >&2
  echo "grow-stage.sh: pass the ISO from build-usbboot-pc (it ends with the exFAT $label partition bty's usb_iso_build appends)" >&2
  exit 3
fi
echo "grow-stage.sh: ISO verified: $report"
iso_bytes=$(stat -c %s "$iso")
((iso_bytes < size)) || { echo "grow-stage.sh: the ISO ($iso_bytes B) does not fit a $size B disk: raise --size" >&2; exit 1; }

mkdir -p "$out"
disk="$out/disk.img"
tmp="$disk.partial"
trap 'rm -f "$tmp"' EXIT
cp --sparse=always "$iso" "$tmp"
truncate -s "$size" "$tmp"
mv "$tmp" "$disk"
echo "grow-stage.sh: $disk: $iso_bytes B of ISO in a $size B disk"
