/**
 * What a release holds, as data: each asset group is the output
 * of one bty-ci function, named like bty's workflow artifact it replaces,
 * with the exact file names every build leaves for a version. Pure, so the
 * naming rules are unit-tested and the assembler can refuse a missing file
 * by name before anything is sent.
 */
import { parseSha256Sums } from "../sha256.js";
import { assertReleasableVersion } from "./version.js";

/** One group of released files and the bty-ci function that builds it. */
export interface AssetGroup {
  /** bty's artifact name (the `gathered/<group>/` folder of its attach-to-release). */
  group: string;
  /** The facade function whose Directory holds these files. */
  builtBy: "buildIpxe" | "buildNetbootPc" | "buildRambootInit" | "buildUsbbootPc" | "buildUsbbootRpi" | "buildWheel" | "docs";
  /** Released files, without checksum sidecars. */
  files: string[];
  /** Checksum files the build itself writes (`sha256sum` of basenames). */
  sidecars: string[];
}

/** The groups' names: bty's workflow artifact names, in gathered-path order. */
export const ASSET_GROUP_NAMES = [
  "bty-ipxe-x86_64",
  "bty-netboot-pc-x86_64",
  "bty-ramboot-init-x86_64",
  "bty-usbboot-pc-x86_64-iso",
  "bty-usbboot-rpi-arm64",
  "dist",
  "docs-pdf",
] as const;

/**
 * The groups of a release of `version`, in bty's gathered-path order.
 * Differences from bty (decisions): the wheel is released too (the issue's
 * asset list has it; bty deletes it); no catalog.toml (dropped in bty
 * v0.46.0).
 */
export function assetGroups(version: string): AssetGroup[] {
  assertReleasableVersion(version);
  const v = version;
  const netboot = `bty-netboot-pc-x86_64-v${v}`;
  const ramboot = `bty-ramboot-init-x86_64-v${v}`;
  const usb = `bty-usbboot-pc-x86_64-v${v}.iso`;
  const rpi = `bty-usbboot-rpi-arm64-v${v}.img.gz`;
  const efi = `bty-ipxe-x86_64-v${v}.efi`;
  return [
    { group: "bty-ipxe-x86_64", builtBy: "buildIpxe", files: [`${efi}`], sidecars: [`${efi}.sha256`] },
    {
      group: "bty-netboot-pc-x86_64",
      builtBy: "buildNetbootPc",
      files: [`${netboot}.initrd`, `${netboot}.squashfs`, `${netboot}.vmlinuz`],
      sidecars: [`${netboot}.sha256`],
    },
    {
      group: "bty-ramboot-init-x86_64",
      builtBy: "buildRambootInit",
      files: [`${ramboot}.initrd`, `${ramboot}.vmlinuz`],
      sidecars: [`${ramboot}.sha256`],
    },
    { group: "bty-usbboot-pc-x86_64-iso", builtBy: "buildUsbbootPc", files: [usb], sidecars: [`${usb}.sha256`] },
    // The image and its .sha256, as bty's job uploads them (its build manifest stays with the build).
    { group: "bty-usbboot-rpi-arm64", builtBy: "buildUsbbootRpi", files: [rpi], sidecars: [`${rpi}.sha256`] },
    {
      group: "dist",
      builtBy: "buildWheel",
      files: [`bty_lab-${v}-py3-none-any.whl`, `bty_lab-${v}.tar.gz`],
      sidecars: [],
    },
    { group: "docs-pdf", builtBy: "docs", files: ["bty.pdf"], sidecars: [] },
  ];
}

/** The manifest's own asset name. */
export const RELEASE_TOML = "release.toml";

/** Suffix of a checksum sidecar. */
export const SIDECAR_SUFFIX = ".sha256";

/** Files of `groups` missing from what was gathered, as "group/name". */
export function missingAssets(groups: AssetGroup[], present: Record<string, readonly string[]>): string[] {
  return groups.flatMap(({ group, files, sidecars }) => {
    const have = new Set(present[group]);
    return [...files, ...sidecars].filter((name) => !have.has(name)).map((name) => `${group}/${name}`);
  });
}

/** One line of a sha256sum file: hex, two spaces, basename. */
export function sidecarLine(sha256: string, name: string): string {
  return `${sha256}  ${name}\n`;
}

/** Parse a sha256sum file (text or binary mode) into basename → hex; refuse paths. */
export function parseSidecar(text: string): Map<string, string> {
  let entries: { name: string; sha256: string }[];
  try {
    entries = parseSha256Sums(text);
  } catch (e) {
    throw new ReleaseAssetError((e as Error).message);
  }
  const out = new Map<string, string>();
  for (const { name, sha256 } of entries) {
    if (name.includes("/")) throw new ReleaseAssetError(`sidecar names a path, not a basename: "${name}"`);
    out.set(name, sha256);
  }
  return out;
}

/** A gathered asset that cannot be released as it is. */
export class ReleaseAssetError extends Error {
  override name = "ReleaseAssetError";
}

/**
 * Check the build's own sidecars against the digests of the files (a sidecar
 * must name every file of its group, by basename, with the right digest) and
 * return the sidecars to generate: `<name>.sha256` for every released file no
 * build sidecar covers, so each file ships with a checksum.
 */
export function sidecarPlan(
  groups: AssetGroup[],
  sidecarTexts: Record<string, string>,
  digests: Record<string, string>,
): { name: string; text: string }[] {
  const covered = new Set<string>();
  for (const { files, sidecars } of groups) {
    for (const sidecar of sidecars) {
      const text = sidecarTexts[sidecar];
      if (text === undefined) throw new ReleaseAssetError(`sidecar ${sidecar} was not gathered`);
      for (const [name, hex] of parseSidecar(text)) {
        if (!files.includes(name)) throw new ReleaseAssetError(`${sidecar} names ${name}, which is not in its group`);
        if (digests[name] !== hex) {
          throw new ReleaseAssetError(`${sidecar}: ${name} has sha256 ${digests[name]}, the sidecar says ${hex}`);
        }
        covered.add(name);
      }
    }
    if (sidecars.length > 0) {
      const uncovered = files.filter((f) => !covered.has(f));
      if (uncovered.length > 0) {
        throw new ReleaseAssetError(`${sidecars.join(", ")} do not cover ${uncovered.join(", ")}`);
      }
    }
  }
  return groups
    .flatMap((g) => g.files)
    .filter((name) => !covered.has(name))
    .map((name) => {
      const hex = digests[name];
      if (hex === undefined) throw new ReleaseAssetError(`no digest for ${name}`);
      return { name: `${name}${SIDECAR_SUFFIX}`, text: sidecarLine(hex, name) };
    });
}
