/** Prints the Debian packages the payload tier needs (from src/config.ts), one per line. */
import { APT, IPXE } from "../../src/config.js";

// Host-only extras: bubblewrap (see test/payload/host.ts), git for pre-commit,
// util-linux/fdisk for loop-device tests, venv/pip for the uv venv and
// `pip download` of bty's sdist; mmdebstrap and Debian's archive keys for
// the Debian chroot of a leg the host has no Python for (3.14: forky).
const HOST = [
  "bubblewrap", "git", "util-linux", "fdisk", "gzip", "python3-venv", "python3-pip",
  "mmdebstrap", "debian-archive-keyring",
];

// build-ipxe's payload compiles iPXE (IPXE.apt) and PXE-boots it: QEMU with
// OVMF, dnsmasq on a bridge + tap (iproute2), unshare for a private netns.
const PXE = ["qemu-system-x86", "ovmf", "dnsmasq-base", "iproute2", "util-linux"];

// Container images (test/payload/images.test.ts): Docker Engine (the test
// starts dockerd), a local OCI registry, mmdebstrap for the base-image stand-ins.
const IMAGES = ["docker.io", "docker-registry", "mmdebstrap"];

console.log(
  [...new Set([...HOST, ...IMAGES, ...APT.lint, ...APT.flashIntegration, ...APT.docs, ...IPXE.apt, ...PXE])].join("\n"),
);
