/** Prints the Debian packages the payload tier needs (from src/config.ts), one per line. */
import { APT } from "../../src/config.js";

// Host-only extras: bubblewrap (see test/payload/host.ts), git for pre-commit,
// util-linux/fdisk for loop-device tests, venv/pip for the uv venv and
// `pip download` of bty's sdist.
const HOST = ["bubblewrap", "git", "util-linux", "fdisk", "gzip", "python3-venv", "python3-pip"];

// Container images (test/payload/images.test.ts): Docker Engine (the test
// starts dockerd), a local OCI registry, mmdebstrap for the base-image stand-ins.
const IMAGES = ["docker.io", "docker-registry", "mmdebstrap"];

// Release (test/payload/release-*.test.ts): real files of each asset kind
// (Debian's iPXE .efi/.lkrn, cpio initrds, mksquashfs, xorriso ISOs), curl
// to wait for the local package index.
const RELEASE_ASSETS = ["ipxe", "cpio", "squashfs-tools", "xorriso", "curl"];

console.log([...new Set([...HOST, ...IMAGES, ...RELEASE_ASSETS, ...APT.lint, ...APT.flashIntegration, ...APT.docs])].join("\n"));
