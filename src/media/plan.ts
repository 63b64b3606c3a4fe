/**
 * The live-media builds as plain data: release names and
 * the argv of every stage of ci/media-build.sh. The Dagger functions and
 * the payload test run these very lists, so they cannot drift apart.
 */
import { MEDIA, MEDIA_STAGE_TIMEOUT_SECONDS } from "../config.js";
import type { Step } from "../steps.js";

/** bty's live-build variants (bty-media/live-build/auto/config). */
export const MEDIA_VARIANTS = ["netboot-pc", "ramboot-init", "usbboot-pc"] as const;
export type MediaVariant = (typeof MEDIA_VARIANTS)[number];

/** Release file names of one variant at one bty version. */
export function artifactNames(variant: MediaVariant, version: string): string[] {
  const stem = `bty-${variant}-x86_64-v${version}`;
  switch (variant) {
    case "netboot-pc":
      return [`${stem}.vmlinuz`, `${stem}.initrd`, `${stem}.squashfs`, `${stem}.sha256`];
    case "ramboot-init":
      // bty drops the squashfs lb builds: the ramboot init never mounts it.
      return [`${stem}.vmlinuz`, `${stem}.initrd`, `${stem}.sha256`];
    case "usbboot-pc":
      return [`${stem}.iso`, `${stem}.iso.sha256`];
  }
}

/** Name of the build manifest written next to a variant's artifacts. */
export function buildManifestName(variant: MediaVariant, version: string): string {
  return `bty-${variant}-x86_64-v${version}.build-manifest.txt`;
}

/** Where one build keeps its files, for the side running it (container or host). */
export interface MediaLayout {
  /** Directory holding bty-ci's ci/ scripts. */
  ciDir: string;
  /** The bty checkout (bty-media/, pyproject.toml, cijoe/scripts). */
  source: string;
  /** Scratch directory of the build (live-build runs in `<work>/lb`). */
  work: string;
  /** Where the finished artifacts go. */
  out: string;
}

/** Optional inputs of a build. */
export interface MediaOptions {
  /** Extra CA bundle (file path) for pip/git in the chroot during the build only. */
  caCert?: string;
  /** A git repository (path) served to bty's r8125 hook instead of GitHub. */
  r8125Repo?: string;
  /** Debian mirror URL; unset: the build side's own apt mirror. */
  mirror?: string;
  /** Package index for bty's wheel-install hook in the chroot; unset: pip's default. */
  pipIndex?: string;
  /** Seconds per live-build stage (default MEDIA_STAGE_TIMEOUT_SECONDS). */
  timeoutSeconds?: number;
}

const script = (layout: MediaLayout) => ["bash", `${layout.ciDir}/media-build.sh`];

/** Stage 1, wheel-independent: tree copy, version stamp, build-only extras, lb config. */
export function prepareStage(layout: MediaLayout, variant: MediaVariant, opts: MediaOptions = {}): Step {
  const extra = [
    ...(opts.caCert ? ["--ca-cert", opts.caCert] : []),
    ...(opts.r8125Repo ? ["--r8125-repo", opts.r8125Repo] : []),
    ...(opts.mirror ? ["--mirror", opts.mirror] : []),
    ...(opts.pipIndex ? ["--pip-index", opts.pipIndex] : []),
  ];
  return {
    label: "prepare",
    argv: [...script(layout), "prepare", "--source", layout.source, "--variant", variant, "--work", layout.work, ...extra],
    privileged: false,
  };
}

function timeout(opts: MediaOptions): string[] {
  return ["--timeout", String(opts.timeoutSeconds ?? MEDIA_STAGE_TIMEOUT_SECONDS)];
}

/** Stage 2, wheel-independent: lb bootstrap + lb chroot (the Debian root file system). */
export function rootfsStage(layout: MediaLayout, variant: MediaVariant, opts: MediaOptions = {}): Step {
  return {
    label: "rootfs",
    argv: [...script(layout), "rootfs", "--work", layout.work, "--variant", variant, ...timeout(opts)],
    privileged: true,
  };
}

/** Stage 3: bty's wheel-install hook in the finished chroot; `wheel` is the file or its directory. */
export function installBtyStage(layout: MediaLayout, wheel: string, opts: MediaOptions = {}): Step {
  return {
    label: "install bty",
    argv: [...script(layout), "install-bty", "--work", layout.work, "--wheel", wheel, ...timeout(opts)],
    privileged: true,
  };
}

/** Stage 4: drop the build-only extras from the chroot. */
export function sealStage(layout: MediaLayout, variant: MediaVariant): Step {
  return {
    label: "seal",
    argv: [...script(layout), "seal", "--work", layout.work, "--variant", variant],
    privileged: false,
  };
}

/** Stage 5: lb binary (for netboot-pc: the squashfs without /opt). */
export function binaryStage(layout: MediaLayout, variant: MediaVariant, opts: MediaOptions = {}): Step {
  return {
    label: "binary",
    argv: [...script(layout), "binary", "--work", layout.work, "--variant", variant, ...timeout(opts)],
    privileged: true,
  };
}

/** Stage 6: append bty's layer, name, checksum, manifest and verify the outputs. */
export function finishStage(layout: MediaLayout, variant: MediaVariant, version: string): Step {
  return {
    label: "finish",
    argv: [
      ...script(layout), "finish", "--work", layout.work, "--variant", variant, "--version", version,
      "--out", layout.out,
    ],
    privileged: false,
  };
}

/**
 * usbboot-pc only: bty's own usb_iso_build steps after lb build (bootloader
 * checks, trailing exFAT BTY_IMAGES partition, structure checks, .sha256),
 * then bty-ci's independent ISO check. Loop devices: privileged.
 */
export function usbIsoStages(layout: MediaLayout, version: string): Step[] {
  const iso = `${layout.out}/${artifactNames("usbboot-pc", version)[0]}`;
  return [
    {
      label: "bty usb_iso_build finish",
      // flash-env.sh: loop partition nodes a container's /dev lacks (bty's
      // _verify_iso reads <loop>p3).
      argv: [
        "bash", `${layout.ciDir}/flash-env.sh`, "--",
        "python3", `${layout.ciDir}/usb-iso-finish.py`, "--bty-scripts", `${layout.source}/cijoe/scripts`,
        "--build-dir", `${layout.work}/lb`, "--iso", iso,
      ],
      privileged: true,
    },
    {
      label: "verify iso",
      argv: ["python3", `${layout.ciDir}/media-verify.py`, "iso", iso, "--label", MEDIA.imagesLabel],
      privileged: false,
    },
    {
      label: "verify iso checksum",
      argv: ["python3", `${layout.ciDir}/media-verify.py`, "checksums", `${iso}.sha256`],
      privileged: false,
    },
  ];
}

/** Every stage of one variant's build, in order. */
export function mediaStages(
  layout: MediaLayout,
  variant: MediaVariant,
  version: string,
  wheel: string,
  opts: MediaOptions = {},
): Step[] {
  return [
    prepareStage(layout, variant, opts),
    rootfsStage(layout, variant, opts),
    installBtyStage(layout, wheel, opts),
    sealStage(layout, variant),
    binaryStage(layout, variant, opts),
    finishStage(layout, variant, version),
    ...(variant === "usbboot-pc" ? usbIsoStages(layout, version) : []),
  ];
}

/** The message for a checkout without bty's live-build tree. */
export const MISSING_MEDIA =
  "no bty-media/live-build/auto/config in the source directory: media builds need a full bty " +
  "checkout (bty-media/ is part of bty's repository and sdist); pass one with `--source <path-to-bty>`";

/** The message for a stage time bound that is not a positive whole number of seconds. */
export function checkTimeout(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds <= 0) {
    throw new Error(`timeoutSeconds must be a positive whole number of seconds (got ${seconds})`);
  }
}
