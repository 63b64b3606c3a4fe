#!/usr/bin/env bash
# Install Debian packages in a job container, keeping downloaded .debs in the
# (cache-volume mounted) apt archive so the next run installs offline.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: apt-install.sh [--mirror URL] [--sources-dir DIR] [--print-sources] PACKAGE...

Installs PACKAGEs with apt-get (--no-install-recommends) and keeps the apt
archive between runs (removes the docker-clean hook of Debian images).

  --mirror URL       use URL (scheme://host[:port][/prefix]) instead of the
                     image's Debian mirror; the archive path (debian,
                     debian-security) is kept
  --sources-dir DIR  where the deb822 .sources files live
                     (default /etc/apt/sources.list.d)
  --print-sources    rewrite the sources, print them, install nothing
  -h, --help         this text

exit codes: 0 installed, 1 apt failed, 2 usage error
TXT
}

mirror=""
sources_dir=/etc/apt/sources.list.d
print_only=false
packages=()
while (($#)); do
  case "$1" in
    --mirror) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; mirror="$2"; shift 2 ;;
    --sources-dir) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; sources_dir="$2"; shift 2 ;;
    --print-sources) print_only=true; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "apt-install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) packages+=("$1"); shift ;;
  esac
done

if [[ -n "$mirror" ]]; then
  # Only URL characters that are safe in the sed replacement below.
  if [[ ! "$mirror" =~ ^(https?|file)://[A-Za-z0-9._:@/%+~-]+$ ]]; then
    echo "apt-install.sh: --mirror must be a URL like http://mirror.internal (got '$mirror')" >&2
    exit 2
  fi
  shopt -s nullglob
  sources=("$sources_dir"/*.sources)
  if ((${#sources[@]} == 0)); then
    echo "apt-install.sh: no .sources file in $sources_dir to point at $mirror" >&2
    exit 2
  fi
  # Replace scheme://host of every URIs: line, keep the archive path.
  sed -E -i "s#^(URIs:[[:space:]]*)[a-z]+://[^/[:space:]]+#\\1${mirror%/}#" "${sources[@]}"
fi

if $print_only; then
  cat "$sources_dir"/*.sources
  exit 0
fi

if ((${#packages[@]} == 0)); then
  echo "apt-install.sh: name at least one package" >&2
  usage >&2
  exit 2
fi

# Debian images delete downloaded .debs after every install; the archive is a
# cache volume here, so keep them.
rm -f /etc/apt/apt.conf.d/docker-clean
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >/etc/apt/apt.conf.d/keep-cache

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || { echo "apt-install.sh: apt-get update failed (mirror reachable?)" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends "${packages[@]}" ||
  { echo "apt-install.sh: could not install: ${packages[*]}" >&2; exit 1; }
