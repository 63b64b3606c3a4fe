#!/usr/bin/env bash
# Engine tier: drive the real module through a real Dagger engine.
# Runs in this repository's GitHub Actions workflow; it cannot run where
# bty-ci is developed (no engine can be downloaded there).
set -euo pipefail

usage() {
  cat <<'TXT'
usage: test/engine/smoke.sh [--bty DIR] [--quick] [--skip-check] [--summary FILE]

Smoke-tests bty-ci with the `dagger` CLI (must be on PATH, v0.21.8):
  1. `dagger functions` lists every job;
  2. `version` reads bty's pyproject.toml, and a source without one fails
     with the message that names the fix;
  3. `build-wheel` exports wheel + sdist whose SHA256SUMS verify; the USB
     tests refuse an ISO without BTY_IMAGES and a malformed Ventoy checksum
     with the fix; `plan` and `workflow export` work;
  4. `build-ipxe` exports the iPXE binary with a verifying .sha256, and an
     `--ipxe-source` without src/Makefile fails naming the fix;
  5. installed as a toolchain of the bty checkout (a copy in <bty>/.bty-ci,
     kept out of bty's git snapshot and, by the module's source ignore list,
     out of what bty-ci's checks see), `dagger check` runs every check; then
     `call --source <bty> all-checks` prints its table (both skipped with
     --quick).

  --bty DIR       a bty checkout, left in place with the toolchain installed;
                  if DIR does not exist, bty's newest sdist (fetched with pip)
                  is unpacked there (default: a temporary directory)
  --quick         only steps 1-4
  --skip-check    install the toolchain but leave `dagger check` to the
                  caller (the workflow runs it with dagger-for-github's
                  check verb, in <bty>)
  --summary FILE  append a Markdown report (steps, the all-checks table) to
                  FILE, e.g. "$GITHUB_STEP_SUMMARY"
  -h, --help      this text

exit codes: 0 all passed, 1 a smoke step failed, 2 usage error
TXT
}

bty=""
quick=false
skip_check=false
summary=""
while (($#)); do
  case "$1" in
    --bty) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; bty="$2"; shift 2 ;;
    --quick) quick=true; shift ;;
    --skip-check) skip_check=true; shift ;;
    --summary) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; summary="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "smoke.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

command -v dagger >/dev/null || { echo "smoke.sh: dagger CLI not on PATH" >&2; exit 2; }
module=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)

# Where the toolchain copy of bty-ci goes inside the bty checkout; the
# module's SOURCE_IGNORE (src/config.ts) lists the same name.
toolchain_dir=.bty-ci

# The Markdown report for --summary: one line per step, then the table.
report() { [[ -z "$summary" ]] || printf '%s\n' "$@" >>"$summary"; }
current=""
reported=false
fail() {
  echo "smoke.sh: FAIL: $*" >&2
  report "- :x: ${current}: $*"
  reported=true
  exit 1
}
# A command that stops the script under `set -e` is reported too.
finish() {
  local rc=$?
  if ((rc != 0)) && ! $reported && [[ -n "$current" ]]; then report "- :x: ${current} (exit $rc)"; fi
  rm -rf "$work"
}
trap finish EXIT
passed() { [[ -z "$current" ]] || report "- :white_check_mark: ${current}"; }
step() {
  passed
  current="$*"
  printf '\n== %s\n' "$*"
}
report "## bty-ci engine smoke (dagger $(dagger version 2>/dev/null | cut -d' ' -f2))" ""

[[ -n "$bty" ]] || bty="$work/bty"
if [[ ! -e "$bty" ]]; then
  step "fetching bty's newest sdist"
  python3 -m pip download -q --no-binary :all: --no-deps -d "$work/sdist" bty-lab
  mkdir -p "$bty"
  tar -xzf "$work"/sdist/bty_lab-*.tar.gz -C "$bty" --strip-components=1
fi
bty=$(cd "$bty" && pwd)
expected_version=$(grep -m1 '^version = ' "$bty/pyproject.toml" | sed 's/version = "\(.*\)"/\1/')

call() { dagger --progress plain -m "$module" call --source "$bty" "$@"; }

step "dagger functions"
functions=$(dagger -m "$module" functions)
for fn in version lint test typecheck flash-integration build-wheel build-ipxe docs all-checks plan workflow test-pxe test-usb-grow test-usb-ventoy; do
  grep -qE "^${fn}[[:space:]]" <<<"$functions" || fail "function $fn is not registered"
done

step "version"
got=$(call version)
[[ "$got" == "$expected_version" ]] || fail "version: got '$got', want '$expected_version'"

step "a source without pyproject.toml names the fix"
mkdir "$work/empty"
if out=$(dagger --progress plain -m "$module" call --source "$work/empty" version 2>&1); then
  fail "version on an empty source succeeded"
fi
grep -q "no pyproject.toml at the root" <<<"$out" || fail "unexpected error: $out"

step "build-wheel"
call build-wheel export --path "$work/dist" >/dev/null
(cd "$work/dist" && sha256sum -c SHA256SUMS) || fail "SHA256SUMS of build-wheel do not verify"
ls "$work/dist/bty_lab-${expected_version}-py3-none-any.whl" "$work/dist/bty_lab-${expected_version}.tar.gz"

step "USB tests refuse bad input, naming the fix"
head -c 1048576 /dev/zero >"$work/not-usbboot.iso"
if out=$(call test-usb-grow --iso "$work/not-usbboot.iso" 2>&1); then
  fail "test-usb-grow on an ISO without BTY_IMAGES succeeded"
fi
grep -q "pass the ISO from build-usbboot-pc" <<<"$out" || fail "unexpected error: $out"
if out=$(call test-usb-ventoy --iso "$work/not-usbboot.iso" --ventoy-checksum 1234 2>&1); then
  fail "test-usb-ventoy with a malformed Ventoy checksum succeeded"
fi
grep -q "is not a sha256: give the 64 hex digits" <<<"$out" || fail "unexpected error: $out"

step "plan and the drop-in workflow"
# Captured first: with pipefail, grep -q closing the pipe early would fail the call.
dispatch_plan=$(call plan --event workflow_dispatch)
grep -q "dagger call build-wheel" <<<"$dispatch_plan" || fail "plan: no build-wheel for a dispatch"
docs_plan=$(call plan --event pull_request --changed-paths docs/index.md)
grep -q "ci-cd.yml does not start" <<<"$docs_plan" || fail "plan: a docs-only pull request should start no ci-cd.yml run"
call workflow --module github.com/safl/bty-ci@main export --path "$work/ci-cd.yml" >/dev/null
grep -q -- "all-checks-bundle export --path" "$work/ci-cd.yml" || fail "workflow: no all-checks-bundle step"

step "build-ipxe"
call build-ipxe export --path "$work/ipxe" >/dev/null
(cd "$work/ipxe" && sha256sum -c "bty-ipxe-x86_64-v${expected_version}.efi.sha256") || fail "build-ipxe's .sha256 does not verify"
if out=$(call --ipxe-source "$work/empty" build-ipxe 2>&1); then
  fail "build-ipxe with a non-iPXE --ipxe-source succeeded"
fi
grep -q "pass the iPXE source tree root (containing src/Makefile)" <<<"$out" || fail "unexpected error: $out"

step "test-pxe refuses an unknown firmware before any container"
if out=$(call test-pxe --firmware coreboot 2>&1); then
  fail "test-pxe with --firmware coreboot succeeded"
fi
grep -q 'unknown firmware "coreboot": use bios (SeaBIOS) or uefi' <<<"$out" || fail "unexpected error: $out"

if ! $quick; then
  step "installed as a toolchain of the bty checkout"
  # As bty would use it: a toolchain of bty's own workspace, whose
  # defaultPath "/" is then bty's git root. A local toolchain must live
  # inside the workspace's git context, so a copy of this module goes there.
  mkdir -p "$bty/$toolchain_dir"
  git -C "$module" ls-files -z | (cd "$module" && tar --null -T - -cf -) | tar -xf - -C "$bty/$toolchain_dir" ||
    fail "could not copy the module into the bty checkout"
  cd "$bty"
  [[ -d .git ]] || git init -q || fail "git init"
  # Neither the toolchain copy nor the dagger.json `dagger init` writes is
  # bty's: keep them out of bty's git state too (a snapshot commit, `git
  # status`), not only out of the checks' source (SOURCE_IGNORE).
  for path in "/$toolchain_dir/" /dagger.json; do
    grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >>.git/info/exclude
  done
  if ! git rev-parse -q --verify HEAD >/dev/null; then
    git add -A || fail "git add"
    git -c user.name=smoke -c user.email=smoke@localhost commit -qm snapshot || fail "git commit"
  fi
  [[ -f dagger.json ]] || dagger init --name bty || fail "dagger init"
  dagger toolchain install "./$toolchain_dir" || fail "dagger toolchain install"
  [[ -z "$(git status --porcelain -- "$toolchain_dir")" ]] || fail "the toolchain copy shows in bty's git status"
  step "dagger check -l lists the checks by their CLI names"
  dagger check -l | tee "$work/checks.txt"
  for name in lint typecheck flash-integration test:py-311 test:py-312 test:py-313 test:py-314; do
    grep -qE "(^|[[:space:]:])${name}([[:space:]]|$)" "$work/checks.txt" || fail "dagger check -l does not list $name"
  done
  if ! $skip_check; then
    step "dagger check"
    dagger --progress plain check || fail "dagger check"
  fi
  step "all-checks"
  # The table is printed on failure too (as the error); report it either way.
  set +e
  call all-checks 2>&1 | tee "$work/table.txt"
  status=${PIPESTATUS[0]}
  set -e
  report "" '```' "$(sed -nE '/check +status +duration/,/checks (passed|failed)/p' "$work/table.txt")" '```' ""
  ((status == 0)) || fail "all-checks failed (table above)"
  grep -q "checks passed" "$work/table.txt" || fail "all-checks printed no summary"
  step "all-checks as Markdown (the job summary)"
  call all-checks --format markdown --fail-on-error=false >"$work/report.md"
  [[ $(tail -n 1 "$work/report.md") == "<!-- bty-ci-report: passed -->" ]] || fail "Markdown report does not end with the passed marker"
fi
passed
echo "engine smoke: all passed"
