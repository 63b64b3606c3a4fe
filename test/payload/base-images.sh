#!/usr/bin/env bash
# Make local stand-ins for the base images bty's Containerfiles and its
# sidecars' name, for a machine that can pull no image: Debian minbase roots
# made with mmdebstrap and imported into Docker under the upstream names.
#
#   debian:bookworm-slim        bookworm minbase
#   python:3.13-slim-bookworm   bookworm minbase + Debian's python3 (3.11),
#                               pip and `python`: a STAND-IN with Debian's
#                               Python, not the official image
#   python:3.12-slim            the same stand-in (withcache's base)
#   ubuntu:26.04                forky minbase: a STAND-IN, not Ubuntu (nbdmux's base)
#
# Both also trust the CA bundle given with --ca-bundle (this network
# intercepts TLS; the official images need no such thing), installed as a
# local CA so the Dockerfile's own `apt-get install ca-certificates` keeps it.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: base-images.sh --arch ARCH [--ca-bundle FILE]

  --arch ARCH        Debian architecture (amd64, arm64)
  --ca-bundle FILE   extra CA bundle to trust inside the images

Environment: DOCKER, the docker CLI to use (default: docker).

Exit codes: 0 images made, 2 bad usage, 1 a tool failed.
USAGE
}

arch="" ca_bundle=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --arch) arch="${2:?}"; shift 2 ;;
    --ca-bundle) ca_bundle="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "base-images.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$arch" ]] || { echo "base-images.sh: --arch is required" >&2; exit 2; }
[[ -z "$ca_bundle" || -r "$ca_bundle" ]] || { echo "base-images.sh: cannot read $ca_bundle" >&2; exit 2; }
docker_cli="${DOCKER:-docker}"
for tool in mmdebstrap "$docker_cli"; do
  command -v "$tool" >/dev/null || { echo "base-images.sh: $tool not found (apt-get install $tool)" >&2; exit 1; }
done

hooks=()
if [[ -n "$ca_bundle" ]]; then
  hooks+=(--customize-hook="mkdir -p \"\$1/usr/local/share/ca-certificates\""
          --customize-hook="copy-in $ca_bundle /usr/local/share/ca-certificates/"
          --customize-hook="mv \"\$1/usr/local/share/ca-certificates/$(basename "$ca_bundle")\" \"\$1/usr/local/share/ca-certificates/host-bundle.crt\""
          --customize-hook="chroot \"\$1\" update-ca-certificates --fresh >/dev/null")
fi

platform="linux/$arch"
path_env='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# debian:bookworm-slim stand-in.
mmdebstrap --quiet --arch="$arch" --variant=minbase --include=ca-certificates "${hooks[@]}" bookworm - \
  | "$docker_cli" import --platform "$platform" --change "$path_env" --change 'CMD ["bash"]' - "debian:bookworm-slim" >/dev/null

# python:3.13-slim-bookworm stand-in: Debian's python3 with pip; pip may
# install into the system like the official image's (no PEP 668 marker).
mmdebstrap --quiet --arch="$arch" --variant=minbase \
  --include=ca-certificates,python3,python3-pip,python-is-python3 "${hooks[@]}" \
  --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
  bookworm - \
  | "$docker_cli" import --platform "$platform" --change "$path_env" --change 'CMD ["python3"]' - "python:3.13-slim-bookworm" >/dev/null

# The sidecars' bases (withcache, nbdmux: their deploy/Containerfile), for
# deploy-integration's stack. python:3.12-slim: the same Debian python
# stand-in under withcache's name. ubuntu:26.04: a STAND-IN made of Debian
# forky minbase, not Ubuntu: nbdmux's Containerfile apt-installs nbdkit >= 1.44,
# which forky packages (1.48) and bookworm/trixie do not.
"$docker_cli" tag "python:3.13-slim-bookworm" "python:3.12-slim"
# forky's Release files expire within days; this machine's clock may be past
# them (signatures are still verified).
mmdebstrap --quiet --arch="$arch" --variant=minbase --include=ca-certificates "${hooks[@]}" \
  --aptopt='Acquire::Check-Valid-Until "false"' forky - \
  | "$docker_cli" import --platform "$platform" --change "$path_env" --change 'CMD ["bash"]' - "ubuntu:26.04" >/dev/null

echo "made debian:bookworm-slim, python:3.13-slim-bookworm, python:3.12-slim and ubuntu:26.04 for $platform"
