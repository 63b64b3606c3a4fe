/**
 * bty's build-usbboot-rpi as data (pure): the Raspberry Pi OS image it
 * starts from, the names it releases, the inputs it refuses, and the argv of
 * ci/rpi/rpios-build.py and ci/rpi/rpios-verify.py. The Dagger side
 * (dagger.ts) and the payload test run these same lists.
 */
import { RPI } from "../config.js";
import type { Step } from "../steps.js";

/** bty's Raspberry Pi build script: ci/rpi/rpios-build.py reads its package and hook lists from it. */
export const RPI_SCRIPT = "cijoe/scripts/rpios_image_build.py";

/** The image file bty releases for `version`, and its checksum and build manifest. */
export function rpiArtifactNames(version: string): { image: string; sha256: string; manifest: string } {
  const stem = `bty-usbboot-rpi-arm64-v${version}`;
  return { image: `${stem}.img.gz`, sha256: `${stem}.img.gz.sha256`, manifest: `${stem}.build-manifest.txt` };
}

/** Platforms the build container can run as: natively on arm64, or amd64 with arm64 through qemu-user binfmt. */
export const RPI_BUILD_PLATFORMS = ["linux/arm64", "linux/amd64"] as const;

const SHA256 = /^[0-9a-f]{64}$/;

/** What the caller chose: the pinned download, or a file they give (air-gapped). */
export interface RpiImageChoice {
  /** A file was given (--rpi-image). */
  given: boolean;
  /** The sha256 it must have (--rpi-image-checksum; default the pin). */
  sha256: string;
  /** The build container's platform; "" is the engine's own. */
  platform: string;
}

/** Refuse bad inputs before any download or container, naming the fix. */
export function checkRpiInputs(choice: RpiImageChoice): void {
  if (!SHA256.test(choice.sha256)) {
    throw new Error(`--rpi-image-checksum "${choice.sha256}" is not a sha256 (64 lower-case hex digits): pass the .img.xz's sha256 as its .sha256 file gives it`);
  }
  if (!choice.given && choice.sha256 !== RPI.image.sha256) {
    throw new Error(
      `--rpi-image-checksum without --rpi-image: the pinned download (${RPI.image.name}) has sha256 ${RPI.image.sha256}; ` +
        "pass the image you mean with --rpi-image, or leave --rpi-image-checksum out",
    );
  }
  if (choice.platform !== "" && !(RPI_BUILD_PLATFORMS as readonly string[]).includes(choice.platform)) {
    throw new Error(`unknown --platform "${choice.platform}": use ${RPI_BUILD_PLATFORMS.join(" or ")} (or leave it out for the engine's own)`);
  }
}

/** Where the build finds things and leaves them, for the side running it. */
export interface RpiLayout {
  ciDir: string;
  /** The Raspberry Pi OS image (.img.xz). */
  image: string;
  /** The bty checkout. */
  source: string;
  /** Directory holding bty's wheel. */
  wheelDir: string;
  /** Where the image, its .sha256 and the build manifest go. */
  out: string;
}

/** Optional build-only inputs (nothing of them stays in the image). */
export interface RpiOptions {
  debianMirror?: string;
  pipIndex?: string;
  caCert?: string;
}

/**
 * The given image checked against its sha256 (a file argument; the pinned
 * download is checked by the engine as it fetches), bty's rpios_image_build
 * steps as root, then the output verified before it is returned.
 */
export function rpiBuildSteps(layout: RpiLayout, version: string, sha256: string, opts: RpiOptions = {}): Step[] {
  const names = rpiArtifactNames(version);
  return [
    {
      label: "base image sha256",
      argv: ["sh", "-c", 'echo "$0  $1" | sha256sum --check --strict', sha256, layout.image],
    },
    {
      label: "rpios image build",
      argv: [
        "python3", `${layout.ciDir}/rpi/rpios-build.py`,
        "--image", layout.image, "--source", layout.source, "--wheel", layout.wheelDir,
        "--version", version, "--out", layout.out,
        ...(opts.debianMirror ? ["--debian-mirror", opts.debianMirror] : []),
        ...(opts.pipIndex ? ["--pip-index", opts.pipIndex] : []),
        ...(opts.caCert ? ["--ca-cert", opts.caCert] : []),
      ],
      privileged: true,
    },
    {
      label: "verify",
      argv: ["python3", `${layout.ciDir}/rpi/rpios-verify.py`, `${layout.out}/${names.image}`, "--version", version],
    },
  ];
}
