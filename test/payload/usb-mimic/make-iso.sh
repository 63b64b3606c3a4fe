#!/usr/bin/env bash
# Test fixture, NOT bty: a small hybrid ISO shaped like live-build's
# (isolinux, ISO 9660 type-0 p1, EFI p2) whose guest mimics only the surface
# bty's USB tests look at: a `login:` on the serial console, SSH as root/bty,
# a BTY_IMAGES grow on first boot that leaves `.bty-grown`, `image_root:` on
# tty1, and `systemctl is-active`/`poweroff` for the services it ran. Debian's
# kernel, busybox, dropbear and the host's sfdisk/mkfs.exfat make it; the
# payload test then gives it BTY_IMAGES with bty's own usb_iso_build code.
set -euo pipefail

usage() {
  cat <<'TXT'
usage: make-iso.sh --kernel-root DIR --out ISO

  --kernel-root DIR  an unpacked linux-image-*-amd64 .deb (boot/ and lib/modules/)
  --out ISO          the hybrid ISO to write (no BTY_IMAGES yet)
exit codes: 0 made, 1 failed, 2 usage error
TXT
}
kroot="" out=""
while (($#)); do
  case "$1" in
    --kernel-root) kroot=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[[ -n "$kroot" && -n "$out" ]] || { usage >&2; exit 2; }
vmlinuz=$(ls "$kroot"/boot/vmlinuz-*)
kver=${vmlinuz##*/vmlinuz-}
mods="$kroot/lib/modules/$kver"
# A .deb carries no modules.dep (its postinst runs depmod).
[[ -f "$mods/modules.dep" ]] || busybox depmod -b "$kroot" "$kver"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/initrd"
mkdir -p "$root"/{bin,sbin,etc/dropbear,proc,sys,dev,run,tmp,root,mnt,var/lib/bty/images,lib/modules/"$kver"}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
done

# Dynamic binaries with the libraries they load.
copy_bin() {
  local bin=$1 lib
  cp "$bin" "$root/bin/"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
copy_bin /usr/sbin/dropbear
copy_bin /sbin/sfdisk
copy_bin /sbin/mkfs.exfat

# Kernel modules for the IDE disk, virtio-net and exFAT, with their dependencies.
declare -A want=()
resolve() {
  local m=$1 line dep
  [[ -n "${want[$m]:-}" ]] && return 0
  want[$m]=1
  line=$(grep -E "(^|/)${m}\.ko:" "$mods/modules.dep")
  for dep in ${line#*:}; do resolve "$(basename "$dep" .ko)"; done
}
for m in ata_piix sd_mod virtio_net virtio_pci exfat; do resolve "$m"; done
: >"$root/lib/modules/$kver/modules.dep"
for m in "${!want[@]}"; do
  line=$(grep -E "(^|/)${m}\.ko:" "$mods/modules.dep")
  path=${line%%:*}
  mkdir -p "$root/lib/modules/$kver/$(dirname "$path")"
  cp "$mods/$path" "$root/lib/modules/$kver/$path"
  echo "$line" >>"$root/lib/modules/$kver/modules.dep"
done

echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo "root:$(openssl passwd -6 bty):19000:0:99999:7:::" >"$root/etc/shadow"
chmod 600 "$root/etc/shadow"
echo /bin/sh >"$root/etc/shells"
cat >"$root/etc/inittab" <<'TXT'
::sysinit:/etc/rc
ttyS0::respawn:/bin/getty -L 115200 ttyS0 vt100
TXT
cat >"$root/bin/systemctl" <<'TXT'
#!/bin/sh
# The mimic's stand-in: services are the files /etc/rc writes under /run/units.
case "$1" in
  is-active) shift; for u in "$@"; do [ -e "/run/units/$u" ] || { echo inactive; exit 3; }; done; echo active ;;
  poweroff) sync; poweroff -f ;;
  *) echo "mimic systemctl: $* not supported" >&2; exit 1 ;;
esac
TXT
chmod +x "$root/bin/systemctl"
cat >"$root/etc/rc" <<'TXT'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts; mount -t devpts devpts /dev/pts; mount -t tmpfs run /run; mount -t tmpfs tmp /tmp
mkdir -p /run/units
for m in ata_piix sd_mod virtio_pci virtio_net exfat; do modprobe "$m"; done
ip link set lo up; ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
dropbear -R -p 22 && touch /run/units/dropbear.service
i=0; while [ ! -b /dev/sda ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done
# Grow: the BTY_IMAGES partition to the end of the disk, a new exFAT, the sentinel.
# (Debian's static busybox has no blkid: the mimic knows bty's layout, p3.)
part=/dev/sda3
if [ -b "$part" ]; then
  n=${part#/dev/sda}
  echo ', +' | sfdisk --no-reread --force -N "$n" /dev/sda >>/run/bty-usb-grow.status 2>&1
  blockdev --rereadpt /dev/sda; sleep 1
  mkfs.exfat -L BTY_IMAGES "$part" >>/run/bty-usb-grow.status 2>&1
  mount -t exfat "$part" /mnt && touch /mnt/.bty-grown && umount /mnt
  echo "grown $part" >>/run/bty-usb-grow.status
  touch /run/units/bty-usb-grow.service
fi
printf 'bty (mimic)\nimage_root: /var/lib/bty/images\n' >/dev/tty1 && touch /run/units/bty-on-tty1.service
TXT
chmod +x "$root/etc/rc"
ln -s bin/busybox "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

iso_root="$work/iso"
mkdir -p "$iso_root/isolinux" "$iso_root/live"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso_root/isolinux/"
cp "$vmlinuz" "$iso_root/live/vmlinuz"
cp "$work/initrd.gz" "$iso_root/live/initrd.gz"
cat >"$iso_root/isolinux/isolinux.cfg" <<'TXT'
default live
prompt 0
timeout 0
label live
  kernel /live/vmlinuz
  append initrd=/live/initrd.gz console=ttyS0 rdinit=/init loglevel=4
TXT
mkfs.vfat -C "$work/efi.img" 2048 >/dev/null
xorriso -as mkisofs -quiet -V BTY -iso_mbr_part_type 0x00 -partition_offset 16 \
  -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -c isolinux/boot.cat -b isolinux/isolinux.bin \
  -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot \
  -e --interval:appended_partition_2:all:: -no-emul-boot \
  -append_partition 2 0xef "$work/efi.img" -o "$out" "$iso_root"
echo "make-iso.sh: $out ($(stat -c %s "$out") B, kernel $kver)"
