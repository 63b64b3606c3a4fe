#!/usr/bin/env bash
# Install live-build and debootstrap from a newer Debian suite (default
# trixie) on a host of an older one (bookworm's live-build 20230502 is too
# old for bty's auto/config). The system's apt sources are left alone: the
# newer suite is read through a private sources file and state directory,
# its two .debs downloaded and installed with dpkg.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: install-live-build.sh [--suite SUITE] [--mirror URL] [--min-version V] [--work DIR]

Downloads live-build and debootstrap from SUITE (apt-get download through a
private sources list; the system's sources and pins are not touched) and
installs them with dpkg -i unless the installed live-build is already at
least --min-version.

  --suite SUITE      Debian suite to take them from (default trixie)
  --mirror URL       Debian mirror (default: the first URIs: of the host's
                     deb822 sources, i.e. the mirror the host already uses)
  --min-version V    minimum live-build version (default 20240208)
  --work DIR         scratch directory (default: a new temporary one)
  -h, --help         this text

exit codes: 0 installed (or already new enough), 1 download/install failed,
2 usage error
TXT
}

suite=trixie
mirror=""
min_version=20240208
work=""
while (($#)); do
  case "$1" in
    --suite) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; suite="$2"; shift 2 ;;
    --mirror) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; mirror="$2"; shift 2 ;;
    --min-version) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; min_version="$2"; shift 2 ;;
    --work) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; work="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install-live-build.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

# Only a configured package counts (a failed dpkg -i leaves one unpacked).
installed=$(dpkg-query -W -f='${Status} ${Version}' live-build 2>/dev/null | awk '$3 == "installed" {print $4}' || true)
if [[ -n "$installed" ]] && dpkg --compare-versions "${installed#*:}" ge "$min_version"; then
  echo "install-live-build.sh: live-build $installed already installed (>= $min_version)"
  exit 0
fi

if [[ -z "$mirror" ]]; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$mirror" ]] || { echo "install-live-build.sh: no deb822 sources on this host: pass --mirror URL" >&2; exit 2; }
fi

if [[ -z "$work" ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/debs"
printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
  "${mirror%/}" "$suite" >"$work/newer.sources"

apt_private=(
  -o "Dir::Etc::SourceList=/dev/null"
  -o "Dir::Etc::SourceParts=$work"
  -o "Dir::Etc::Preferences=/dev/null"
  -o "Dir::Etc::PreferencesParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache::Archives=$work/archives"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  # The scratch directory is root's; apt's unprivileged downloader cannot write there.
  -o "APT::Sandbox::User=root"
)
apt-get "${apt_private[@]}" -qq update ||
  { echo "install-live-build.sh: apt-get update of $suite from $mirror failed" >&2; exit 1; }
(cd "$work/debs" && apt-get "${apt_private[@]}" -qq download live-build debootstrap) ||
  { echo "install-live-build.sh: could not download live-build/debootstrap from $suite" >&2; exit 1; }
# trixie's debootstrap depends on distro-info, which the host's own suite has.
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends distro-info >/dev/null ||
  { echo "install-live-build.sh: could not install distro-info from the host's sources" >&2; exit 1; }
dpkg -i "$work"/debs/*.deb >/dev/null ||
  { echo "install-live-build.sh: dpkg -i failed (missing dependencies? see above)" >&2; exit 1; }
echo "install-live-build.sh: installed $(dpkg-query -W -f='live-build ${Version}, ' live-build)$(dpkg-query -W -f='debootstrap ${Version}' debootstrap)"
