#!/usr/bin/env bash
# quadlet-run.sh's job, run by systemd (bty-ci-job.service) inside the
# namespace quadlet-boot.sh made: start the registry and push the images
# into it, set podman up for this machine, run the command, record what
# systemd and podman did with the Quadlet units meanwhile, write the
# command's status, and stop systemd (`systemctl exit STATUS`).
set -euo pipefail

usage() {
  cat <<'TXT'
usage: quadlet-job.sh --job DIR --bundle DIR

Not for direct use: quadlet-run.sh's unit runs it inside its namespace.
--job holds argv, env, images, services (NUL-separated), workdir and
timeout; --bundle receives command.log, status (the command's exit status)
or error (why the environment could not be set up), and the record:
units/, systemctl/, journal/, podman-ps.txt, journal.log, timings.txt.

exit codes: 0 the command ran (its status is in the bundle); 2 usage
error; 3 the environment could not be set up
TXT
}

job="" bundle=""
while (($#)); do
  case "$1" in
    --job|--bundle)
      [[ $# -ge 2 ]] || { echo "quadlet-job.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in --job) job="$2" ;; --bundle) bundle="$2" ;; esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quadlet-job.sh: unexpected $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$job" && -n "$bundle" ]] || { usage >&2; exit 2; }

LOG="$bundle/command.log"
REGISTRY=127.0.0.1:5000
QUADLET_DIR=/etc/containers/systemd
t0=$SECONDS
say() { echo "quadlet-job.sh: [$((SECONDS - t0))s] $*" | tee -a "$LOG" >&2; }
timing() { printf '%s %s\n' "$1" "$2" >>"$bundle/timings.txt"; }
finish() {
  # Stop systemd; its exit status is the command's (the bundle says so too).
  systemctl --no-block exit "$1" || systemctl --no-block poweroff || true
}
fail() {
  say "environment: $*"
  printf '%s\n' "$*" >"$bundle/error"
  collect
  finish 3
  exit 3
}

# Whatever stops this script, systemd must stop too, and the bundle say why.
on_exit() {
  local rc=$?
  [[ ! -s "$bundle/status" && ! -s "$bundle/error" ]] || return 0
  printf 'quadlet-job.sh ended unexpectedly (status %s); see command.log and journal.log\n' "$rc" >"$bundle/error"
  collect || true
  finish 3
}
trap on_exit EXIT

# ---- the record -----------------------------------------------------------------
mkdir -p "$bundle/units" "$bundle/systemctl" "$bundle/journal"
declare -A last_state=()
mapfile -d '' extra_services <"$job/services"
# The registry's log shows who pulled what (skopeo pushed, podman pulled).
extra_services+=(docker-registry.service)

# The services to record: X.service for each X.container seen, and --service's.
seen_services() {
  local f
  for f in "$bundle"/units/*.container; do
    [[ -e "$f" ]] && basename "${f%.container}.service"
  done
  for f in "${extra_services[@]}"; do echo "$f"; done
}

# Copy new or changed Quadlet files and the services generated from them.
snapshot_units() {
  local f svc
  for f in "$QUADLET_DIR"/*.container; do
    [[ -e "$f" ]] || continue
    cmp -s "$f" "$bundle/units/${f##*/}" || cp "$f" "$bundle/units/"
    svc="$(basename "${f%.container}").service"
    [[ -e "/run/systemd/generator/$svc" ]] || continue
    cmp -s "/run/systemd/generator/$svc" "$bundle/units/$svc" || cp "/run/systemd/generator/$svc" "$bundle/units/"
  done
}

# One look: the units; `systemctl status` of each service whose state
# changed; `podman ps` when it changed.
snapshot() {
  local svc state ps
  snapshot_units
  while read -r svc; do
    [[ -n "$svc" ]] || continue
    state=$(systemctl show -p LoadState -p ActiveState -p SubState -p NRestarts "$svc" 2>/dev/null | tr '\n' ' ')
    [[ "${last_state[$svc]:-}" != "$state" ]] || continue
    last_state[$svc]=$state
    { echo "===== $(date -u +%T) $state"; systemctl status --no-pager -l "$svc" 2>&1 || true; echo; } >>"$bundle/systemctl/$svc.txt"
  done < <(seen_services | sort -u)
  ps=$(podman ps --all --format '{{.Names}} {{.Image}} {{.Status}}' 2>&1 || true)
  if [[ "$ps" != "${last_state[podman-ps]:-}" ]]; then
    last_state[podman-ps]=$ps
    printf '===== %s\n%s\n\n' "$(date -u +%T)" "$ps" >>"$bundle/podman-ps.txt"
  fi
}

collect() {
  local svc
  snapshot_units || true
  while read -r svc; do
    [[ -n "$svc" ]] || continue
    { echo "===== $(date -u +%T) at the end"; systemctl status --no-pager -l "$svc" 2>&1 || true; } >>"$bundle/systemctl/$svc.txt"
    journalctl --no-pager -o short-monotonic -u "$svc" >"$bundle/journal/$svc.log" 2>&1 || true
  done < <(seen_services | sort -u)
  { echo "===== $(date -u +%T) at the end"; podman ps --all 2>&1 || true; } >>"$bundle/podman-ps.txt"
  podman images >"$bundle/podman-images.txt" 2>&1 || true
  journalctl --no-pager -o short-monotonic -b >"$bundle/journal.log" 2>&1 || true
}

# ---- the system is up -------------------------------------------------------------
say "systemd $(systemctl --version | awk 'NR == 1 { print $2 }'), $(podman --version)"
state=$(timeout 120 systemctl is-system-running --wait 2>&1) || true
say "system: $state"
[[ "$state" == running || "$state" == degraded ]] || fail "systemd did not finish starting (is-system-running: $state)"
if [[ "$state" == degraded ]]; then
  systemctl --failed --no-pager --plain 2>&1 | tee -a "$LOG" >&2 || true
fi
timing system-running "$SECONDS"

# ---- podman, as this machine allows --------------------------------------------------
# runc: crun refuses hosts whose cgroups are mixed v1 and v2. No pids limit:
# the pids controller may not be delegated to this namespace. Without
# CAP_SYS_RESOURCE (bit 24), no container may raise a limit past ours.
cap_eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
ulimits=""
if (((16#$cap_eff >> 24 & 1) == 0)); then
  nofile=$(ulimit -Hn)
  ulimits="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=1024:1024\"]"
fi
mkdir -p /etc/containers/containers.conf.d
cat >/etc/containers/containers.conf.d/50-bty-ci.conf <<CONF
# bty-ci quadlet-job.sh
[containers]
pids_limit = 0
$ulimits

[engine]
runtime = "runc"
CONF
podman info --format '{{.Host.CgroupManager}} cgroups {{.Host.CgroupsVersion}}, runtime {{.Host.OCIRuntime.Name}}' 2>&1 | tee -a "$LOG" >&2 \
  || fail "podman info fails here (see command.log)"

# ---- the registry and its images ---------------------------------------------------
step=$SECONDS
systemctl start docker-registry.service || fail "docker-registry.service did not start"
for _ in $(seq 60); do
  curl -fsS -o /dev/null "http://$REGISTRY/v2/" && break
  sleep 0.5
done
curl -fsS -o /dev/null "http://$REGISTRY/v2/" || fail "the registry does not answer on $REGISTRY (journalctl -u docker-registry in journal.log)"
mapfile -d '' images <"$job/images"
for ((i = 0; i < ${#images[@]}; i += 2)); do
  ref=${images[i]} tarball=${images[i + 1]}
  # docker save writes manifest.json (and, since Docker 25, an OCI layout too).
  if tar -tf "$tarball" manifest.json >/dev/null 2>&1; then transport=docker-archive; else transport=oci-archive; fi
  skopeo copy --quiet --dest-tls-verify=false "$transport:$tarball" "docker://$REGISTRY/$ref" >>"$LOG" 2>&1 \
    || fail "skopeo copy of $ref ($transport) into the registry failed (see command.log)"
  say "registry: $ref"
done
timing registry $((SECONDS - step))

# ---- the command --------------------------------------------------------------------
mapfile -d '' argv <"$job/argv"
mapfile -d '' envs <"$job/env"
workdir=$(cat "$job/workdir")
limit=$(cat "$job/timeout")
(while sleep 2; do snapshot; done) >>"$bundle/recorder.log" 2>&1 &
recorder=$!
say "running: ${argv[*]} (in $workdir, at most $limit s)"
step=$SECONDS
status=0
(cd "$workdir" && exec timeout --kill-after=30 "$limit" env "${envs[@]}" "${argv[@]}") </dev/null >>"$LOG" 2>&1 || status=$?
kill "$recorder" 2>/dev/null || true
wait "$recorder" 2>/dev/null || true
timing command $((SECONDS - step))
((status != 124)) || say "stopped the command after $limit s"
say "command exited $status"

step=$SECONDS
collect
timing collect $((SECONDS - step))
printf '%s\n' "$status" >"$bundle/status"
finish "$status"
