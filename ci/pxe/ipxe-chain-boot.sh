#!/usr/bin/env bash
# PXE-boot a UEFI QEMU client into an iPXE binary and on to bty-web, on a
# synthetic segment: bridge + tap (lan.sh), dnsmasq with bty's tag rules
# (dnsmasq-conf.py) serving the binary over TFTP, a real bty-web on the
# bridge address, OVMF, and ordered markers on the serial console
# (serial-watch.py). Everything runs in the current network namespace: a
# container's own, or one from `unshare --net` on a host.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
ci="$(dirname "$here")"

usage() {
  cat <<'TXT'
usage: ipxe-chain-boot.sh --workdir DIR --efi-nbp FILE --bty-web CMD
                          --marker KEY=NEEDLE[@SECONDS]... [--served PATH]...
                          [--subnet A.B.C] [--mac MAC] [--accel auto|kvm|tcg]
                          [--ovmf-code FILE] [--ovmf-vars FILE]
                          [--timeout SECONDS] [--healthz-timeout SECONDS]

  --workdir DIR      created; holds tftproot/, bty-web state and every log:
                     dnsmasq.conf, dnsmasq.log, bty-web.log, qemu.log, serial.log
  --efi-nbp FILE     the iPXE EFI binary firmware gets over TFTP (as ipxe.efi)
  --bty-web CMD      bty-web executable (bty-lab[web]); started on <subnet>.1:8080
  --marker ...       serial-console markers, in order (serial-watch.py syntax)
  --served PATH      after the markers: bty-web's access log must show
                     "GET PATH ..." 200 (repeatable, in order)
  --subnet A.B.C     /24 of the segment (default 192.168.99, as bty's test)
  --mac MAC          client MAC (default 52:54:00:11:22:33, as bty's test)
  --accel            default auto: kvm if it runs firmware here, else tcg
  --ovmf-code/-vars  default Debian's /usr/share/OVMF/OVMF_{CODE,VARS}_4M.fd
  --timeout S        per serial marker (default 180)
  --healthz-timeout  seconds for bty-web's /healthz (default 60)

Needs: ip, dnsmasq, qemu-system-x86_64, python3, CAP_NET_ADMIN, /dev/net/tun.
Everything started is stopped and the bridge/tap removed on every exit.
exit codes: 0 all markers seen and paths served, 1 the chain failed,
            2 usage error or a missing tool/file
TXT
}

die_usage() { echo "ipxe-chain-boot.sh: $*" >&2; exit 2; }

workdir="" nbp="" bty_web="" subnet=192.168.99 mac=52:54:00:11:22:33 accel=auto
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
timeout_s=180 healthz_s=60
markers=() served=()
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --workdir|--efi-nbp|--bty-web|--marker|--served|--subnet|--mac|--accel|--ovmf-code|--ovmf-vars|--timeout|--healthz-timeout)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value"
      case "$1" in
        --workdir) workdir="$2" ;; --efi-nbp) nbp="$2" ;; --bty-web) bty_web="$2" ;;
        --marker) markers+=("--marker" "$2") ;; --served) served+=("$2") ;;
        --subnet) subnet="$2" ;; --mac) mac="$2" ;; --accel) accel="$2" ;;
        --ovmf-code) ovmf_code="$2" ;; --ovmf-vars) ovmf_vars="$2" ;;
        --timeout) timeout_s="$2" ;; --healthz-timeout) healthz_s="$2" ;;
      esac
      shift 2 ;;
    *) usage >&2; die_usage "unknown argument $1" ;;
  esac
done

[[ -n "$workdir" && -n "$nbp" && -n "$bty_web" ]] || { usage >&2; die_usage "--workdir, --efi-nbp and --bty-web are required"; }
((${#markers[@]})) || die_usage "give at least one --marker"
[[ "$subnet" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die_usage "--subnet must be three octets like 192.168.99 (got '$subnet')"
[[ "$mac" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || die_usage "--mac must be lower-case aa:bb:cc:dd:ee:ff (got '$mac')"
[[ "$accel" =~ ^(auto|kvm|tcg)$ ]] || die_usage "--accel must be auto, kvm or tcg (got '$accel')"
[[ -f "$nbp" ]] || die_usage "--efi-nbp $nbp not found"
[[ -f "$ovmf_code" && -f "$ovmf_vars" ]] || die_usage "OVMF not found ($ovmf_code, $ovmf_vars): install ovmf or pass --ovmf-code/--ovmf-vars"
for tool in ip dnsmasq qemu-system-x86_64 python3 "$bty_web"; do
  command -v "$tool" >/dev/null || die_usage "$tool not found on PATH"
done

server="$subnet.1"
# Unique per run, so runs in one namespace (or a shared host one) never collide.
bridge="btybr$$" tap="btytap$$"
mkdir -p "$workdir/tftproot" "$workdir/bty-state/boot"
workdir="$(cd "$workdir" && pwd)"
pids=()
lan_up=false

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $lan_up; then "$ci/pxe/lan.sh" down --bridge "$bridge" --tap "$tap" || true; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log() { echo "ipxe-chain-boot.sh: [$((SECONDS))s] $*"; }

"$ci/pxe/lan.sh" up --bridge "$bridge" --tap "$tap" --address "$server/24"
lan_up=true
log "segment $server/24 on $bridge, client tap $tap"

cp "$nbp" "$workdir/tftproot/ipxe.efi"
python3 "$ci/pxe/dnsmasq-conf.py" --interface "$bridge" --server-ip "$server" \
  --range-low "$subnet.50" --range-high "$subnet.150" \
  --tftp-root "$workdir/tftproot" --state-dir "$workdir" --user root --output "$workdir/dnsmasq.conf"
dnsmasq --keep-in-foreground --log-facility=- --pid-file= --conf-file="$workdir/dnsmasq.conf" >"$workdir/dnsmasq.log" 2>&1 &
pids+=($!)
log "dnsmasq (pid $!) serving DHCP + TFTP on $bridge"

# bty-web's own settings only: an empty config file keeps any host /etc/bty out.
: >"$workdir/bty.toml"
BTY_PATHS_STATE_DIR="$workdir/bty-state" BTY_PATHS_BOOT_DIR="$workdir/bty-state/boot" \
  BTY_SERVER_HOST="$server" BTY_SERVER_PORT=8080 \
  "$bty_web" --config "$workdir/bty.toml" >"$workdir/bty-web.log" 2>&1 &
pids+=($!)
web_pid=$!
if ! python3 - "$server" "$healthz_s" "$web_pid" <<'PY'; then
import os, sys, time, urllib.request
server, limit, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(f"http://{server}:8080/healthz", timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    time.sleep(0.5)
sys.exit(1)
PY
  echo "ipxe-chain-boot.sh: bty-web did not answer /healthz on $server:8080 within ${healthz_s}s; last lines of its log:" >&2
  tail -n 40 "$workdir/bty-web.log" >&2
  exit 1
fi
log "bty-web (pid $web_pid) healthy on http://$server:8080"

if [[ "$accel" == auto ]]; then
  accel=$("$ci/qemu-accel.sh" --ovmf-code "$ovmf_code" --ovmf-vars "$ovmf_vars")
fi
cp "$ovmf_vars" "$workdir/ovmf-vars.fd"
# romfile= keeps QEMU's own iPXE option ROM off the NIC: the only iPXE in
# the chain is the one under test, loaded by OVMF's PXE client over TFTP.
qemu-system-x86_64 -accel "$accel" -machine q35 -m 512 -smp 1 \
  -display none -monitor none -serial "file:$workdir/serial.log" \
  -drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code" \
  -drive "if=pflash,format=raw,unit=1,file=$workdir/ovmf-vars.fd" \
  -netdev "tap,id=pxe,ifname=$tap,script=no,downscript=no" \
  -device "virtio-net-pci,netdev=pxe,mac=$mac,romfile=,bootindex=1" >"$workdir/qemu.log" 2>&1 &
pids+=($!)
qemu_pid=$!
log "client VM (pid $qemu_pid, accel $accel, mac $mac) started; watching its serial console"

status=0
python3 "$ci/serial-watch.py" --log "$workdir/serial.log" --pid "$qemu_pid" --timeout "$timeout_s" "${markers[@]}" || status=$?
if ((status == 0 && ${#served[@]})); then
  served_markers=()
  for i in "${!served[@]}"; do served_markers+=("--marker" "served-$i=\"GET ${served[$i]} HTTP/1.1\" 200"); done
  python3 "$ci/serial-watch.py" --log "$workdir/bty-web.log" --timeout 10 "${served_markers[@]}" || status=$?
fi
if ((status != 0)); then
  echo "ipxe-chain-boot.sh: the chain failed; last lines of dnsmasq.log and qemu.log:" >&2
  tail -n 20 "$workdir/dnsmasq.log" >&2 || true
  tail -n 20 "$workdir/qemu.log" >&2 || true
  exit 1
fi
log "chain complete"
