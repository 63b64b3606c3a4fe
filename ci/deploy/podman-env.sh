#!/usr/bin/env bash
# Run a command (bty's deploy integration tests) with a rootful podman of its
# own: storage and run state under one directory, the images bty's compose
# file names loaded from tarballs and tagged as it names them, and the
# settings a privileged container (or this machine's sandbox) needs where
# there is no systemd: cgroupfs, file events and logs. Nothing is pulled:
# the stack runs on exactly the images given. Every container and image of
# this podman is removed afterwards.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: podman-env.sh --state DIR [--image REF=TARBALL]... [--timeout SECONDS] -- COMMAND [ARG...]

  --state DIR            podman's storage, run state and config (created;
                         emptied afterwards); a tmpfs or a non-overlay file
                         system, as overlay storage cannot sit on overlayfs
  --image REF=TARBALL    `podman load` TARBALL (docker or OCI archive) and tag
                         its image as REF (e.g. ghcr.io/safl/bty-web:latest);
                         repeatable
  --timeout SECONDS      stop COMMAND after SECONDS (default 1800): a
                         container that never starts makes podman-compose's
                         `up` wait for it forever

Runs COMMAND with CONTAINERS_CONF and CONTAINERS_STORAGE_CONF pointing at
DIR and exits with its status. Containers run with runc: crun refuses a
host whose cgroups are mixed v1 and v2 ("hybrid"), as GitHub's runners'
are not but many container hosts are. Where the process may not raise resource
limits (no CAP_SYS_RESOURCE, e.g. a container in a container), containers
get this process's open-files limit and 1024 processes, as podman's
defaults would otherwise fail every start.

exit codes: COMMAND's status; 2 usage error; 3 podman cannot be set up;
124 COMMAND timed out
TXT
}

state="" images=() timeout=1800
while (($#)); do
  case "$1" in
    --state) [[ $# -ge 2 ]] || { usage >&2; exit 2; }; state="$2"; shift 2 ;;
    --timeout) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "podman-env.sh: --timeout needs a number of seconds" >&2; exit 2; }; timeout="$2"; shift 2 ;;
    --image) [[ $# -ge 2 && "$2" == *=* ]] || { echo "podman-env.sh: --image needs REF=TARBALL" >&2; exit 2; }; images+=("$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "podman-env.sh: unexpected $1 (put the command after --)" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$state" ]] || { echo "podman-env.sh: --state DIR is required" >&2; usage >&2; exit 2; }
(($#)) || { echo "podman-env.sh: no command given" >&2; usage >&2; exit 2; }

say() { echo "podman-env.sh: $*" >&2; }
command -v podman >/dev/null || { say "no podman on PATH (apt-get install podman)"; exit 3; }

mkdir -p "$state/storage" "$state/run" "$state/tmp"
state=$(cd "$state" && pwd)

# CAP_SYS_RESOURCE is bit 24 of the effective set.
cap_eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
ulimits=""
if (( (16#$cap_eff >> 24 & 1) == 0 )); then
  nofile=$(ulimit -Hn)
  ulimits="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=1024:1024\"]"
fi

cat >"$state/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$state/storage"
runroot = "$state/run"
CONF
cat >"$state/containers.conf" <<CONF
[containers]
log_driver = "k8s-file"
$ulimits

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$state/events.log"
tmp_dir = "$state/tmp"

[network]
network_backend = "netavark"
CONF
export CONTAINERS_CONF="$state/containers.conf" CONTAINERS_STORAGE_CONF="$state/storage.conf"

cleanup() {
  podman rm --all --force --time 5 >/dev/null 2>&1 || true
  podman system reset --force >/dev/null 2>&1 || true
  rm -rf "$state/storage" "$state/run" "$state/tmp"
}
trap cleanup EXIT

for image in "${images[@]}"; do
  ref="${image%%=*}" tarball="${image#*=}"
  [[ -r "$tarball" ]] || { say "cannot read image tarball $tarball (for $ref)"; exit 3; }
  loaded=$(podman load --quiet --input "$tarball") || { say "podman load $tarball failed"; exit 3; }
  # "Loaded image: <ref>" or "Loaded image(s): <ref>"; the last line names the image.
  id=$(tail -n1 <<<"$loaded" | sed -E 's/^Loaded image(\(s\))?: //')
  podman tag "$id" "$ref" || { say "podman tag $id $ref failed"; exit 3; }
  say "$ref <- $(basename "$tarball")"
done

podman version --format 'podman {{.Client.Version}}' >&2 || { say "podman does not run here (see its error above)"; exit 3; }
status=0
timeout --kill-after=30 "$timeout" "$@" || status=$?
if ((status == 124)); then
  say "stopped $1 after $timeout s; the containers then:"
  podman ps --all >&2 || true
fi
exit "$status"
