#!/usr/bin/env bash
# Make the Debian trixie root that quadlet-run.sh boots: systemd 257 as
# PID 1, rootful podman 5.4 with Quadlet's generator, runc, netavark and
# aardvark-dns, a local OCI registry (distribution 2.x) and skopeo to fill
# it, Python 3.13 for bty's tests, and the tools the tests call (iptables
# for netavark's firewall, iproute2, curl). The Debian mirror is whatever
# mmdebstrap takes from this machine's apt configuration.
set -euo pipefail

# Debian packages of the root (and of the job container's trixie image).
PACKAGES=(
  systemd systemd-sysv dbus
  podman runc conmon netavark aardvark-dns containers-storage catatonit
  iptables nftables iproute2
  docker-registry skopeo
  python3 python3-venv ca-certificates curl procps
)

usage() {
  cat <<TXT
usage: quadlet-root.sh --out DIR [--arch ARCH] [--include PKG]...

  --out DIR        where to make the root (must not exist; made as
                   DIR.building first, renamed when complete)
  --arch ARCH      Debian architecture (default: this machine's)
  --include PKG    one more Debian package; repeatable

Runs mmdebstrap (needs root) for trixie, variant minbase, with:
  ${PACKAGES[*]}
Release files past their Valid-Until are accepted (a mirror snapshot
behind this machine's clock); signatures are still checked.

exit codes: 0 made; 2 usage error; 3 mmdebstrap missing, not root, or
the build failed
TXT
}

out="" arch="" extra=()
while (($#)); do
  case "$1" in
    --out) [[ $# -ge 2 ]] || { echo "quadlet-root.sh: --out needs a directory" >&2; exit 2; }; out="$2"; shift 2 ;;
    --arch) [[ $# -ge 2 ]] || { echo "quadlet-root.sh: --arch needs an architecture" >&2; exit 2; }; arch="$2"; shift 2 ;;
    --include) [[ $# -ge 2 ]] || { echo "quadlet-root.sh: --include needs a package" >&2; exit 2; }; extra+=("$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quadlet-root.sh: unexpected $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$out" ]] || { echo "quadlet-root.sh: --out DIR is required" >&2; usage >&2; exit 2; }
[[ ! -e "$out" ]] || { echo "quadlet-root.sh: $out exists; remove it first" >&2; exit 2; }

say() { echo "quadlet-root.sh: $*" >&2; }
((EUID == 0)) || { say "needs root (mmdebstrap's root mode keeps file ownership)"; exit 3; }
command -v mmdebstrap >/dev/null || { say "no mmdebstrap (apt-get install mmdebstrap)"; exit 3; }

building="$out.building"
rm -rf "$building"
trap 'rm -rf "$building"' EXIT
include=$(IFS=,; echo "${PACKAGES[*]}${extra[*]:+,${extra[*]}}")
args=(--mode=root --variant=minbase --quiet '--aptopt=Acquire::Check-Valid-Until "false"' "--include=$include")
[[ -z "$arch" ]] || args+=("--architectures=$arch")
# No service may start while the root is made; the journal is volatile.
args+=(--customize-hook='rm -f "$1/etc/machine-id" "$1/var/lib/dbus/machine-id"; : >"$1/etc/machine-id"')
args+=(--customize-hook='mkdir -p "$1/etc/systemd/journald.conf.d" && printf "[Journal]\nStorage=volatile\n" >"$1/etc/systemd/journald.conf.d/bty-ci.conf"')
if ! mmdebstrap "${args[@]}" trixie "$building"; then
  say "mmdebstrap failed (see above); is this machine's Debian mirror reachable?"
  exit 3
fi
printf 'trixie %s\n' "$include" >"$building/etc/bty-ci-quadlet-root"
mv "$building" "$out"
trap - EXIT
say "made $out"
