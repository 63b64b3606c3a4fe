#!/usr/bin/env bash
# Run a command where systemd is PID 1 and rootful podman runs Quadlet
# units, as on a Debian 13 host: boot systemd in namespaces of its own (PID,
# mount, network, UTS, IPC, cgroup) on an overlay of a Debian trixie root,
# with a local registry serving the given images under the names the
# command pulls (ghcr.io/... is mirrored to it; nothing leaves the network
# namespace). A unit inside runs the command (quadlet-job.sh), records what
# systemd and podman did into the bundle directory, and stops systemd. This
# program waits for that, exits with the command's status, and leaves
# nothing behind: the namespaces, their mounts and every process in them
# end with systemd; the cgroup made for them is removed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'TXT'
usage: quadlet-run.sh --root DIR --bundle DIR [--image REF=TARBALL]...
                      [--bind SRC[:DST]]... [--workdir DIR] [--env NAME=VALUE]...
                      [--service UNIT]... [--timeout SECONDS] -- COMMAND [ARG...]

  --root DIR           a Debian trixie root with systemd, podman, runc,
                       netavark, docker-registry and skopeo (made by
                       quadlet-root.sh; `/` in a container of such an
                       image); used read-only, under a tmpfs overlay
  --bundle DIR         where the run's record goes (created; must be empty):
                       status, command.log, console.log, journal.log,
                       units/ (each Quadlet file and generated service seen),
                       systemctl/ (systemctl status at each change, and at the
                       end), journal/ (journalctl -u of each), podman-ps.txt
  --image REF=TARBALL  serve TARBALL (docker-archive or oci-archive) as REF
                       (e.g. ghcr.io/safl/bty-web:0.65.2) from the registry
                       inside; pulls of REF's registry go to it; repeatable
  --bind SRC[:DST]     bind SRC (read-write) at DST inside (default: SRC)
  --workdir DIR        COMMAND's working directory inside (default: /)
  --env NAME=VALUE     COMMAND's environment, besides systemd's; repeatable
  --service UNIT       also record UNIT (each X.container in
                       /etc/containers/systemd is recorded as X.service)
  --timeout SECONDS    stop COMMAND after SECONDS (default 1800); the whole
                       run is stopped 300 s after that

Needs root with every capability (a privileged container), util-linux and
iproute2 here, and a cgroup v2 hierarchy (/sys/fs/cgroup or, on a hybrid
host, /sys/fs/cgroup/unified). The registry, podman's storage and every
write to the root live in memory: allow about twice the images' size.

exit codes: COMMAND's status; 2 usage error; 3 the environment cannot be
set up (the reason is printed and, when systemd ran, in the bundle);
124 COMMAND timed out
TXT
}

say() { echo "quadlet-run.sh: $*" >&2; }
usage_error() { say "$*"; echo "run quadlet-run.sh --help for usage" >&2; exit 2; }

root="" bundle="" workdir="/" timeout=1800
images=() binds=() envs=() services=()
while (($#)); do
  case "$1" in
    --root|--bundle|--image|--bind|--workdir|--env|--service|--timeout)
      [[ $# -ge 2 ]] || usage_error "$1 needs a value"
      case "$1" in
        --root) root="$2" ;;
        --bundle) bundle="$2" ;;
        --image) [[ "$2" =~ ^[a-z0-9.-]+(:[0-9]+)?/[^=]+=.+ ]] || usage_error "--image needs REGISTRY/NAME:TAG=TARBALL, got $2"; images+=("$2") ;;
        --bind) binds+=("$2") ;;
        --workdir) [[ "$2" == /* ]] || usage_error "--workdir needs an absolute path"; workdir="$2" ;;
        --env) [[ "$2" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || usage_error "--env needs NAME=VALUE, got $2"; envs+=("$2") ;;
        --service) services+=("$2") ;;
        --timeout) [[ "$2" =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout needs a number of seconds"; timeout="$2" ;;
      esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage_error "unexpected $1 (put the command after --)" ;;
  esac
done
[[ -n "$root" ]] || usage_error "--root DIR is required"
[[ -n "$bundle" ]] || usage_error "--bundle DIR is required"
(($#)) || usage_error "no command given (after --)"
if [[ -e "$bundle" ]] && [[ -n "$(ls -A "$bundle")" ]]; then usage_error "bundle directory $bundle is not empty"; fi

# ---- what this machine must offer -------------------------------------------
((EUID == 0)) || { say "needs root (a privileged container): it mounts and makes namespaces"; exit 3; }
for tool in unshare setpriv mount umount pivot_root chroot ip timeout; do
  command -v "$tool" >/dev/null || { say "no $tool on PATH (apt-get install util-linux iproute2 coreutils)"; exit 3; }
done
[[ -d "$root" ]] || { say "--root $root is not a directory (make one with quadlet-root.sh)"; exit 3; }
root=$(cd "$root" && pwd)
for need in lib/systemd/systemd usr/bin/podman usr/sbin/runc usr/bin/docker-registry usr/bin/skopeo usr/lib/systemd/system-generators/podman-system-generator; do
  [[ -e "$root/$need" ]] || { say "$root has no /$need: not a root made by quadlet-root.sh (or an image missing its packages)"; exit 3; }
done
for image in "${images[@]}"; do
  [[ -r "${image#*=}" && -f "${image#*=}" ]] || { say "cannot read image tarball ${image#*=} (for ${image%%=*})"; exit 3; }
done
for bind in "${binds[@]}"; do
  [[ -e "${bind%%:*}" ]] || { say "--bind source ${bind%%:*} does not exist"; exit 3; }
done

own=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
[[ -n "$own" ]] || { say "this kernel has no cgroup v2 hierarchy (no 0:: line in /proc/self/cgroup): systemd 257 needs one"; exit 3; }

# ---- state --------------------------------------------------------------------
mkdir -p "$bundle"
bundle=$(cd "$bundle" && pwd)
spec=$(mktemp -d "${TMPDIR:-/tmp}/bty-ci-quadlet.XXXXXX")
ns_pid="" tail_pid="" timed_out=0 mounted_cgroup2=""

cgroup=""
remove_cgroup() {
  [[ -n "$cgroup" && -d "$cgroup" ]] || return 0
  local try
  for try in $(seq 50); do
    # Deepest first; a cgroup goes once its last process has been reaped.
    find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ -d "$cgroup" ]] || return 0
    [[ $try -lt 50 ]] && sleep 0.2
  done
  say "could not remove cgroup $cgroup (processes left: $(cat "$cgroup/cgroup.procs" 2>/dev/null | tr '\n' ' '))"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Every step below runs, whatever the one before it did: $rc is what exits.
  set +e
  if [[ -n "$ns_pid" ]] && kill -0 "$ns_pid" 2>/dev/null; then
    # unshare's child (systemd, PID 1 of the namespace) gets SIGKILL when
    # unshare dies (--kill-child); the kernel then kills every process in
    # the PID namespace, and the mount namespace goes with the last of them.
    kill -KILL "$ns_pid" 2>/dev/null || true
    wait "$ns_pid" 2>/dev/null || true
  fi
  if [[ -n "$tail_pid" ]]; then kill "$tail_pid" 2>/dev/null || true; wait "$tail_pid" 2>/dev/null || true; fi
  remove_cgroup
  if [[ -n "$mounted_cgroup2" ]] && ! umount "$mounted_cgroup2" && ! umount -l "$mounted_cgroup2"; then
    # Never remove files under a cgroup hierarchy still mounted there.
    say "could not unmount $mounted_cgroup2; leaving $spec"
    exit "$rc"
  fi
  rm -rf --one-file-system "$spec"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# The cgroup v2 hierarchy systemd will own (a child of ours, as its root).
# Where the caller has none mounted (a container on a host with cgroup v1
# controllers, as a Dagger engine's execs on such a host), this program
# mounts one of its own for the run and unmounts it at the end.
unified=""
for dir in /sys/fs/cgroup /sys/fs/cgroup/unified; do
  if [[ "$(stat -fc %T "$dir" 2>/dev/null)" == cgroup2fs ]]; then unified=$dir; break; fi
done
if [[ -z "$unified" ]]; then
  mkdir "$spec/cgroup2"
  mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$spec/cgroup2" \
    || { say "no cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified, and mounting one failed: systemd 257 needs one"; exit 3; }
  unified=$spec/cgroup2 mounted_cgroup2=$unified
fi
cgroup="$unified${own%/}/bty-ci-quadlet-$$"

# The job's inputs, NUL-separated so that any argument survives.
nul_list() { local item; for item in "$@"; do printf '%s\0' "$item"; done; }
nul_list "$@" >"$spec/argv"
nul_list "${envs[@]}" >"$spec/env"
nul_list "${images[@]}" >"$spec/images"
nul_list "${binds[@]}" >"$spec/binds"
nul_list "${services[@]}" >"$spec/services"
printf '%s\n' "$workdir" >"$spec/workdir"
printf '%s\n' "$timeout" >"$spec/timeout"
: >"$bundle/command.log"

mkdir "$cgroup" || { say "cannot make cgroup $cgroup (is $unified writable here?)"; exit 3; }

say "booting systemd on $root (bundle: $bundle)"
start=$SECONDS
(
  echo "$BASHPID" >"$cgroup/cgroup.procs"
  # Should this program be killed outright, unshare gets SIGKILL too
  # (--pdeathsig), and so, through --kill-child, does systemd.
  exec setpriv --pdeathsig KILL -- unshare --pid --fork --kill-child=SIGKILL --mount --propagation private --net --uts --ipc --cgroup \
    -- "$HERE/quadlet-boot.sh" --root "$root" --spec "$spec" --bundle "$bundle" --job-program "$HERE/quadlet-job.sh"
) &
ns_pid=$!
tail -n +1 -F --pid="$ns_pid" "$bundle/command.log" 2>/dev/null &
tail_pid=$!

# The job stops COMMAND at --timeout; this is the last resort if systemd hangs.
deadline=$((timeout + 300))
while kill -0 "$ns_pid" 2>/dev/null; do
  if ((SECONDS - start > deadline)); then
    say "systemd still running $deadline s after boot; killing the namespace"
    timed_out=1
    kill -KILL "$ns_pid" 2>/dev/null || true
    break
  fi
  sleep 1
done
ns_status=0
wait "$ns_pid" || ns_status=$?
ns_pid=""
wait "$tail_pid" 2>/dev/null || true
tail_pid=""
remove_cgroup
say "systemd ended after $((SECONDS - start)) s (unshare status $ns_status)"

if [[ -s "$bundle/error" ]]; then
  say "environment: $(cat "$bundle/error")"
  exit 3
fi
if [[ -s "$bundle/status" ]]; then
  status=$(cat "$bundle/status")
  [[ "$status" =~ ^[0-9]+$ ]] || { say "bundle status is not a number: $status"; exit 3; }
  say "command exited $status"
  exit "$status"
fi
((timed_out == 0)) || exit 124
say "systemd ended without the job's status; its console (bundle/console.log) ends:"
tail -n 30 "$bundle/console.log" >&2 2>/dev/null || true
exit 3
