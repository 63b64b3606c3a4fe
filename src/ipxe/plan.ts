/**
 * bty's custom iPXE build, the pure part: bty's input files,
 * input validation, the output's name and the command list the Dagger
 * function and the payload test both run.
 */
import type { Step } from "../steps.js";

/** bty's build inputs, relative to the checkout. */
export const IPXE_INPUTS = {
  mediaDir: "bty-media",
  embed: "bty-media/auxiliary/ipxe-embed.ipxe",
  generalH: "bty-media/auxiliary/ipxe-local-general.h",
} as const;

/** What the iPXE override must contain to be an iPXE source tree root. */
export const IPXE_MAKEFILE = "src/Makefile";

/** The published file name, as bty's workflow renames `ipxe.efi`. */
export function ipxeArtifactName(version: string): string {
  return `bty-ipxe-x86_64-v${version}.efi`;
}

export class IpxeInputError extends Error {
  override name = "IpxeInputError";
}

/** Which inputs are present; `ipxeMakefile` is undefined when no override is given. */
export interface IpxeInputPresence {
  mediaDir: boolean;
  embed: boolean;
  generalH: boolean;
  ipxeMakefile?: boolean;
}

/** Throws an IpxeInputError naming the fix for the first missing input. */
export function checkIpxeInputs(present: IpxeInputPresence): void {
  if (!present.mediaDir) {
    throw new IpxeInputError(
      `no ${IPXE_INPUTS.mediaDir}/ in the source directory: the iPXE build takes bty's embed script and ` +
        "general.h from there; pass a bty checkout with `--source <path-to-bty>`",
    );
  }
  for (const key of ["embed", "generalH"] as const) {
    if (!present[key]) {
      throw new IpxeInputError(
        `${IPXE_INPUTS[key]} is missing from the source directory: the iPXE build needs it; ` +
          "restore it in the checkout or pass a complete bty checkout with `--source <path-to-bty>`",
      );
    }
  }
  if (present.ipxeMakefile === false) {
    throw new IpxeInputError(
      `--ipxe-source has no ${IPXE_MAKEFILE}: pass the iPXE source tree root (containing ${IPXE_MAKEFILE})`,
    );
  }
}

/** Where things are for the side running the iPXE steps (container or host). */
export interface IpxeLayout {
  /** Directory holding bty-ci's `ci/` scripts. */
  ciDir: string;
  /** Python interpreter for the verifier. */
  python: string;
  /** The bty checkout (holding bty-media/auxiliary/). */
  checkout: string;
  /** The iPXE source tree root (holding src/Makefile); the build writes into it. */
  ipxeTree: string;
  /** Where the binary and its .sha256 are written. */
  outDir: string;
  /** The full make log (kept out of outDir). */
  buildLog: string;
}

/** Build settings from config (passed in so tests can state them as literals). */
export interface IpxeBuildSettings {
  target: string;
  makeJobs: number;
  buildTimeoutSeconds: number;
  minBytes: number;
  maxBytes: number;
}

/**
 * Build (bty's make call, bounded in time), verify (PE32+ x86-64 EFI
 * application, size band, bty's chain line), then write the `.sha256`
 * sidecar with the basename, as bty does.
 */
export function ipxeSteps(layout: IpxeLayout, settings: IpxeBuildSettings, version: string): Step[] {
  const name = ipxeArtifactName(version);
  const binary = `${layout.outDir}/${name}`;
  const embed = `${layout.checkout}/${IPXE_INPUTS.embed}`;
  return [
    {
      label: "build iPXE",
      argv: [
        "bash", `${layout.ciDir}/ipxe-build.sh`,
        "--ipxe-tree", layout.ipxeTree,
        "--embed", embed,
        "--general-h", `${layout.checkout}/${IPXE_INPUTS.generalH}`,
        "--target", settings.target,
        "--jobs", String(settings.makeJobs),
        "--timeout", String(settings.buildTimeoutSeconds),
        "--log", layout.buildLog,
        "--output", binary,
      ],
    },
    {
      label: "verify iPXE",
      argv: [
        layout.python, `${layout.ciDir}/ipxe-verify.py`,
        "--embed", embed,
        "--min-bytes", String(settings.minBytes),
        "--max-bytes", String(settings.maxBytes),
        binary,
      ],
    },
    {
      label: "checksum",
      argv: ["sh", "-c", 'cd "$1" && sha256sum -- "$2" > "$2.sha256"', "sh", layout.outDir, name],
    },
  ];
}
