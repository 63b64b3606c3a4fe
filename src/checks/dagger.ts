/**
 * The Dagger side of all-checks: each check in a trace span of its own,
 * each build's artifacts gathered for the run report (every file its output
 * lists in a `SHA256SUMS` or `.sha256` sidecar, with its size: the digests
 * are the ones the build wrote, so the report shows what ships, not a second
 * computation), and all-checks-bundle's directory (the layout of bundle.ts
 * filled with the run report and the builds' outputs).
 */
import { posix } from "node:path";

import { dag, Directory } from "@dagger.io/dagger";
import { getTracer } from "@dagger.io/dagger/telemetry";

import { compareCodeUnits } from "../release/manifest.js";
import { parseSha256Sums } from "../sha256.js";
import { BUNDLE, bundleLayout, debugFolder } from "./bundle.js";
import { ALL_CHECKS } from "./plan.js";
import { type Artifact, type CheckResult, type CheckWrapper, renderReport, runChecks, type RunReport, toRunReport } from "./report.js";

/**
 * Runs one check of allChecks in its own span `check <name>`, shown live by
 * the Dagger TUI and Cloud. The SDK's startActiveSpan ends the span and
 * marks it failed when the check throws.
 */
export const inCheckSpan: CheckWrapper = (name, run) => getTracer().startActiveSpan(`check ${name}`, () => run());

/**
 * The bundle of `version`: both renderings of `report`, every folder whose
 * job passed (`outputs`: job → its Directory) and each failed job's debug
 * bundle (`failures`: job → its bundle) under debug/<job>/.
 */
export function checksBundle(
  version: string,
  report: RunReport,
  outputs: ReadonlyMap<string, Directory>,
  failures: ReadonlyMap<string, Directory> = new Map(),
): Directory {
  let dir = dag
    .directory()
    .withNewFile(BUNDLE.markdown, renderReport(report, "markdown"))
    .withNewFile(BUNDLE.json, renderReport(report, "json"));
  for (const folder of bundleLayout(version)) {
    const out = outputs.get(folder.job);
    if (!out) continue;
    dir = dir.withDirectory(folder.path, folder.from ? out.directory(folder.from) : out, { include: folder.include });
  }
  for (const [job, bundle] of failures) dir = dir.withDirectory(debugFolder(job), bundle);
  return dir;
}

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

/**
 * Every row of all-checks at once (CHECK_ROWS, in report order), each in
 * its own span and none stopping the others; the run report with each
 * passed build's artifacts. `run` binds a row to its function: it must bind
 * exactly the rows there are.
 */
export async function runAllChecks(
  run: Readonly<Record<string, () => Promise<unknown>>>,
  checkout: { version: string; line: string },
): Promise<{ results: CheckResult[]; report: RunReport }> {
  const bound = Object.keys(run);
  const unbound = ALL_CHECKS.filter((name) => !bound.includes(name));
  const unknown = bound.filter((name) => !ALL_CHECKS.includes(name));
  if (unbound.length || unknown.length) {
    throw new Error(`all-checks rows and functions disagree: unbound ${unbound.join(", ") || "none"}; unknown ${unknown.join(", ") || "none"}`);
  }
  const results = await runChecks(Object.fromEntries(ALL_CHECKS.map((name) => [name, run[name]!])), { wrap: inCheckSpan });
  const artifacts: Record<string, Artifact[]> = {};
  for (const r of results) {
    if (r.ok && r.value instanceof Directory) artifacts[r.name] = await directoryArtifacts(r.value);
  }
  return { results, report: { ...toRunReport("all-checks", results, artifacts), version: checkout.version, checkout: checkout.line } };
}
