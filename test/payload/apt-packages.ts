/** Prints the Debian packages the payload tier needs (from src/config.ts), one per line. */
import { APT } from "../../src/config.js";

// Host-only extras: bubblewrap (see test/payload/host.ts), git for pre-commit,
// util-linux/fdisk for loop-device tests, venv/pip for the uv venv and
// `pip download` of bty's sdist.
const HOST = ["bubblewrap", "git", "util-linux", "fdisk", "gzip", "python3-venv", "python3-pip"];

// Media payload (test/payload/media.test.ts): live-build's helpers, the
// verifiers' tools, a synthetic hybrid ISO, QEMU for the boot. live-build
// and debootstrap themselves come from trixie: .ci/run runs
// ci/install-live-build.sh (bookworm's live-build is too old).
const MEDIA_HOST = [
  "squashfs-tools", "xorriso", "isolinux", "dosfstools", "exfatprogs", "cpio", "zstd", "xz-utils",
  "qemu-system-x86", "distro-info", "debian-archive-keyring",
];

console.log([...new Set([...HOST, ...MEDIA_HOST, ...APT.lint, ...APT.flashIntegration, ...APT.docs])].join("\n"));
