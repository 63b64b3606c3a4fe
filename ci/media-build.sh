#!/usr/bin/env bash
# bty's live-build media (netboot-pc, ramboot-init, usbboot-pc) in stages,
# so that bty's Python code reaches neither the Debian root file system nor
# its compressed base squashfs (whether an engine then reuses them is the
# engine's cache: docs/media.md, "What the engine caches").
#
# bty's own steps, in bty's order (cijoe/scripts/live_build.py,
# ramboot_init_build.py, usb_iso_build.py): copy bty-media/live-build into a
# fresh directory, stamp __BTY_VERSION__, `lb clean --all`, `lb build`
# (= lb config, lb bootstrap, lb chroot, lb binary), collect outputs. bty's
# config, package lists, hooks and includes are used from the checkout; the
# only departure is that bty's wheel-install hook (0500-bty-install, which
# writes only /opt/bty and the /usr/local/bin/bty link) runs after the other
# chroot hooks, against the finished chroot, and its /opt/bty is appended to
# a squashfs made without /opt (docs/decisions.md says why that is
# equivalent): netboot-pc's published squashfs, usbboot-pc's ISO (whose
# squashfs is replaced and the ISO made again with live-build's own xorriso
# command, ci/iso-remaster.py); ramboot-init publishes no squashfs.
set -euo pipefail

# The hook that installs bty's wheel (held out of `lb chroot`).
BTY_INSTALL_HOOK=0500-bty-install.hook.chroot
# Files added to the chroot for the build only; `seal` removes them.
CA_IN_CHROOT=/usr/local/share/bty-ci/extra-ca.crt
PIP_CONF=/etc/pip.conf
GITCONFIG=/etc/gitconfig
# Where an r8125 repository given with --r8125-repo sits in the chroot.
R8125_IN_CHROOT=/var/cache/bty-ci/r8125.git
# Oldest live-build bty's auto/config works with.
MIN_LIVE_BUILD=20240208
# bty's --firmware-chroot pulls every firmware-* package of trixie (31 here);
# when live-build's Contents download fails it installs one, silently.
MIN_FIRMWARE_PACKAGES=10
# Lines of live-build's log shown when a stage fails or runs out of time.
LOG_TAIL_LINES=80
# Where bty's hook installs bty: the squashfs must list it.
BTY_INSTALL_PATH=/opt/bty/venv/bin/bty
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'TXT'
usage: media-build.sh STAGE [options]

Stages, run in this order (each one a separate, cacheable step):

  prepare --source BTY --variant V --work DIR [--ca-cert FILE]
          [--r8125-repo GITDIR | --r8125-url URL] [--mirror URL] [--pip-index URL]
      copy BTY/bty-media/live-build to DIR/lb, stamp bty's version, hold
      out bty's wheel-install hook, add the build-only extras (extra CA for
      pip/git, git url.insteadOf for the r8125 repository) to
      includes.chroot, and run `lb clean --all` + `lb config`.
      --r8125-repo copies a git repository (bare or not) into the chroot
      for the build and points the r8125 hook's clone at it; --r8125-url
      points it at a URL the chroot can reach instead; --pip-index is the
      package index bty's wheel-install hook uses (build only)
  rootfs  --work DIR --variant V [--timeout SEC]
      `lb bootstrap` + `lb chroot` (bty's package lists and other hooks)
  install-bty --work DIR --wheel WHL|DIR [--timeout SEC]
      run bty's wheel-install hook in the finished chroot; move what it
      made to DIR/bty-layer (/opt) and archive anything else it made in
      DIR/bty-outside.tar (files only, name order, one time: its bytes
      change only when those files do)
  seal    --work DIR --variant V
      remove the build-only extras from the chroot (no extra CA, pip.conf
      or gitconfig stays in the image), unpack DIR/bty-outside.tar into it
  binary  --work DIR --variant V [--timeout SEC]
      `lb binary` with /opt excluded from the squashfs
  finish  --work DIR --variant V --version VER --out OUT
      append DIR/bty-layer to the squashfs (no recompression of the
      base; usbboot-pc: the ISO's squashfs, then live-build's xorriso
      command again, ci/iso-remaster.py; ramboot-init publishes no
      squashfs), copy the outputs to OUT under bty's release names and write
      the .sha256 manifest and the build manifest (.build-manifest.txt:
      Debian packages, bty's pip freeze, r8125 commit, live-build version);
      verify each output (ci/media-verify.py) and that every package of
      bty's package lists is installed (ISO: bty's usb_iso_build then
      appends BTY_IMAGES)

Every `lb` call runs under `timeout SEC` (default 2400); on failure or
expiry the last lines of the stage's log are printed. Logs: DIR/logs/.

exit codes: 0 ok, 1 build failed, 2 usage or input error, 124 time bound hit
TXT
}

die() { echo "media-build.sh: $*" >&2; exit 2; }

stage="${1:-}"
[[ -n "$stage" ]] || { usage >&2; exit 2; }
shift
[[ "$stage" == -h || "$stage" == --help ]] && { usage; exit 0; }

source_dir="" variant="" work="" ca_cert="" r8125_url="" r8125_repo="" pip_index="" mirror="" timeout_s=2400 wheel="" version="" out=""
while (($#)); do
  case "$1" in
    --source|--variant|--work|--ca-cert|--r8125-url|--r8125-repo|--pip-index|--mirror|--timeout|--wheel|--version|--out)
      [[ $# -ge 2 ]] || die "$1 needs a value"
      case "$1" in
        --source) source_dir="$2" ;; --variant) variant="$2" ;; --work) work="$2" ;;
        --ca-cert) ca_cert="$2" ;; --r8125-url) r8125_url="$2" ;; --r8125-repo) r8125_repo="$2" ;;
        --pip-index) pip_index="$2" ;;
        --mirror) mirror="$2" ;;
        --timeout) timeout_s="$2" ;; --wheel) wheel="$2" ;; --version) version="$2" ;;
        --out) out="$2" ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

[[ -n "$work" ]] || die "--work DIR is required"
# Absolute: stages change directory (into the chroot, the output directory).
work=$(realpath -m -- "$work")
[[ "$timeout_s" =~ ^[0-9]+$ ]] || die "--timeout must be seconds (got '$timeout_s')"
lb_dir="$work/lb"
logs="$work/logs"

need_variant() {
  case "$variant" in
    netboot-pc|ramboot-init|usbboot-pc) ;;
    "") die "--variant is required (netboot-pc, ramboot-init or usbboot-pc)" ;;
    *) die "unknown variant '$variant': use netboot-pc, ramboot-init or usbboot-pc" ;;
  esac
}

# Run one live-build command in DIR/lb under the time bound, its output in
# DIR/logs/NAME.log; on failure print the log's tail and keep its status.
lb_step() {
  local name="$1"; shift
  mkdir -p "$logs"
  echo "media-build.sh: lb $* (time bound ${timeout_s}s, log $logs/$name.log)"
  local rc=0
  (cd "$lb_dir" && BTY_VARIANT="$variant" timeout --kill-after=30 "$timeout_s" lb "$@") >"$logs/$name.log" 2>&1 || rc=$?
  if ((rc != 0)); then
    if ((rc == 124 || rc == 137)); then
      echo "media-build.sh: 'lb $*' hit the time bound of ${timeout_s}s; last $LOG_TAIL_LINES log lines:" >&2
      rc=124
    else
      echo "media-build.sh: 'lb $*' failed (exit $rc); last $LOG_TAIL_LINES log lines:" >&2
    fi
    tail -n "$LOG_TAIL_LINES" "$logs/$name.log" >&2
    exit "$rc"
  fi
}

# Debian mirror for live-build, without a trailing slash: live-build joins
# "$mirror/dists/..." itself, and a double slash makes the mirror answer 400
# to the Contents download, after which no firmware is installed.
resolve_mirror() {
  if [[ -z "$mirror" ]]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [[ -n "$mirror" ]] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [[ -n "$mirror" ]] || die "no Debian mirror in this system's apt sources: pass --mirror URL"
  fi
  [[ "$mirror" =~ ^(https?|file)://[A-Za-z0-9._:@/%+~-]+$ ]] || die "--mirror must be a URL (got '$mirror')"
  while [[ "$mirror" == */ ]]; do mirror="${mirror%/}"; done
}

stage_prepare() {
  need_variant
  [[ -n "$source_dir" ]] || die "--source BTY is required"
  local tree="$source_dir/bty-media/live-build"
  [[ -d "$tree" ]] || die "no bty-media/live-build in $source_dir: is --source a bty checkout (it must contain bty-media/)?"
  [[ -f "$tree/auto/config" ]] || die "$tree has no auto/config: bty's live-build tree is incomplete"
  [[ -f "$tree/config/hooks/normal/$BTY_INSTALL_HOOK" ]] || die "bty's hook $BTY_INSTALL_HOOK is missing from $tree"
  [[ -f "$source_dir/pyproject.toml" ]] || die "no pyproject.toml in $source_dir"
  [[ -z "$ca_cert" || -s "$ca_cert" ]] || die "--ca-cert $ca_cert is missing or empty"
  [[ -z "$r8125_repo" || -z "$r8125_url" ]] || die "give --r8125-repo or --r8125-url, not both"
  [[ -z "$pip_index" || "$pip_index" =~ ^https?://[^[:space:]]+$ ]] || die "--pip-index must be an http(s) URL (got '$pip_index')"
  if [[ -n "$r8125_repo" ]]; then
    git --git-dir "$r8125_repo" rev-parse --verify -q HEAD >/dev/null 2>&1 ||
      git -C "$r8125_repo" rev-parse --verify -q HEAD >/dev/null 2>&1 ||
      die "--r8125-repo $r8125_repo is not a git repository with a HEAD commit"
  fi
  local ver
  ver=$(awk -F'"' '/^version *=/ {print $2; exit}' "$source_dir/pyproject.toml")
  [[ -n "$ver" ]] || die "no version = \"...\" in $source_dir/pyproject.toml"
  resolve_mirror
  local lb_version
  lb_version=$(lb --version 2>/dev/null | grep -oE '[0-9]{8}' | head -1 || true)
  [[ -n "$lb_version" && "$lb_version" -ge "$MIN_LIVE_BUILD" ]] ||
    die "live-build ${lb_version:-not found}: bty's auto/config needs $MIN_LIVE_BUILD or newer (Debian trixie's; see ci/install-live-build.sh)"

  # live-build's cache/ may be a mounted cache volume: keep it, clear the rest.
  mkdir -p "$lb_dir"
  find "$lb_dir" -mindepth 1 -maxdepth 1 ! -name cache -exec rm -rf {} +
  rm -rf "$work/held-hooks"
  mkdir -p "$work/held-hooks" "$logs"
  cp -a "$tree/." "$lb_dir/"
  # bty's version stamp (live_build.py): every __BTY_VERSION__ placeholder.
  grep -rlF __BTY_VERSION__ "$lb_dir" | xargs --no-run-if-empty sed -i "s/__BTY_VERSION__/$ver/g"
  mv "$lb_dir/config/hooks/normal/$BTY_INSTALL_HOOK" "$work/held-hooks/"
  # A stray wheel in the checkout's includes.chroot would make the rootfs
  # depend on it; bty's wheel arrives only in install-bty.
  rm -f "$lb_dir"/config/includes.chroot/opt/bty/bty_lab-*.whl

  local inc="$lb_dir/config/includes.chroot"
  if [[ -n "$ca_cert" || -n "$pip_index" ]]; then
    mkdir -p "$(dirname "$inc$PIP_CONF")"
    printf '[global]\n' >"$inc$PIP_CONF"
    [[ -z "$pip_index" ]] || printf 'index-url = %s\n' "$pip_index" >>"$inc$PIP_CONF"
  fi
  if [[ -n "$ca_cert" ]]; then
    install -D -m 0644 "$ca_cert" "$inc$CA_IN_CHROOT"
    printf 'cert = %s\n' "$CA_IN_CHROOT" >>"$inc$PIP_CONF"
    git config --file "$inc$GITCONFIG" http.sslCAInfo "$CA_IN_CHROOT"
  fi
  if [[ -n "$r8125_repo" ]]; then
    mkdir -p "$(dirname "$inc$R8125_IN_CHROOT")"
    # --no-local: a local clone hardlinks the objects, and in a Dagger
    # container git refuses those links ("hardlink different from source",
    # seen on a real engine); a copy through git's transport works anywhere.
    git clone -q --bare --no-local "$r8125_repo" "$inc$R8125_IN_CHROOT"
    r8125_url="file://$R8125_IN_CHROOT"
  fi
  if [[ -n "$r8125_url" ]]; then
    # bty's 0600-bty-r8125-dkms hook clones this URL; git rewrites it.
    local upstream
    upstream=$(grep -oE 'https://github\.com/[^" ]*realtek-r8125-dkms\.git' "$lb_dir/config/hooks/normal/"*r8125* | head -1)
    [[ -n "$upstream" ]] || die "bty's r8125 hook no longer names a realtek-r8125-dkms URL: --r8125-url cannot redirect it"
    git config --file "$inc$GITCONFIG" "url.$r8125_url.insteadOf" "$upstream"
  fi
  # Squashfs without /opt, for every variant: `binary`, the slow stage,
  # then never sees bty's Python code; `finish` appends /opt/bty.
  mkdir -p "$lb_dir/config/rootfs"
  echo "opt" >>"$lb_dir/config/rootfs/excludes"
  printf '%s\n' "$ver" >"$work/version"
  printf '%s\n' "$mirror" >"$work/mirror"

  lb_step clean clean --all
  lb_step config config \
    --mirror-bootstrap "$mirror" --mirror-chroot "$mirror" --mirror-binary "$mirror" \
    --parent-mirror-bootstrap "$mirror" --parent-mirror-chroot "$mirror" --parent-mirror-binary "$mirror"
}

stage_rootfs() {
  need_variant
  [[ -d "$lb_dir/config" ]] || die "$lb_dir has no config: run the prepare stage first"
  lb_step bootstrap bootstrap
  lb_step chroot chroot
}

# Mount what a hook needs, as live-build does around chroot hooks.
chroot_mounts() {
  local root="$1"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true
  cp -L /etc/resolv.conf "$root/etc/resolv.conf.bty-ci" 2>/dev/null || true
  if [[ -e "$root/etc/resolv.conf.bty-ci" ]]; then
    mv -f "$root/etc/resolv.conf" "$root/etc/resolv.conf.bty-ci-orig" 2>/dev/null || true
    mv "$root/etc/resolv.conf.bty-ci" "$root/etc/resolv.conf"
  fi
}

chroot_umounts() {
  local root="$1"
  umount "$root/dev/pts" 2>/dev/null || true
  umount "$root/dev" "$root/sys" "$root/proc" 2>/dev/null || true
  if [[ -e "$root/etc/resolv.conf.bty-ci-orig" || -L "$root/etc/resolv.conf.bty-ci-orig" ]]; then
    mv -f "$root/etc/resolv.conf.bty-ci-orig" "$root/etc/resolv.conf"
  else
    rm -f "$root/etc/resolv.conf"
  fi
}

stage_install_bty() {
  local root="$lb_dir/chroot"
  [[ -d "$root/usr" ]] || die "no chroot in $lb_dir: run the rootfs stage first"
  if [[ -d "$wheel" ]]; then
    # A dist directory (buildWheel's output): exactly one bty wheel, as
    # bty's bty_wheel_stage.py requires.
    local found=("$wheel"/bty_lab-*-py3-none-any.whl)
    [[ ${#found[@]} -eq 1 && -f "${found[0]}" ]] ||
      die "--wheel $wheel must hold exactly one bty_lab-*-py3-none-any.whl (found ${#found[@]})"
    wheel="${found[0]}"
  fi
  [[ -n "$wheel" && -f "$wheel" ]] || die "--wheel must name bty's wheel or a directory holding it (got '${wheel}')"
  [[ "$(basename "$wheel")" =~ ^bty_lab-.+-py3-none-any\.whl$ ]] ||
    die "$(basename "$wheel") is not a bty_lab-*-py3-none-any.whl wheel (bty's hook installs only that)"
  local layer="$work/bty-layer" outside="$work/bty-outside.tar" marker="$work/install-marker"
  rm -rf "$layer" "$outside"
  mkdir -p "$layer" "$logs"
  [[ ! -e "$root/opt/bty/venv" ]] || die "the chroot already holds /opt/bty/venv: start again from the rootfs stage"
  install -D -m 0644 "$wheel" "$root/opt/bty/$(basename "$wheel")"
  # Where the held hook runs from inside the chroot; it reads no path of its own.
  local hook="/var/tmp/$BTY_INSTALL_HOOK"
  install -m 0755 "$work/held-hooks/$BTY_INSTALL_HOOK" "$root$hook"
  touch "$marker"
  # find -newer compares nanosecond times, which the kernel advances at
  # worst once per tick (a few milliseconds): a tenth of a second keeps
  # every file the hook writes newer than the marker.
  sleep 0.1
  chroot_mounts "$root"
  # Never leave the chroot's mounts behind (time bound, signal).
  trap 'chroot_umounts "$root"' EXIT
  local rc=0
  echo "media-build.sh: bty's $BTY_INSTALL_HOOK in the chroot (log $logs/install-bty.log)"
  timeout --kill-after=30 "$timeout_s" chroot "$root" /usr/bin/env -i HOME=/root \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    "$hook" >"$logs/install-bty.log" 2>&1 || rc=$?
  trap - EXIT
  chroot_umounts "$root"
  rm -f "$root$hook"
  if ((rc != 0)); then
    echo "media-build.sh: $BTY_INSTALL_HOOK failed (exit $rc); last $LOG_TAIL_LINES log lines:" >&2
    tail -n "$LOG_TAIL_LINES" "$logs/install-bty.log" >&2
    exit $((rc == 124 ? 124 : 1))
  fi
  [[ -x "$root$BTY_INSTALL_PATH" ]] ||
    { echo "media-build.sh: $BTY_INSTALL_HOOK left no $BTY_INSTALL_PATH in the chroot" >&2; exit 1; }
  chroot "$root" /opt/bty/venv/bin/python -m pip freeze --all >"$work/pip-freeze.txt"
  # /opt goes to the appended layer; anything else the hook made (the
  # /usr/local/bin/bty link) back into the chroot before the base squashfs.
  mv "$root/opt" "$layer/opt"
  mkdir -m 0755 "$root/opt"
  # Files only (the chroot's directories keep their own attributes), in name
  # order, owners as numbers, all with the time of the Debian release's
  # /etc/debian_version: the archive's bytes then change only when what the
  # hook made does. The engine keys the base squashfs on those bytes (it is
  # handed over as a file, which the engine hashes by content), so a change
  # to bty's Python code alone keeps the binary stage.
  local epoch
  epoch=$(stat -c %Y "$root/etc/debian_version")
  (cd "$root" && find . -xdev -newer "$marker" ! -type d \
      ! -path './proc/*' ! -path './sys/*' ! -path './dev/*' ! -path './run/*' ! -path './tmp/*' \
      ! -path './etc/resolv.conf' ! -path './var/log/*' -print0 |
    LC_ALL=C sort -z |
    tar --create --file "$outside" --null --no-recursion --files-from=- \
      --format=gnu --numeric-owner --mtime="@$epoch")
  # (Today: the /usr/local/bin/bty link and the byte code of the standard
  # library modules pip and venv imported.)
  local made
  made=$(tar --list --file "$outside" | sed 's/^\.//' | sort)
  echo "media-build.sh: bty layer $(du -sh "$layer" | cut -f1); $(grep -c . <<<"$made" || true) file(s) made outside /opt:"
  grep -v '/__pycache__/' <<<"$made" | sed 's/^/  /' || true
}

stage_seal() {
  need_variant
  local root="$lb_dir/chroot"
  [[ -d "$root/usr" ]] || die "no chroot in $lb_dir: run the rootfs stage first"
  [[ -f "$work/bty-outside.tar" ]] || die "no $work/bty-outside.tar: run the install-bty stage first"
  local extra
  for extra in "$CA_IN_CHROOT" "$PIP_CONF" "$GITCONFIG" "$R8125_IN_CHROOT"; do
    rm -rf "$root$extra" "$lb_dir/config/includes.chroot$extra"
  done
  rmdir "$(dirname "$root$CA_IN_CHROOT")" "$(dirname "$root$R8125_IN_CHROOT")" 2>/dev/null || true
  tar --extract --file "$work/bty-outside.tar" --directory "$root" --numeric-owner --preserve-permissions
}

stage_binary() {
  need_variant
  [[ -d "$lb_dir/chroot/usr" ]] || die "no chroot in $lb_dir: run the rootfs stage first"
  [[ ! -e "$lb_dir/chroot$CA_IN_CHROOT" ]] || die "the chroot still holds the build-only CA: run the seal stage first"
  lb_step binary binary
}

# The one file under DIR/lb (outside chroot/) matching a name pattern.
find_output() {
  local pattern="$1"
  find "$lb_dir" -path "$lb_dir/chroot" -prune -o -type f -name "$pattern" -print | sort | head -1
}

stage_finish() {
  need_variant
  [[ -n "$version" ]] || die "--version is required"
  [[ -n "$out" ]] || die "--out DIR is required"
  mkdir -p "$out"
  local stem
  case "$variant" in
    netboot-pc) stem="bty-netboot-pc-x86_64-v$version" ;;
    ramboot-init) stem="bty-ramboot-init-x86_64-v$version" ;;
    usbboot-pc) stem="bty-usbboot-pc-x86_64-v$version" ;;
  esac
  local artifacts=()
  if [[ "$variant" == usbboot-pc ]]; then
    [[ -d "$work/bty-layer/opt" ]] || die "no $work/bty-layer/opt: run the install-bty stage first"
    # The ISO bty's build makes: its squashfs with /opt/bty, the same
    # boot records, volume id and dates (live-build's own xorriso line).
    local remaster="$work/remaster"
    "$HERE/iso-remaster.py" --lb-dir "$lb_dir" --layer "$work/bty-layer" --work "$remaster" \
      --out "$out/$stem.iso" >"$logs/remaster.log" 2>&1 ||
      { echo "media-build.sh: ISO remaster failed:" >&2; tail -n "$LOG_TAIL_LINES" "$logs/remaster.log" >&2; exit 1; }
    "$HERE/media-verify.py" squashfs "$remaster/binary/live/filesystem.squashfs" --path "$BTY_INSTALL_PATH" || exit 1
    rm -rf "$remaster"
    artifacts=("$stem.iso")
  else
    local kernel initrd squashfs
    kernel=$(find_output 'vmlinuz*')
    initrd=$(find_output 'initrd.img*')
    squashfs=$(find_output 'filesystem.squashfs')
    [[ -n "$kernel" && -n "$initrd" && -n "$squashfs" ]] ||
      { echo "media-build.sh: lb binary left no vmlinuz/initrd.img/filesystem.squashfs outside chroot/" >&2; exit 1; }
    cp "$kernel" "$out/$stem.vmlinuz"
    cp "$initrd" "$out/$stem.initrd"
    artifacts=("$stem.vmlinuz" "$stem.initrd")
    "$HERE/media-verify.py" kernel "$out/$stem.vmlinuz" || exit 1
    "$HERE/media-verify.py" initrd "$out/$stem.initrd" || exit 1
    if [[ "$variant" == netboot-pc ]]; then
      [[ -d "$work/bty-layer/opt" ]] || die "no $work/bty-layer/opt: run the install-bty stage first"
      cp "$squashfs" "$out/$stem.squashfs"
      # Appending keeps the base's compressed blocks as they are; only
      # bty's layer is compressed (with the base's compressor).
      mksquashfs "$work/bty-layer" "$out/$stem.squashfs" -no-progress -no-recovery >"$logs/append.log" 2>&1 ||
        { echo "media-build.sh: mksquashfs append failed:" >&2; tail -n "$LOG_TAIL_LINES" "$logs/append.log" >&2; exit 1; }
      "$HERE/media-verify.py" squashfs "$out/$stem.squashfs" --path "$BTY_INSTALL_PATH" || exit 1
      artifacts+=("$stem.squashfs")
    fi
    # ramboot-init publishes no squashfs (bty's ramboot_init_build.py).
    (cd "$out" && sha256sum "${artifacts[@]}" >"$stem.sha256")
    "$HERE/media-verify.py" checksums "$out/$stem.sha256" || exit 1
  fi
  local pip_args=() root="$lb_dir/chroot"
  [[ ! -s "$work/pip-freeze.txt" ]] || pip_args=(--pip-freeze "$work/pip-freeze.txt")
  # With live-build's bootstrap cache, `lb binary` builds inside a copy of
  # that cache and leaves the image's root file system at chroot/chroot.
  [[ ! -d "$root/chroot/var/lib/dpkg" ]] || root="$root/chroot"
  "$HERE/media-manifest.py" --chroot "$root" --variant "$variant" --version "$version" \
    --mirror "$(cat "$work/mirror")" "${pip_args[@]}" "${artifacts[@]/#/--artifact=}" \
    --out "$out/$stem.build-manifest.txt" --dpkg-out "$work/dpkg.txt" || exit 1
  # The Contents trap: a live-build that silently installed no firmware
  # (or missed any other listed package) fails here, naming the packages.
  local lists=() list
  for list in "$lb_dir"/config/package-lists/*.list.chroot; do lists+=(--list "$list"); done
  "$HERE/media-verify.py" packages --installed "$work/dpkg.txt" --built "$lb_dir/chroot.packages.install" \
    --min-firmware "$MIN_FIRMWARE_PACKAGES" "${lists[@]}" || exit 1
}

main() {
  case "$stage" in
    prepare) stage_prepare ;;
    rootfs) stage_rootfs ;;
    install-bty) stage_install_bty ;;
    seal) stage_seal ;;
    binary) stage_binary ;;
    finish) stage_finish ;;
    *) die "unknown stage '$stage' (prepare, rootfs, install-bty, seal, binary, finish)" ;;
  esac
}

# One line, parsed whole before it runs: a build is long, and bash would
# otherwise read on from this file after the stage, even if it was edited
# meanwhile.
main; exit "$?"
