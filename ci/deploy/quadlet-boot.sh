#!/usr/bin/env bash
# quadlet-run.sh's second stage, PID 1 of fresh PID, mount, network, UTS,
# IPC and cgroup namespaces (made by quadlet-run.sh's unshare): mount a
# writable overlay of the root in memory with /proc, /sys, /dev, the cgroup
# hierarchy, the bundle, the image tarballs and the caller's binds; write the
# settings of the registry, podman and the job unit into it; pivot into it
# and exec systemd as PID 1. Nothing here reaches outside the namespaces.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: quadlet-boot.sh --root DIR --spec DIR --bundle DIR --job-program FILE

Not for direct use: quadlet-run.sh runs it as PID 1 of new namespaces
(unshare --pid --fork --mount --net --uts --ipc --cgroup). --spec holds
the job's inputs as quadlet-run.sh writes them; --job-program is
quadlet-job.sh, copied into the root and run by the unit bty-ci-job.service.

exit codes: does not return once systemd runs; 2 usage error; 3 the
namespace could not be set up
TXT
}

root="" spec="" bundle="" job=""
while (($#)); do
  case "$1" in
    --root|--spec|--bundle|--job-program)
      [[ $# -ge 2 ]] || { echo "quadlet-boot.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in --root) root="$2" ;; --spec) spec="$2" ;; --bundle) bundle="$2" ;; --job-program) job="$2" ;; esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "quadlet-boot.sh: unexpected $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "$root" && -n "$spec" && -n "$bundle" && -n "$job" ]] || { usage >&2; exit 2; }

say() { echo "quadlet-boot.sh: $*" >&2; }
fail() { say "$*"; printf '%s\n' "$*" >"$bundle/error"; exit 3; }
trap 'fail "setting up the namespace failed at quadlet-boot.sh line $LINENO (see the error above)"' ERR
(($$ == 1)) || fail "not PID 1 of a new PID namespace (run by quadlet-run.sh)"

mount --make-rprivate / || fail "cannot make the mount namespace private"

# Network: loopback and a LAN-like interface with a default route that goes
# nowhere, so that "the host's address" (bty's HOST_ADDR, podman's
# host.containers.internal) is an address of this namespace, as on a host.
ip link set lo up
# (a veth pair, as not every kernel has the dummy driver)
ip link add uplink type veth peer name uplink-peer || fail "cannot make a veth pair in the network namespace"
ip addr add 192.0.2.2/24 dev uplink
ip link set uplink-peer up
ip link set uplink up
ip route add default via 192.0.2.1 dev uplink
hostname bty-ci-quadlet

# ---- the root: an overlay of --root with its writes in memory ----------------
mem="$spec/mnt"
mkdir -p "$mem"
mount -t tmpfs -o mode=0755 bty-ci-quadlet "$mem"
mkdir "$mem/upper" "$mem/work" "$mem/root"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$mem/upper,workdir=$mem/work" "$mem/root" \
  || fail "cannot mount an overlay of $root (overlayfs missing, or $root itself on a file system overlayfs refuses)"
R="$mem/root"

# /proc of the new PID namespace; its sysctls read-only except the network's
# (its own namespace's), so nothing here can change the host's kernel.
mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
mount --bind "$R/proc/sys/net" "$R/proc/sys/net"
mount --rbind "$R/proc/sys" "$R/proc/sys"
mount -o remount,bind,ro "$R/proc/sys"
if [[ -e "$R/proc/sysrq-trigger" ]]; then
  mount --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
  mount -o remount,bind,ro "$R/proc/sysrq-trigger"
fi

# /sys read-only (udev and binfmt then stay off), the cgroup namespace's
# v2 hierarchy writable for systemd.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup" || fail "cannot mount cgroup2 in the cgroup namespace"

# /dev as a container manager makes it.
mount -t tmpfs -o mode=0755,nosuid,size=64m dev "$R/dev"
for node in null zero full random urandom tty fuse net/tun; do
  [[ -e "/dev/$node" ]] || continue
  mkdir -p "$(dirname "$R/dev/$node")"
  : >"$R/dev/$node"
  mount --bind "/dev/$node" "$R/dev/$node"
done
mkdir "$R/dev/pts" "$R/dev/shm" "$R/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$R/dev/shm"
mount -t mqueue mqueue "$R/dev/mqueue" || true
ln -s /proc/self/fd "$R/dev/fd"
ln -s /proc/self/fd/0 "$R/dev/stdin"
ln -s /proc/self/fd/1 "$R/dev/stdout"
ln -s /proc/self/fd/2 "$R/dev/stderr"
# systemd's console: a file of the bundle.
: >"$bundle/console.log"
: >"$R/dev/console"
mount --bind "$bundle/console.log" "$R/dev/console"

mount -t tmpfs -o mode=0755,nosuid,nodev run "$R/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmp "$R/tmp"
# podman's overlay storage cannot sit on overlayfs.
mkdir -p "$R/var/lib/containers"
mount -t tmpfs -o mode=0700 containers "$R/var/lib/containers"

# ---- the job's inputs ---------------------------------------------------------
J="$R/bty-ci"
mkdir -p "$J/bundle" "$J/images" "$J/job"
mount --bind "$bundle" "$J/bundle"
cp "$spec/argv" "$spec/env" "$spec/services" "$spec/workdir" "$spec/timeout" "$J/job/"
: >"$J/job/images"
i=0
mapfile -d '' images <"$spec/images"
for image in "${images[@]}"; do
  i=$((i + 1))
  : >"$J/images/$i.tar"
  mount --bind "${image#*=}" "$J/images/$i.tar"
  mount -o remount,bind,ro "$J/images/$i.tar"
  printf '%s\0%s\0' "${image%%=*}" "/bty-ci/images/$i.tar" >>"$J/job/images"
done
mapfile -d '' binds <"$spec/binds"
for bind in "${binds[@]}"; do
  src="${bind%%:*}" dst="${bind#*:}"
  [[ "$bind" == *:* ]] || dst="$src"
  [[ "$dst" == /* ]] || fail "--bind destination $dst is not absolute"
  if [[ -d "$src" ]]; then mkdir -p "$R$dst"; else mkdir -p "$(dirname "$R$dst")"; : >"$R$dst"; fi
  mount --bind "$src" "$R$dst"
done

# ---- settings -------------------------------------------------------------------
install -D -m 0755 "$job" "$R/usr/local/lib/bty-ci/quadlet-job.sh"

# The registry: plain HTTP on the namespace's loopback, no auth.
cat >"$R/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML

# Every registry named by an image is mirrored to the local one, under a
# namespace of its own name: ghcr.io/safl/x -> 127.0.0.1:5000/ghcr.io/safl/x.
mkdir -p "$R/etc/containers/registries.conf.d"
{
  echo "# bty-ci quadlet-run.sh: the images come from the registry inside."
  for image in "${images[@]}"; do echo "${image%%/*}"; done | sort -u | while read -r host; do
    printf '\n[[registry]]\nprefix = "%s"\nlocation = "%s"\n\n[[registry.mirror]]\nlocation = "127.0.0.1:5000/%s"\ninsecure = true\n' "$host" "$host" "$host"
  done
} >"$R/etc/containers/registries.conf.d/50-bty-ci-mirror.conf"

# The job unit, started with the system.
cat >"$R/etc/systemd/system/bty-ci-job.service" <<'UNIT'
[Unit]
Description=bty-ci quadlet-run.sh job
After=basic.target network.target dbus.service systemd-journald.service

[Service]
Type=exec
ExecStart=/usr/local/lib/bty-ci/quadlet-job.sh --job /bty-ci/job --bundle /bty-ci/bundle
StandardOutput=journal+console
StandardError=inherit
Environment=HOME=/root LANG=C.UTF-8
UNIT
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf ../bty-ci-job.service "$R/etc/systemd/system/multi-user.target.wants/bty-ci-job.service"
# Loading kernel modules is the host's business, not this namespace's.
ln -sf /dev/null "$R/etc/systemd/system/systemd-modules-load.service"
# The registry is started by the job, with its settings in place.
rm -f "$R/etc/systemd/system/multi-user.target.wants/docker-registry.service"
printf '# no DNS inside bty-ci quadlet-run.sh namespace\n' >"$R/etc/resolv.conf"

# ---- into the root; systemd becomes PID 1 --------------------------------------
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot || fail "pivot_root into the overlay failed"
# systemd reads "container" to know it runs in one; nothing else of this
# process's environment goes in.
exec env -i container=bty-ci PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot . \
  /bin/sh -c 'umount -l /.oldroot && rmdir /.oldroot && exec /lib/systemd/systemd --show-status=yes' \
  </dev/null >/dev/console 2>&1
