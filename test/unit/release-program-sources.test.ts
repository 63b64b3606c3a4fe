/**
 * The release program's container holds every file of bty-ci that
 * ci/release/release.ts imports, directly or through another: followed here
 * from the files themselves, so a new import outside RELEASE.programSources
 * fails before an engine ever reports a missing module.
 */
import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { RELEASE } from "../../src/config.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** The repository files a TypeScript file imports by relative path (`.js` specifiers name `.ts` files). */
function relativeImports(file: string): string[] {
  const text = readFileSync(resolve(ROOT, file), "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\b[^"']*?from\s+["'](\.{1,2}\/[^"']+)["']/gm)].map((m) =>
    relative(ROOT, resolve(ROOT, dirname(file), m[1]!.replace(/\.js$/, ".ts"))),
  );
}

/** Every file reachable from `entry` through relative imports, `entry` included. */
function importClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    relativeImports(file).forEach(visit);
  };
  visit(entry);
  return [...seen].sort();
}

const staged = (file: string) =>
  RELEASE.programSources.files.includes(file as never) || RELEASE.programSources.directories.some((dir) => file.startsWith(`${dir}/`));

describe("the release program's sources", () => {
  it("follows imports across folders", () => {
    expect(importClosure("src/release/assets.ts")).toEqual(["src/clip.ts", "src/release/assets.ts", "src/release/version.ts", "src/sha256.ts"]);
  });

  it("stages every file ci/release/release.ts imports, and nothing it does not need", () => {
    const closure = importClosure("ci/release/release.ts");
    expect(closure.filter((f) => !staged(f))).toEqual([]);
    for (const file of RELEASE.programSources.files) expect(closure).toContain(file);
  });
});
