/**
 * What the payload and engine tiers need of the machine, and what happens
 * when it is missing. `.ci/run` installs everything a tier needs on a fresh
 * machine (it runs as root, installs its Debian packages and trixie's
 * live-build), so a missing piece of that fails the suite, naming it: a skip
 * would pass a run whose install step broke. Only inputs no installer can
 * provide (the vendored files and engine scripts beside the repository, a
 * build the benchmark makes, KVM) are reasons to skip, and those skips say so.
 */
import { beforeAll } from "vitest";

/** Something `.ci/run` would have installed is not there. */
export class NotInstalled extends Error {
  override name = "NotInstalled";
  constructor(what: string) {
    super(`${what}: .ci/run installs it (run this tier through it, as root)`);
  }
}

/** Throws when `missing` names what this machine lacks. */
export function assertInstalled(missing: string | undefined): void {
  if (missing !== undefined) throw new NotInstalled(missing);
}

/** Inside a describe: every test of the suite fails when `missing` names what this machine lacks. */
export function requireInstalled(missing: string | undefined): void {
  beforeAll(() => assertInstalled(missing));
}

/** "needs root" unless this process is root. */
export function rootMissing(): string | undefined {
  return process.getuid?.() === 0 ? undefined : "needs root";
}
