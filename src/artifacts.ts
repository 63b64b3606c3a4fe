/**
 * Gathering a build's artifacts for the run report (Dagger): every file its
 * output directory lists in a `SHA256SUMS` or `.sha256` sidecar, with its
 * size. The digests are the ones the build wrote, so the report shows what
 * ships, not a second computation.
 */
import { posix } from "node:path";

import type { Directory } from "@dagger.io/dagger";

import { compareCodeUnits } from "./release/manifest.js";
import { type Artifact, parseSha256Sums } from "./report.js";

/** Checksum files a build writes (bty's convention: basenames, next to the files). */
export const SUMS_PATTERNS = ["SHA256SUMS", "**/SHA256SUMS", "*.sha256", "**/*.sha256"];

/** Every checksummed file in `dir`: path, size and sha256, sorted by path. */
export async function directoryArtifacts(dir: Directory): Promise<Artifact[]> {
  // Each sums file once (the patterns overlap); the result is sorted below.
  const sumsFiles = [...new Set((await Promise.all(SUMS_PATTERNS.map((p) => dir.glob(p)))).flat())];
  const listed = (
    await Promise.all(
      sumsFiles.map(async (f) => {
        const prefix = posix.dirname(f);
        return parseSha256Sums(await dir.file(f).contents(), prefix === "." ? "" : prefix);
      }),
    )
  ).flat();
  const unique = [...new Map(listed.map((l) => [l.name, l])).values()].sort((a, b) => compareCodeUnits(a.name, b.name));
  return Promise.all(unique.map(async (l) => ({ ...l, size: await dir.file(l.name).size() })));
}
