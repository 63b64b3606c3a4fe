/**
 * The checks' verdict and the hand-off check (src/release/verdict.ts):
 * which reports a writing job trusts, and which received files it uploads.
 * Reports and digests are literals shaped as all-checks writes them.
 */
import { describe, expect, it } from "vitest";

import { assetGroups } from "../../src/release/assets.js";
import { assertChecksPassed, assertReceivedAsBuilt, parseRunReport, receivedSumsArgv } from "../../src/release/verdict.js";
import type { RunReport } from "../../src/checks/report.js";

const WHEEL = "a".repeat(64);
const SDIST = "b".repeat(64);
const job = (name: string, artifacts: { name: string; sha256: string }[] = [], status: "passed" | "failed" = "passed") =>
  ({ name, status, seconds: 1, reason: "ok", tail: [], artifacts: artifacts.map((a) => ({ ...a, size: 1 })) });
const report = (over: Partial<RunReport> = {}): RunReport => ({
  title: "all-checks",
  version: "1.0",
  ok: true,
  jobs: [job("lint"), job("build-wheel", [{ name: "bty_lab-1.0-py3-none-any.whl", sha256: WHEEL }, { name: "bty_lab-1.0.tar.gz", sha256: SDIST }])],
  ...over,
});
const dist = assetGroups("1.0").filter((g) => g.group === "dist");

describe("parseRunReport", () => {
  it("reads all-checks' JSON", () => {
    expect(parseRunReport(JSON.stringify(report()))).toEqual(report());
  });
  it("refuses what is not JSON, or not a run report, naming where the right file comes from", () => {
    expect(() => parseRunReport("**all-checks: all 17 passed**")).toThrow(/^--report is not JSON \(.*\): pass the report\.json that `all-checks-bundle` exported/);
    const sha = "c".repeat(64);
    for (const bad of [null, [], { title: "all-checks", ok: true }, { ...report(), jobs: [{ name: "lint", status: "skipped", artifacts: [] }] },
      { ...report(), jobs: [job("build-wheel", [{ name: "w", sha256: "XYZ" }])] },
      { ...report(), title: 1 }, { ...report(), ok: "true" }, { ...report(), jobs: [null] }, { ...report(), jobs: [{ ...job("lint"), name: 1 }] },
      { ...report(), jobs: [{ ...job("lint"), artifacts: [null] }] }, { ...report(), jobs: [{ ...job("lint"), artifacts: [{ name: 1, sha256: sha }] }] }]) {
      expect(() => parseRunReport(JSON.stringify(bad)), JSON.stringify(bad)).toThrow(/^--report is not a run report \(title, ok, jobs with artifacts\)/);
    }
  });
});

describe("assertChecksPassed", () => {
  const expected = ["lint", "build-wheel"];
  it("accepts a green report of this version with every expected check", () => {
    expect(assertChecksPassed(report(), expected, "1.0")).toBe("all 2 checks passed (all-checks' report of bty-lab 1.0)");
  });
  it("refuses another title, version, a missing check, a failed one", () => {
    expect(() => assertChecksPassed(report({ title: "publish v1.0" }), expected, "1.0")).toThrow('the report of "publish v1.0", not of all-checks');
    expect(() => assertChecksPassed(report({ version: "0.9" }), expected, "1.0")).toThrow("all-checks' report of bty-lab 0.9, this checkout is 1.0");
    expect(() => assertChecksPassed(report({ version: undefined }), expected, "1.0")).toThrow("report of bty-lab (no version)");
    expect(() => assertChecksPassed(report(), [...expected, "docs"], "1.0")).toThrow("--report lacks checks docs: it is not a whole all-checks run");
    expect(() => assertChecksPassed(report(), [...expected, "docs", "typecheck"], "1.0")).toThrow("--report lacks checks docs, typecheck:");
    expect(() => assertChecksPassed(report({ ok: false, jobs: [job("lint", [], "failed"), report().jobs[1]!] }), expected, "1.0")).toThrow(
      "the checks did not pass (1 of 2 failed: lint): nothing is released from a red run",
    );
  });
  it("a report whose ok contradicts its jobs is not trusted, either way", () => {
    expect(() => assertChecksPassed(report({ ok: false }), expected, "1.0")).toThrow(/checks did not pass \(0 of 2 failed: \)/);
    const bothFailed = [job("lint", [], "failed"), { ...report().jobs[1]!, status: "failed" as const }];
    expect(() => assertChecksPassed(report({ ok: true, jobs: bothFailed }), expected, "1.0")).toThrow(
      "the checks did not pass (2 of 2 failed: lint, build-wheel)",
    );
  });
});

describe("assertReceivedAsBuilt", () => {
  const received = [
    { path: "dist/bty_lab-1.0-py3-none-any.whl", sha256: WHEEL },
    { path: "dist/bty_lab-1.0.tar.gz", sha256: SDIST },
  ];
  it("counts the files verified; extra received files are not its business", () => {
    expect(assertReceivedAsBuilt(report(), dist, [...received, { path: "dist/notes.txt", sha256: "c".repeat(64) }])).toBe(
      "2 file(s) verified against the checks' report",
    );
  });
  it("names every altered, missing or unreported file in one refusal", () => {
    const altered = [{ ...received[0]!, sha256: "c".repeat(64) }];
    expect(() => assertReceivedAsBuilt(report(), dist, altered)).toThrow(
      `refusing to upload: 2 file(s) are not what the checks built (dist/bty_lab-1.0-py3-none-any.whl: sha256 ${"c".repeat(64)}, but build-wheel built ${WHEEL}; ` +
        "dist/bty_lab-1.0.tar.gz: not received). Hand on the artifacts of the same run as --report, unaltered",
    );
    const noWheelJob = report({ jobs: [job("lint")] });
    expect(() => assertReceivedAsBuilt(noWheelJob, dist, received)).toThrow(
      "dist/bty_lab-1.0-py3-none-any.whl: the report has no sha256 for it from build-wheel; dist/bty_lab-1.0.tar.gz: the report has no sha256 for it from build-wheel",
    );
  });
});

describe("receivedSumsArgv", () => {
  it("is sha256sum of every file under the directory, relative and sorted, through sh", () => {
    expect(receivedSumsArgv("/release/received")).toEqual([
      "sh", "-c", `cd "$1" && find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 -r sha256sum --`, "sh", "/release/received",
    ]);
  });
});
