/** Prints the Debian packages the payload tier needs (from src/config.ts), one per line. */
import { APT, IPXE, USB } from "../../src/config.js";

// Host-only extras: bubblewrap (see test/payload/host.ts), git for pre-commit,
// util-linux/fdisk for loop-device tests, venv/pip for the uv venv and
// `pip download` of bty's sdist; mmdebstrap and Debian's archive keys for
// the Debian chroot of a leg the host has no Python for (3.14: forky).
const HOST = [
  "bubblewrap", "git", "util-linux", "fdisk", "gzip", "python3-venv", "python3-pip",
  "mmdebstrap", "debian-archive-keyring",
];
// The USB payload's test ISO (test/payload/usb-mimic/make-iso.sh): a guest
// made of busybox and dropbear, packed with xorriso/isolinux.
const USB_MIMIC = ["busybox-static", "dropbear-bin", "xorriso", "isolinux", "syslinux-common", "dosfstools", "cpio", "openssl"];

// build-ipxe's payload compiles iPXE (IPXE.apt) and PXE-boots it: QEMU with
// OVMF, dnsmasq on a bridge + tap (iproute2), unshare for a private netns.
// test-pxe's payload adds SeaBIOS and Debian's stock undionly.kpxe (ipxe),
// qemu-img, and busybox-static + cpio + squashfs-tools for its stand-in trio
// (setpriv: util-linux).
const PXE = [
  "qemu-system-x86", "ovmf", "dnsmasq-base", "iproute2", "util-linux",
  "seabios", "ipxe", "qemu-utils", "busybox-static", "cpio", "squashfs-tools",
];

// Media payload (test/payload/media.test.ts): live-build's helpers, the
// verifiers' tools, a synthetic hybrid ISO, QEMU for the boot. live-build
// and debootstrap themselves come from trixie: .ci/run runs
// ci/install-live-build.sh (bookworm's live-build is too old).
const MEDIA_HOST = [
  "squashfs-tools", "xorriso", "isolinux", "dosfstools", "exfatprogs", "cpio", "zstd", "xz-utils",
  "qemu-system-x86", "distro-info", "debian-archive-keyring",
];

// Container images (test/payload/images.test.ts): Docker Engine (the test
// starts dockerd), a local OCI registry, mmdebstrap for the base-image stand-ins.
const IMAGES = ["docker.io", "docker-registry", "mmdebstrap"];

// Release (test/payload/release-*.test.ts): real files of each asset kind
// (Debian's iPXE .efi/.lkrn, cpio initrds, mksquashfs, xorriso ISOs), curl
// to wait for the local package index.
const RELEASE_ASSETS = ["ipxe", "cpio", "squashfs-tools", "xorriso", "curl"];

// Deploy integration (test/payload/deploy.test.ts): the job's own podman
// (APT.deployIntegration) runs bty's compose stack in a private netns.

// build-usbboot-rpi (test/payload/rpi.test.ts, and the engine tier's
// build): its container's packages (APT.rpi), arm64 through qemu-user binfmt
// (.ci/run registers the handler), arch-test for mmdebstrap's arm64 look-alike.
const RPI_HOST = ["qemu-user-static", "binfmt-support", "arch-test"];

// The run report's gantt chart (test/payload/gantt.test.ts), rendered by the
// mermaid package in a headless browser.
const REPORT = ["chromium"];

console.log(
  [...new Set([...HOST, ...IMAGES, ...MEDIA_HOST, ...APT.lint, ...APT.flashIntegration, ...APT.deployIntegration, ...APT.rpi, ...RPI_HOST, ...APT.docs, ...IPXE.apt, ...PXE, ...USB.apt, ...USB_MIMIC, ...RELEASE_ASSETS, ...REPORT])].join("\n"),
);
