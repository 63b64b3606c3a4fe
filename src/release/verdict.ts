/**
 * The checks' verdict as all-checks' run report carries it (pure): what a
 * job that writes (the tag, the GitHub release, the images, PyPI) trusts
 * instead of running the checks again, and the sha256 of every file it may
 * upload. A writing job runs no bty code: it takes the files the checks
 * built, and refuses the whole upload when one of them is not the file the
 * report names.
 */
import type { AssetGroup } from "./assets.js";
import { ReleaseInputError } from "./version.js";
import { checkName } from "../checks/plan.js";
import type { RunReport } from "../checks/report.js";
import { isSha256 } from "../sha256.js";

/** The report's title when all-checks wrote it. */
export const ALL_CHECKS_TITLE = "all-checks";

/** Where a report comes from, for error messages. */
const HOW_TO_GET_ONE = "pass the report.json that `all-checks-bundle` exported for this commit";

/** A run report read from JSON, its shape checked; refuses anything else naming the fix. */
export function parseRunReport(text: string): RunReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ReleaseInputError(`--report is not JSON (${(err as Error).message}): ${HOW_TO_GET_ONE}`);
  }
  const r = value as Partial<RunReport> | null;
  const wellFormed =
    typeof r === "object" &&
    r !== null &&
    typeof r.title === "string" &&
    typeof r.ok === "boolean" &&
    Array.isArray(r.jobs) &&
    r.jobs.every(
      (j) =>
        typeof j?.name === "string" &&
        (j.status === "passed" || j.status === "failed") &&
        Array.isArray(j.artifacts) &&
        j.artifacts.every((a) => typeof a?.name === "string" && isSha256(String(a?.sha256))),
    );
  if (!wellFormed) throw new ReleaseInputError(`--report is not a run report (title, ok, jobs with artifacts): ${HOW_TO_GET_ONE}`);
  return r as RunReport;
}

/**
 * Accept a report only when it is all-checks' for `version`, every check in
 * `expected` is in it, and all of them passed; returns its one-line verdict.
 */
export function assertChecksPassed(report: RunReport, expected: readonly string[], version: string): string {
  if (report.title !== ALL_CHECKS_TITLE) {
    throw new ReleaseInputError(`--report is the report of "${report.title}", not of all-checks: ${HOW_TO_GET_ONE}`);
  }
  if (report.version !== version) {
    throw new ReleaseInputError(
      `--report is all-checks' report of bty-lab ${report.version ?? "(no version)"}, this checkout is ${version}: ${HOW_TO_GET_ONE}`,
    );
  }
  const names = new Set(report.jobs.map((j) => j.name));
  const missing = expected.filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw new ReleaseInputError(`--report lacks checks ${missing.join(", ")}: it is not a whole all-checks run; ${HOW_TO_GET_ONE}`);
  }
  const failed = report.jobs.filter((j) => j.status !== "passed").map((j) => j.name);
  if (failed.length > 0 || !report.ok) {
    throw new ReleaseInputError(
      `the checks did not pass (${failed.length} of ${report.jobs.length} failed: ${failed.join(", ")}): nothing is released from a red run`,
    );
  }
  return `all ${report.jobs.length} checks passed (all-checks' report of bty-lab ${version})`;
}

/** A file as a writing job received it: `<group>/<name>` and its sha256 as computed there. */
export interface ReceivedFile {
  path: string;
  sha256: string;
}

/**
 * Refuse a hand-off unless every released file of `groups` was received
 * with the sha256 the report's building job wrote for it. Every difference
 * is named, so one message says all that is wrong; nothing is uploaded.
 */
export function assertReceivedAsBuilt(report: RunReport, groups: readonly AssetGroup[], received: readonly ReceivedFile[]): string {
  const got = new Map(received.map((f) => [f.path, f.sha256]));
  const problems: string[] = [];
  let verified = 0;
  for (const group of groups) {
    const job = checkName(group.builtBy);
    const built = new Map(report.jobs.find((j) => j.name === job)?.artifacts.map((a) => [a.name, a.sha256]));
    for (const file of group.files) {
      const path = `${group.group}/${file}`;
      const want = built.get(file);
      const have = got.get(path);
      if (want === undefined) problems.push(`${path}: the report has no sha256 for it from ${job}`);
      else if (have === undefined) problems.push(`${path}: not received`);
      else if (have !== want) problems.push(`${path}: sha256 ${have}, but ${job} built ${want}`);
      else verified++;
    }
  }
  if (problems.length > 0) {
    throw new ReleaseInputError(
      `refusing to upload: ${problems.length} file(s) are not what the checks built (${problems.join("; ")}). ` +
        "Hand on the artifacts of the same run as --report, unaltered",
    );
  }
  return `${verified} file(s) verified against the checks' report`;
}

/** argv printing `sha256sum` lines of every file under `dir`, paths relative to it, sorted. */
export function receivedSumsArgv(dir: string): string[] {
  return ["sh", "-c", `cd "$1" && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 -r sha256sum --`, "sh", dir];
}
