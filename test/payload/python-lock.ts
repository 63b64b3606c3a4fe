/**
 * Third-party Python packages at locked versions, so that no payload test
 * turns red because someone else released: bty-web's dependencies from the
 * uv.lock in bty's own sdist (the versions bty itself tests with), withcache's
 * from the constraints file beside its pin.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { parse } from "smol-toml";

import { REPO } from "./host.js";

/** withcache, the cache bty-web's catalog lives in (bty runs its image; bty-ci pins the package). */
export const WITHCACHE_VERSION = "0.13.3";
/** withcache's dependencies, locked (`pip freeze` of a venv with withcache==WITHCACHE_VERSION). */
export const WITHCACHE_CONSTRAINTS = join(REPO, "test/payload/withcache.constraints.txt");

interface LockedPackage {
  name: string;
  version: string;
  source?: { registry?: string };
}

/**
 * pip constraints (`name==version`) for every package a uv.lock takes from a
 * package index; the project itself (an editable or path source) is left
 * out. A lock that holds two versions of one package (a fork by Python
 * version) is refused: one constraints file cannot say both.
 */
export function uvLockConstraints(lockText: string): string[] {
  const packages = (parse(lockText) as { package?: LockedPackage[] }).package ?? [];
  const pins = new Map<string, string>();
  for (const p of packages) {
    if (!p.source?.registry) continue;
    const seen = pins.get(p.name);
    if (seen !== undefined && seen !== p.version) {
      throw new Error(`uv.lock holds ${p.name} at ${seen} and ${p.version}: constraints need one version per package`);
    }
    pins.set(p.name, p.version);
  }
  return [...pins].map(([name, version]) => `${name}==${version}`);
}

/** A short name for a constraints set, so a venv made under other pins is never reused. */
export function constraintsKey(lines: readonly string[]): string {
  return createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 12);
}

/** The constraint lines of a constraints file (comments and blank lines dropped). */
export function constraintLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}

export const withcacheConstraintLines = () => constraintLines(readFileSync(WITHCACHE_CONSTRAINTS, "utf8"));
