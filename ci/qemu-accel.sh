#!/usr/bin/env bash
# Print the QEMU accelerator to use: kvm when /dev/kvm really runs firmware,
# tcg otherwise. A /dev/kvm that opens is not enough: under nested
# virtualization KVM can fault on the first firmware instructions ("KVM
# internal error"), so a short OVMF boot must print on the serial console.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: qemu-accel.sh [--ovmf-code FILE --ovmf-vars FILE] [--probe-seconds N] [--qemu BIN]

Prints "kvm" or "tcg" on stdout and the reason on stderr.
  --ovmf-code/--ovmf-vars  firmware for the probe boot (default: Debian's
                           /usr/share/OVMF/OVMF_CODE_4M.fd and OVMF_VARS_4M.fd)
  --probe-seconds N        how long the probe boot may take (default 10)
  --qemu BIN               default qemu-system-x86_64
exit codes: 0 decided, 2 usage error
TXT
}

code=/usr/share/OVMF/OVMF_CODE_4M.fd
vars=/usr/share/OVMF/OVMF_VARS_4M.fd
probe_s=10
qemu=qemu-system-x86_64
while (($#)); do
  case "$1" in
    --ovmf-code|--ovmf-vars|--probe-seconds|--qemu)
      [[ $# -ge 2 ]] || { echo "qemu-accel.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --ovmf-code) code="$2" ;; --ovmf-vars) vars="$2" ;; --probe-seconds) probe_s="$2" ;; --qemu) qemu="$2" ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "qemu-accel.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$probe_s" =~ ^[1-9][0-9]*$ ]] || { echo "qemu-accel.sh: --probe-seconds must be a positive integer" >&2; exit 2; }

if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
  echo "qemu-accel.sh: tcg (/dev/kvm is not usable by $(id -un))" >&2
  echo tcg
  exit 0
fi
[[ -f "$code" && -f "$vars" ]] || { echo "qemu-accel.sh: OVMF not found ($code, $vars)" >&2; exit 2; }

probe=$(mktemp -d)
qemu_pid=""
cleanup() {
  if [[ -n "$qemu_pid" ]]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$probe"
}
trap cleanup EXIT
cp "$vars" "$probe/vars.fd"
"$qemu" -accel kvm -machine q35 -m 256 -display none -monitor none -net none \
  -serial "file:$probe/serial.log" \
  -drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" \
  -drive "if=pflash,format=raw,unit=1,file=$probe/vars.fd" >"$probe/qemu.log" 2>&1 &
qemu_pid=$!
verdict=""
for ((i = 0; i < probe_s * 4; i++)); do
  if grep -q -E "KVM internal error|failed to initialize kvm|Could not access KVM" "$probe/qemu.log"; then
    verdict=fault; break
  fi
  if [[ -s "$probe/serial.log" ]]; then verdict=ok; break; fi
  kill -0 "$qemu_pid" 2>/dev/null || { verdict=exited; break; }
  sleep 0.25
done
if [[ "$verdict" == ok ]]; then
  echo "qemu-accel.sh: kvm (OVMF printed on the serial console under KVM)" >&2
  echo kvm
else
  reason=$(grep -m1 -i -E "error|fail|could not" "$probe/qemu.log" || echo "no firmware output within ${probe_s}s")
  echo "qemu-accel.sh: tcg (KVM probe failed: $reason)" >&2
  echo tcg
fi
