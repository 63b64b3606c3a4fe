#!/usr/bin/env bash
# Make local stand-ins for the two base images bty's Containerfiles name,
# for a machine that can pull no image: Debian bookworm minbase roots made
# with mmdebstrap and imported into Docker under the upstream names.
#
#   debian:bookworm-slim        bookworm minbase
#   python:3.13-slim-bookworm   bookworm minbase + Debian's python3 (3.11),
#                               pip and `python`: a STAND-IN with Debian's
#                               Python, not the official image
#
# Both also trust the CA bundle given with --ca-bundle (this network
# intercepts TLS; the official images need no such thing), installed as a
# local CA so the Dockerfile's own `apt-get install ca-certificates` keeps it.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: base-images.sh --arch ARCH [--ca-bundle FILE] [--suffix SUFFIX]

  --arch ARCH        Debian architecture (amd64, arm64)
  --ca-bundle FILE   extra CA bundle to trust inside the images
  --suffix SUFFIX    append SUFFIX to the image tags (e.g. -arm64); default none

Exit codes: 0 images made, 2 bad usage, 1 a tool failed.
USAGE
}

arch="" ca_bundle="" suffix=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --arch) arch="${2:?}"; shift 2 ;;
    --ca-bundle) ca_bundle="${2:?}"; shift 2 ;;
    --suffix) suffix="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "base-images.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$arch" ]] || { echo "base-images.sh: --arch is required" >&2; exit 2; }
[[ -z "$ca_bundle" || -r "$ca_bundle" ]] || { echo "base-images.sh: cannot read $ca_bundle" >&2; exit 2; }
for tool in mmdebstrap docker; do
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
  | docker import --platform "$platform" --change "$path_env" --change 'CMD ["bash"]' - "debian:bookworm-slim$suffix" >/dev/null

# python:3.13-slim-bookworm stand-in: Debian's python3 with pip; pip may
# install into the system like the official image's (no PEP 668 marker).
mmdebstrap --quiet --arch="$arch" --variant=minbase \
  --include=ca-certificates,python3,python3-pip,python-is-python3 "${hooks[@]}" \
  --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
  bookworm - \
  | docker import --platform "$platform" --change "$path_env" --change 'CMD ["python3"]' - "python:3.13-slim-bookworm$suffix" >/dev/null

echo "made debian:bookworm-slim$suffix and python:3.13-slim-bookworm$suffix for $platform"
