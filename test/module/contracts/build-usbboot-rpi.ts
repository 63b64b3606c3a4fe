/**
 * `build-usbboot-rpi`: bty's job runs on ubuntu-24.04-arm, installs
 * cloud-guest-utils util-linux mount parted gdisk e2fsprogs dosfstools
 * xz-utils curl gzip, runs `make build VARIANT=usbboot-rpi` (cijoe's
 * rpios_image_build.py, as root) and uploads
 * bty-usbboot-rpi-arm64-v*.img.gz and its .sha256. Here (README "Design",
 * docs/decisions.md): Raspberry Pi OS Lite pinned by URL and sha256 and
 * fetched by the engine (so no curl), bty's steps by ci/rpi/rpios-build.py
 * in a privileged container (fdisk for sfdisk, fusefat where the kernel
 * has no vfat), then ci/rpi/rpios-verify.py before the directory is
 * returned. Only the build step is privileged.
 */
import { aptInstall, CI_SCRIPTS, type JobContract, SRC } from "./contract.js";

/** bty's list minus curl, plus fdisk and fusefat, in bty's order. */
export const RPI_APT = [
  "cloud-guest-utils", "util-linux", "mount", "parted", "gdisk", "fdisk", "e2fsprogs", "dosfstools", "xz-utils", "gzip", "fusefat",
];

/** The pinned release: 2026-06-18 Raspberry Pi OS Lite (trixie, arm64), as its .sha256 file gives it. */
export const RPI_PIN = {
  url: "https://downloads.raspberrypi.com/raspios_lite_arm64/images/raspios_lite_arm64-2026-06-19/2026-06-18-raspios-trixie-arm64-lite.img.xz",
  sha256: "acff736ca7945e3b305f07cda4abdb870910e12634991da69783611756e381b3",
};

/** Where the job keeps its inputs and outputs in the container. */
export const RPI_PATHS = {
  image: "/opt/bty-ci/rpios/base.img.xz",
  wheel: "/opt/bty-ci/rpios/dist",
  out: "/opt/bty-ci/rpios/out",
};

/** The base image checked against `sha256`, with both as arguments of the script (never in it). */
export const rpiCheck = (sha256: string) => ["sh", "-c", 'echo "$0  $1" | sha256sum --check --strict', sha256, RPI_PATHS.image];

/** rpios-build.py on bty 0.77.2, plus any build-only options. */
export const rpiBuild = (...extra: string[]) => [
  "python3", `${CI_SCRIPTS}/rpi/rpios-build.py`,
  "--image", RPI_PATHS.image, "--source", SRC, "--wheel", RPI_PATHS.wheel,
  "--version", "0.77.2", "--out", RPI_PATHS.out,
  ...extra,
];

export const RPI_VERIFY = [
  "python3", `${CI_SCRIPTS}/rpi/rpios-verify.py`, `${RPI_PATHS.out}/bty-usbboot-rpi-arm64-v0.77.2.img.gz`, "--version", "0.77.2",
];

export const BUILD_USBBOOT_RPI: JobContract = {
  job: "build-usbboot-rpi",
  call: { fn: "buildUsbbootRpi" },
  image: /^python:3\.12\.\d+-slim-bookworm$/,
  setup: [aptInstall(RPI_APT)],
  apt: RPI_APT,
  env: {},
  caches: [],
  steps: [
    { argv: rpiCheck(RPI_PIN.sha256), workdir: SRC, privileged: false },
    { argv: rpiBuild(), workdir: SRC, privileged: true },
    { argv: RPI_VERIFY, workdir: SRC, privileged: false },
  ],
  returns: { directory: RPI_PATHS.out },
};
