/**
 * release.toml: version, tag, UTC timestamp and one
 * `[[artifacts]]` (name, size, sha256) per released file except the
 * checksum sidecars and release.toml itself, in bty's gathered-path order.
 * Written and read with smol-toml, so it is real TOML both ways.
 */
import { parse, stringify } from "smol-toml";
import { z } from "zod";

import type { AssetGroup } from "./assets.js";
import { ReleaseAssetError } from "./assets.js";
import { SHA256_HEX } from "../sha256.js";
import { utcStamp } from "./stamp.js";
import { assertTagMatchesVersion } from "./version.js";

/** One released file. */
export interface Artifact {
  name: string;
  size: number;
  sha256: string;
}

/** The content of release.toml. */
export interface Manifest {
  version: string;
  tag: string;
  released: string;
  artifacts: Artifact[];
}

/**
 * The manifest of `groups`, from each file's size and digest. Rows follow
 * bty's `sorted(Path("gathered").rglob("*"))`: by group folder, then name.
 */
export function buildManifest(
  tag: string,
  version: string,
  released: Date,
  groups: AssetGroup[],
  stats: Record<string, { size: number; sha256: string }>,
): Manifest {
  assertTagMatchesVersion(tag, version);
  const rows = [...groups]
    .sort((a, b) => compareCodeUnits(a.group, b.group))
    .flatMap((g) => [...g.files].sort(compareCodeUnits))
    .map((name) => {
      const stat = stats[name];
      if (!stat) throw new ReleaseAssetError(`no size/digest for ${name}`);
      return { name, size: stat.size, sha256: stat.sha256 };
    });
  return { version, tag, released: utcStamp(released), artifacts: rows };
}

/** Python's str ordering (code units), not the locale's. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const HEADER = [
  "# bty release manifest: one [[artifacts]] entry per released file (sha256 sidecars",
  "# and this file excluded). Scripts find the current release's manifest at",
  "# releases/latest/download/release.toml of the repository.",
  "",
].join("\n");

/** release.toml text for `manifest`. */
export function renderReleaseToml(manifest: Manifest): string {
  return `${HEADER}${stringify(manifest)}\n`;
}

const manifestSchema = z.object({
  version: z.string(),
  tag: z.string(),
  released: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
  artifacts: z.array(
    z.object({
      name: z.string().min(1),
      size: z.number().int().nonnegative(),
      sha256: z.string().regex(SHA256_HEX),
    }),
  ),
});

/** Parse and validate release.toml text. */
export function parseReleaseToml(text: string): Manifest {
  const data = parse(text);
  // smol-toml returns integers as numbers (bigint only beyond 2^53).
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    throw new ReleaseAssetError(`release.toml: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}
