#!/usr/bin/env bash
# Build bty's custom iPXE (x86_64 EFI) from an iPXE source tree: bty's
# embedded chain script and general.h trims, the make call bty's
# cijoe/scripts/bty_ipxe_build.py makes, bounded in time.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: ipxe-build.sh --ipxe-tree DIR --embed FILE --general-h FILE --output FILE
                     [--target TARGET] [--jobs N] [--timeout SECONDS] [--log FILE]

Stages bty's build inputs into the iPXE tree DIR (the tree root, holding
src/Makefile; it is written to) and builds:

  FILE (--general-h) -> DIR/src/config/local/general.h
  FILE (--embed)     -> DIR/src/bty-embed.ipxe
  make -j N -C DIR/src TARGET EMBED=bty-embed.ipxe NO_WERROR=1

then copies DIR/src/TARGET to --output.

  --target TARGET    make target (default bin-x86_64-efi/ipxe.efi)
  --jobs N           parallel make jobs (default 4)
  --timeout SECONDS  stop the compile after this long (default 1800)
  --log FILE         full make log (default DIR/bty-ci-build.log)
  -h, --help         this text

On failure the last 40 lines of the make log are printed.
exit codes: 0 built, 1 build failed or timed out, 2 usage or input error
TXT
}

die_usage() { echo "ipxe-build.sh: $*" >&2; exit 2; }

tree="" embed="" general="" output="" log=""
target=bin-x86_64-efi/ipxe.efi
jobs=4
timeout_s=1800
while (($#)); do
  case "$1" in
    --ipxe-tree|--embed|--general-h|--output|--target|--jobs|--timeout|--log)
      [[ $# -ge 2 ]] || die_usage "$1 needs a value"
      case "$1" in
        --ipxe-tree) tree="$2" ;;
        --embed) embed="$2" ;;
        --general-h) general="$2" ;;
        --output) output="$2" ;;
        --target) target="$2" ;;
        --jobs) jobs="$2" ;;
        --timeout) timeout_s="$2" ;;
        --log) log="$2" ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die_usage "unknown argument $1" ;;
  esac
done

[[ -n "$tree" && -n "$embed" && -n "$general" && -n "$output" ]] ||
  { usage >&2; die_usage "--ipxe-tree, --embed, --general-h and --output are required"; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die_usage "--jobs must be a positive integer (got '$jobs')"
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || die_usage "--timeout must be a positive number of seconds (got '$timeout_s')"
[[ -f "$tree/src/Makefile" ]] ||
  die_usage "$tree is not an iPXE source tree: pass the iPXE source tree root (containing src/Makefile)"
[[ -f "$embed" ]] || die_usage "embed script not found: $embed"
[[ -f "$general" ]] || die_usage "general.h not found: $general"
log="${log:-$tree/bty-ci-build.log}"

mkdir -p "$tree/src/config/local" "$(dirname "$output")" "$(dirname "$log")"
cp "$general" "$tree/src/config/local/general.h"
cp "$embed" "$tree/src/bty-embed.ipxe"

echo "ipxe-build.sh: make -j $jobs -C $tree/src $target EMBED=bty-embed.ipxe NO_WERROR=1 (timeout ${timeout_s}s, log $log)"
start=$SECONDS
status=0
timeout --kill-after=30 "$timeout_s" \
  make -j "$jobs" -C "$tree/src" "$target" EMBED=bty-embed.ipxe NO_WERROR=1 >"$log" 2>&1 || status=$?
if ((status != 0)); then
  echo "---- last 40 lines of $log ----" >&2
  tail -n 40 "$log" >&2
  if ((status == 124 || status == 137)); then
    echo "ipxe-build.sh: the compile did not finish within ${timeout_s}s (stopped)" >&2
  else
    echo "ipxe-build.sh: make exited $status" >&2
  fi
  exit 1
fi
built="$tree/src/$target"
[[ -f "$built" ]] || { echo "ipxe-build.sh: make succeeded but $built is missing" >&2; exit 1; }
cp "$built" "$output"
echo "ipxe-build.sh: built $output ($(stat -c %s "$output") bytes) in $((SECONDS - start))s"
