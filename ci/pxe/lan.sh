#!/usr/bin/env bash
# The synthetic PXE segment: a bridge carrying the server address and a tap
# for the client VM on it, in the current network namespace (a container's
# own, or one made with `unshare --net`).
set -euo pipefail

usage() {
  cat <<'TXT'
usage: lan.sh up   --bridge NAME --tap NAME --address CIDR
       lan.sh down --bridge NAME --tap NAME

up:   brings lo up, creates bridge NAME with address CIDR and tap NAME on it,
      and stops bridged frames from passing through iptables (br_netfilter
      with a DROP policy would eat DHCP; best effort, as bty's test does)
down: deletes both (missing ones are ignored)

Interface names: at most 15 characters. Needs CAP_NET_ADMIN and /dev/net/tun.
exit codes: 0 done, 1 ip failed, 2 usage error
TXT
}

die_usage() { echo "lan.sh: $*" >&2; exit 2; }

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
case "$1" in
  -h|--help) usage; exit 0 ;;
  up|down) action="$1"; shift ;;
  *) usage >&2; die_usage "unknown action $1" ;;
esac
bridge="" tap="" address=""
while (($#)); do
  case "$1" in
    --bridge|--tap|--address)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value"
      case "$1" in --bridge) bridge="$2" ;; --tap) tap="$2" ;; --address) address="$2" ;; esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument $1" ;;
  esac
done
[[ -n "$bridge" && -n "$tap" ]] || die_usage "--bridge and --tap are required"
for name in "$bridge" "$tap"; do
  [[ "$name" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die_usage "interface name '$name' must be 1-15 characters of [A-Za-z0-9_.-]"
done

if [[ "$action" == down ]]; then
  ip link del "$tap" 2>/dev/null || true
  ip link del "$bridge" 2>/dev/null || true
  exit 0
fi

[[ "$address" =~ ^[0-9]+(\.[0-9]+){3}/[0-9]+$ ]] || die_usage "--address must be an IPv4 CIDR like 192.168.99.1/24 (got '$address')"
ip link set lo up
ip link add "$bridge" type bridge
ip addr add "$address" dev "$bridge"
ip link set "$bridge" up
ip tuntap add dev "$tap" mode tap
ip link set "$tap" master "$bridge"
ip link set "$tap" up
for table in iptables ip6tables arptables; do
  sysctl -q -w "net.bridge.bridge-nf-call-$table=0" 2>/dev/null || true
done
