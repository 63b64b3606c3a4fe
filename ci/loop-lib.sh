# shellcheck shell=bash
# Shared by ci/loop-shims/*: keep a container's private /dev in step with the
# kernel's loop devices and partitions, for the devices this run attached.
#
# A privileged container's /dev is a tmpfs holding the loop nodes that
# existed when it started: nothing creates /dev/loopN for a device the
# kernel adds later, nor /dev/loopNpM for partitions, nor by-label links.
# BTY_CI_LOOP_STATE (set by ci/flash-env.sh) lists the devices this run
# attached; only those are touched, so jobs sharing a host stay apart.

LOOP_SYSTEM_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Path of the real tool NAME (never a shim: shims are not on the system PATH).
loop_real_tool() {
  PATH=$LOOP_SYSTEM_PATH command -v "$1" || { echo "$1: not installed" >&2; return 127; }
}

# Create (or fix) the block node /dev/NAME from sysfs; no-op when sysfs lacks NAME.
loop_ensure_node() {
  local name=${1##*/} sys=""
  if [[ -e /sys/class/block/$name/dev ]]; then sys=/sys/class/block/$name; else return 0; fi
  local major minor
  IFS=: read -r major minor <"$sys/dev"
  if [[ -b /dev/$name ]] && [[ "$(stat -c '%t:%T' "/dev/$name")" == "$(printf '%x:%x' "$major" "$minor")" ]]; then
    return 0
  fi
  rm -f "/dev/$name"
  mknod -m 0660 "/dev/$name" b "$major" "$minor" || { echo "loop-shims: mknod /dev/$name failed" >&2; return 1; }
}

# Remember DEV as attached by this run.
loop_track() {
  [[ -n "${BTY_CI_LOOP_STATE:-}" ]] && echo "$1" >>"$BTY_CI_LOOP_STATE"
  return 0
}

# Devices to keep in sync: this run's, or every loop device when run standalone.
loop_devices() {
  if [[ -n "${BTY_CI_LOOP_STATE:-}" ]]; then
    [[ -s "$BTY_CI_LOOP_STATE" ]] && sort -u "$BTY_CI_LOOP_STATE"
  else
    local sys
    for sys in /sys/block/loop*; do [[ -e "$sys" ]] && echo "/dev/${sys##*/}"; done
  fi
  return 0
}

# Partition nodes of DEV: drop the ones the kernel no longer has, create the rest.
loop_sync_partitions() {
  local name=${1##*/} node part
  for node in /dev/"$name"p*; do
    [[ -b "$node" ]] || continue
    [[ -e "/sys/block/$name/${node##*/}" ]] || rm -f "$node"
  done
  for part in /sys/block/"$name"/"$name"p*; do
    [[ -e "$part/dev" ]] && { loop_ensure_node "${part##*/}" || return 1; }
  done
  return 0
}

# /dev/disk/by-label links for the partitions of the given devices (others' links untouched).
loop_sync_labels() {
  local dev link target node label
  mkdir -p /dev/disk/by-label
  for link in /dev/disk/by-label/*; do
    [[ -L "$link" ]] || continue
    target=$(readlink "$link")
    for dev in "$@"; do
      if [[ "${target##*/}" == "${dev##*/}"p* ]]; then
        # Ours: keep only while it still names that partition's label.
        [[ -b "$link" ]] && [[ "$(blkid -p -s LABEL -o value "$link" 2>/dev/null)" == "${link##*/}" ]] || rm -f "$link"
      fi
    done
  done
  for dev in "$@"; do
    for node in "$dev"p*; do
      [[ -b "$node" ]] || continue
      label=$(blkid -p -s LABEL -o value "$node" 2>/dev/null) || continue
      [[ -n "$label" ]] && ln -sfn "../../${node#/dev/}" "/dev/disk/by-label/$label"
    done
  done
  return 0
}

# Partition nodes and labels for every device of loop_devices.
loop_sync_all() {
  local devs dev
  mapfile -t devs < <(loop_devices)
  for dev in "${devs[@]}"; do loop_sync_partitions "$dev" || return 1; done
  ((${#devs[@]} == 0)) || loop_sync_labels "${devs[@]}"
}
