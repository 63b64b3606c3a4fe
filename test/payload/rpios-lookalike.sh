#!/usr/bin/env bash
# A LOOK-ALIKE of Raspberry Pi OS Lite (arm64) for bty-ci's payload tests.
# It is NOT Raspberry Pi OS: no Raspberry Pi kernel, firmware, bootloader or
# archive, and it does not boot. It is a plain Debian arm64 system (bookworm,
# the base of the Raspberry Pi OS releases bty was written against) in the
# same disk shape as the real image, with what bty's usbboot-rpi build relies
# on: an MBR with a FAT32 p1 ("bootfs", mounted at /boot/firmware) and an
# ext4 p2 ("rootfs"), systemd, apt, dbus, ssh with baked host keys, python3,
# a non-empty machine-id, and stubs of the two Raspberry Pi units the build
# masks (userconfig.service, cancel-rename.service), enabled as on the real
# image. Its apt sources mirror the real image's layout: Debian's suites in
# /etc/apt/sources.list and a Raspberry Pi archive line in
# /etc/apt/sources.list.d/raspi.list that points at an unreachable .invalid
# host, so an install without a mirror override fails as it would here.
#
# No loop device or mount is used: mkfs.ext4 -d and mkfs.vfat fill partition
# images that are written into the disk image at their offsets.
set -euo pipefail

SUITE=bookworm
# Raspberry Pi OS's layout: p1 starts at 4 MiB; the look-alike's FAT is the
# smaller end of the real one (256 MiB instead of 512) to keep it quick.
P1_START_MIB=4
P1_MIB=256
# What Raspberry Pi OS Lite ships that bty's steps use (the rest is left to
# the build's apt-get install, as on the real image).
PACKAGES=(
  systemd systemd-sysv systemd-timesyncd udev dbus apt ca-certificates
  openssh-server openssh-client python3 passwd curl network-manager
  firmware-realtek usbutils parted dosfstools e2fsprogs
)

usage() {
  cat <<'TXT'
usage: rpios-lookalike.sh OUT.img.xz [--mirror URL]

Builds a Raspberry Pi OS Lite look-alike (NOT Raspberry Pi OS: Debian
bookworm arm64 in the same 2-partition MBR shape, with stubs of the
Raspberry Pi units bty's build masks) and writes it xz-compressed to
OUT.img.xz. Needs root, mmdebstrap, qemu-user-static with binfmt handlers
and arch-test on a non-arm64 host, e2fsprogs, dosfstools, fdisk (sfdisk)
and xz-utils.

  --mirror URL   Debian mirror (default: the first one in this machine's
                 apt sources)

exit codes: 0 written, 1 build failed, 2 usage error, 3 missing prerequisite
TXT
}

die() { echo "rpios-lookalike.sh: $*" >&2; exit "${2:-2}"; }

out="" mirror=""
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --mirror) [[ $# -ge 2 ]] || die "--mirror needs a URL"; mirror=$2; shift 2 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$out" ]] || die "one output path only (got '$out' and '$1')"; out=$1; shift ;;
  esac
done
[[ -n "$out" ]] || { usage >&2; exit 2; }
[[ "$out" == *.img.xz ]] || die "OUT must end in .img.xz (got '$out')"

((EUID == 0)) || die "needs root (mmdebstrap in root mode, device files in the root file system)" 3
for tool in mmdebstrap mkfs.ext4 mkfs.vfat sfdisk xz; do
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install mmdebstrap e2fsprogs dosfstools fdisk xz-utils" 3
done

# The mirror is taken from this machine's apt configuration at run time (as
# ci/media-build.sh does), never written into the repository.
if [[ -z "$mirror" ]]; then
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n "$mirror" ]] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [[ -n "$mirror" ]] || die "no Debian mirror in this system's apt sources: pass --mirror URL"
fi
while [[ "$mirror" == */ ]]; do mirror=${mirror%/}; done

if [[ "$(uname -m)" != aarch64 ]]; then
  # mmdebstrap refuses a foreign architecture without arch-test.
  command -v arch-test >/dev/null || die "arch-test not found (mmdebstrap needs it for arm64 here): apt-get install arch-test" 3
  grep -qsx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
    die "no enabled qemu-aarch64 binfmt handler on this $(uname -m) host: apt-get install qemu-user-static binfmt-support; mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-aarch64" 3
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/rpios-lookalike.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/root"
components="main contrib non-free non-free-firmware"

echo "rpios-lookalike.sh: mmdebstrap $SUITE arm64 from $mirror"
# Check-Valid-Until off: this workplace's mirror may serve Release files past
# their Valid-Until (a clock ahead of it); signatures are still verified.
mmdebstrap --quiet --arch=arm64 --variant=minbase --mode=root \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --components="${components// /,}" \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  "$SUITE" "$root" \
  "deb $mirror $SUITE $components" \
  "deb $mirror $SUITE-updates $components"

echo "rpios-lookalike.sh: Raspberry Pi OS shape"
disk_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
# Raspberry Pi OS's sources: Debian's suites in sources.list, its own archive
# in raspi.list (here an unreachable .invalid host: see the header).
rm -f "$root/etc/apt/sources.list.d/"*
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $SUITE $components
deb $mirror $SUITE-updates $components
EOF
cat >"$root/etc/apt/sources.list.d/raspi.list" <<EOF
# bty-ci look-alike: stands for Raspberry Pi's own archive (unreachable here)
deb http://raspberrypi-archive.invalid/debian/ $SUITE main
EOF
printf '%s\n' "bty-ci look-alike of Raspberry Pi OS Lite (arm64): Debian $SUITE, NOT Raspberry Pi OS" >"$root/etc/rpi-issue"
echo raspberrypi >"$root/etc/hostname"
cat >"$root/etc/fstab" <<EOF
proc            /proc           proc    defaults          0       0
PARTUUID=$disk_id-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=$disk_id-02  /               ext4    defaults,noatime  0       1
EOF
mkdir -p "$root/boot/firmware"
# A baked identity, as the real image has: the build must strip it.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
echo >>"$root/etc/machine-id"
mkdir -p "$root/var/lib/dbus"
ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
# A plain file, as on Raspberry Pi OS (NetworkManager writes it): the build
# binds the host's over it.
: >"$root/etc/resolv.conf"
# Stubs of Raspberry Pi OS's first-boot units (userconf-pi), enabled as there.
for unit in userconfig cancel-rename; do
  cat >"$root/usr/lib/systemd/system/$unit.service" <<EOF
# bty-ci look-alike stub of Raspberry Pi OS's $unit.service (NOT the real unit)
[Unit]
Description=Look-alike stub of Raspberry Pi OS $unit

[Service]
Type=oneshot
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
EOF
  ln -sf "/usr/lib/systemd/system/$unit.service" "$root/etc/systemd/system/multi-user.target.wants/$unit.service"
done
ls "$root"/etc/ssh/ssh_host_*_key >/dev/null 2>&1 || die "mmdebstrap left no ssh host keys in the image" 1
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin

echo "rpios-lookalike.sh: partitions"
# Root: its content plus a quarter and 128 MiB, in whole MiB (the build adds
# bty's 3G on top, as on the real image).
used_mib=$(du -sxm "$root" | cut -f1)
p2_mib=$((used_mib + used_mib / 4 + 128))
p2_start_mib=$((P1_START_MIB + P1_MIB))
# Lowercase, as Raspberry Pi OS labels it (mkfs.vfat warns about that).
mkfs.vfat -F 32 -n bootfs -C "$work/p1.img" $((P1_MIB * 1024)) >/dev/null 2>&1 ||
  die "mkfs.vfat of the boot partition failed" 1
mkfs.ext4 -q -F -L rootfs -d "$root" "$work/p2.img" "${p2_mib}M"
disk="$work/disk.img"
truncate -s "$(((p2_start_mib + p2_mib) * 1024 * 1024))" "$disk"
sfdisk --quiet "$disk" <<EOF
label: dos
label-id: 0x$disk_id
start=$((P1_START_MIB * 2048)), size=$((P1_MIB * 2048)), type=c
start=$((p2_start_mib * 2048)), size=$((p2_mib * 2048)), type=83
EOF
dd if="$work/p1.img" of="$disk" bs=1M seek="$P1_START_MIB" conv=notrunc,sparse status=none
dd if="$work/p2.img" of="$disk" bs=1M seek="$p2_start_mib" conv=notrunc,sparse status=none

echo "rpios-lookalike.sh: xz ($((p2_start_mib + p2_mib)) MiB image)"
mkdir -p "$(dirname "$out")"
xz -T0 -1 -c "$disk" >"$out.partial"
mv "$out.partial" "$out"
echo "rpios-lookalike.sh: wrote $out ($(du -h "$out" | cut -f1))"
