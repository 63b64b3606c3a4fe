#!/usr/bin/env bash
# Engine tier: drive the real module through a real Dagger engine.
# Runs in this repository's GitHub Actions workflow; it cannot run where
# bty-ci is developed (no engine can be downloaded there).
set -euo pipefail

usage() {
  cat <<'TXT'
usage: test/engine/smoke.sh [--bty DIR] [--quick]

Smoke-tests bty-ci with the `dagger` CLI (must be on PATH, v0.21.8):
  1. `dagger functions` lists every job;
  2. `version` reads bty's pyproject.toml, and a source without one fails
     with the message that names the fix;
  3. `build-wheel` exports wheel + sdist whose SHA256SUMS verify;
  4. `build-ipxe` exports the iPXE binary with a verifying .sha256, and an
     `--ipxe-source` without src/Makefile fails naming the fix;
  5. installed as a toolchain of the bty checkout, `dagger check` runs every
     check; then `call --source <bty> all-checks` prints its table (both
     skipped with --quick).

  --bty DIR   a bty checkout (default: bty's newest sdist, fetched with pip)
  --quick     only steps 1-4
  -h, --help  this text

exit codes: 0 all passed, 1 a smoke step failed, 2 usage error
TXT
}

bty=""
quick=false
while (($#)); do
  case "$1" in
    --bty) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; bty="$2"; shift 2 ;;
    --quick) quick=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "smoke.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

command -v dagger >/dev/null || { echo "smoke.sh: dagger CLI not on PATH" >&2; exit 2; }
module=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "smoke.sh: FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

if [[ -z "$bty" ]]; then
  step "fetching bty's newest sdist"
  python3 -m pip download -q --no-binary :all: --no-deps -d "$work/sdist" bty-lab
  mkdir "$work/bty"
  tar -xzf "$work"/sdist/bty_lab-*.tar.gz -C "$work/bty" --strip-components=1
  bty="$work/bty"
fi
expected_version=$(grep -m1 '^version = ' "$bty/pyproject.toml" | sed 's/version = "\(.*\)"/\1/')

call() { dagger --progress plain -m "$module" call --source "$bty" "$@"; }

step "dagger functions"
functions=$(dagger -m "$module" functions)
for fn in version lint test typecheck flash-integration build-wheel build-ipxe docs all-checks; do
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

step "build-ipxe"
call build-ipxe export --path "$work/ipxe" >/dev/null
(cd "$work/ipxe" && sha256sum -c "bty-ipxe-x86_64-v${expected_version}.efi.sha256") || fail "build-ipxe's .sha256 does not verify"
if out=$(call build-ipxe --ipxe-source "$work/empty" 2>&1); then
  fail "build-ipxe with a non-iPXE --ipxe-source succeeded"
fi
grep -q "pass the iPXE source tree root (containing src/Makefile)" <<<"$out" || fail "unexpected error: $out"

if ! $quick; then
  step "installed as a toolchain: dagger check"
  # As bty would use it: a toolchain of bty's own workspace, whose
  # defaultPath "/" is then bty's git root. A local toolchain must live
  # inside the workspace's git context, so a copy of this module goes there.
  mkdir -p "$bty/.bty-ci"
  git -C "$module" ls-files -z | (cd "$module" && tar --null -T - -cf -) | tar -xf - -C "$bty/.bty-ci" ||
    fail "could not copy the module into the bty checkout"
  cd "$bty"
  if [[ ! -d .git ]]; then
    git init -q || fail "git init"
    git add -A || fail "git add"
    git -c user.name=smoke -c user.email=smoke@localhost commit -qm snapshot || fail "git commit"
  fi
  [[ -f dagger.json ]] || dagger init --name bty || fail "dagger init"
  dagger toolchain install ./.bty-ci || fail "dagger toolchain install"
  dagger --progress plain check || fail "dagger check"
  step "all-checks"
  call all-checks | tee "$work/table.txt"
  grep -q "checks passed" "$work/table.txt" || fail "all-checks printed no summary"
fi
echo "engine smoke: all passed"
