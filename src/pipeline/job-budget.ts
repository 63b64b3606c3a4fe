/**
 * How long each drop-in job may run (its `timeout-minutes`), computed from
 * the calls it makes and its fixed steps (decision D58): a pure function, so
 * a test ties every job's timeout to the calls in that job's own lines.
 *
 * Call times are wall times measured on a real Dagger engine v0.21.8 on a
 * 2-core machine without KVM (QEMU under TCG), cold caches: a hosted
 * ubuntu-24.04 runner (4 vCPU, KVM) is faster, so they are upper bounds.
 */

export interface Budget {
  seconds: number;
  /** Where the figure comes from: a measurement, or an estimate said to be one. */
  basis: string;
}

/** Each call a drop-in job makes, by its function name. */
export const CALL_BUDGETS = {
  "check-not-published": { seconds: 7, basis: "engine tier (asks a pypiserver)" },
  "all-checks-bundle": { seconds: 1696, basis: "npm run bench -- --engine=all-checks: all 20 rows on one engine, 2 cores, TCG, cold (2026-12-04)" },
  "tag-release": { seconds: 7, basis: "engine tier (by the report; GitHub stand-in)" },
  "attach-to-release": { seconds: 27, basis: "engine tier (verifies and uploads every gathered file; GitHub stand-in)" },
  // No registry target here: the payload tier builds linux/amd64 with docker,
  // not the engine's multi-platform build with arm64 under emulation.
  "publish-docker": { seconds: 1800, basis: "not measured on a real engine: bty's slowest stated job (30 min)" },
  "publish-tftp": { seconds: 1800, basis: "not measured on a real engine: bty's slowest stated job (30 min)" },
  "publish-pypi": { seconds: 12, basis: "engine tier (uploads wheel and sdist to a pypiserver)" },
} as const satisfies Record<string, Budget>;

export type DropInCall = keyof typeof CALL_BUDGETS;

/** What every CLI process adds: starting or reaching the engine and loading bty-ci (30–80 s measured). */
export const PER_CALL_SECONDS = 90;

/** The steps around the calls. */
export const STEP_BUDGETS = {
  /** Checkout, the Dagger CLI install and the engine image pull, once per job. */
  setup: { seconds: 180, basis: "estimate: checkout, the dagger-for-github install and the engine image pull on a hosted runner" },
  /** The checks job's "Free disk space" step. */
  freeDisk: { seconds: 300, basis: "estimate: removing the hosted runner's preinstalled toolchains and images" },
  /** The checks job's "Run arm64 binaries" step. */
  arm64: { seconds: 90, basis: "estimate: apt-get update and qemu-user-static's install on a hosted runner" },
  /** One upload-artifact or download-artifact step. */
  artifact: { seconds: 120, basis: "estimate: the largest group, the usbboot ISO (~1 GiB), to or from GitHub's artifact store" },
} as const satisfies Record<string, Budget>;

/** Headroom over the sum: a slow runner, a slow registry, a retry. */
export const HEADROOM = 1.5;

export interface JobWork {
  calls: readonly DropInCall[];
  /** upload-artifact and download-artifact steps. */
  artifactSteps: number;
  freesDisk: boolean;
  /** Installs qemu-user-static for arm64 binaries (the checks job). */
  emulatesArm64: boolean;
}

/** A job's timeout in whole minutes, rounded up: its work's budget with headroom. */
export function timeoutMinutes(work: JobWork): number {
  const seconds =
    STEP_BUDGETS.setup.seconds +
    (work.freesDisk ? STEP_BUDGETS.freeDisk.seconds : 0) +
    (work.emulatesArm64 ? STEP_BUDGETS.arm64.seconds : 0) +
    work.artifactSteps * STEP_BUDGETS.artifact.seconds +
    work.calls.reduce((sum, call) => sum + CALL_BUDGETS[call].seconds + PER_CALL_SECONDS, 0);
  return Math.ceil((seconds * HEADROOM) / 60);
}
