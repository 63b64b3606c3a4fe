/** publish's run report: its steps timed, and as Markdown and JSON of all-checks' shape. */
import { describe, expect, it } from "vitest";

import { outcomesAsResults, runInOrder, type StepOutcome } from "../../src/release/flow.js";
import { renderPublishReport } from "../../src/release/dagger/publish.js";

const failedRun: StepOutcome[] = [
  { step: "gate", status: "done", detail: "v0.77.2 = v0.77.2 on f3cab0c; index: not published", seconds: 2.04 },
  { step: "checks", status: "done", detail: "all 17 checks passed", seconds: 1800 },
  { step: "release", status: "failed", detail: "upload of bty.pdf failed\nHTTP 502\nafter 4 attempts", seconds: 12.5 },
  { step: "images", status: "not run" },
  { step: "pypi", status: "not run" },
];

describe("publish report", () => {
  it("times each step with the given clock", async () => {
    const ticks = [0, 1500, 1500, 4000, 4000, 4250];
    const clock = () => ticks.shift()!;
    const ok = async () => "fine";
    const { outcomes } = await runInOrder({ gate: ok, checks: ok, release: async () => { throw new Error("no"); }, images: ok, pypi: ok }, clock);
    expect(outcomes).toEqual([
      { step: "gate", status: "done", detail: "fine", seconds: 1.5 },
      { step: "checks", status: "done", detail: "fine", seconds: 2.5 },
      { step: "release", status: "failed", detail: "no", seconds: 0.25 },
      { step: "images", status: "not run" },
      { step: "pypi", status: "not run" },
    ]);
  });

  it("reports steps as jobs: a failure's first line as reason and its lines as the tail, not-run steps failed with why", () => {
    expect(outcomesAsResults(failedRun)).toEqual([
      { name: "gate", ok: true, seconds: 2.04, reason: "v0.77.2 = v0.77.2 on f3cab0c; index: not published", tail: [] },
      { name: "checks", ok: true, seconds: 1800, reason: "all 17 checks passed", tail: [] },
      { name: "release", ok: false, seconds: 12.5, reason: "upload of bty.pdf failed", tail: ["upload of bty.pdf failed", "HTTP 502", "after 4 attempts"] },
      { name: "images", ok: false, seconds: 0, reason: "not run: an earlier step failed", tail: [] },
      { name: "pypi", ok: false, seconds: 0, reason: "not run: an earlier step failed", tail: [] },
    ]);
  });

  it("keeps a long failure's last 40 lines as the tail", () => {
    const detail = Array.from({ length: 45 }, (_, i) => `line ${i + 1}`).join("\n");
    const [result] = outcomesAsResults([{ step: "gate", status: "failed", detail }]);
    expect(result!.tail).toHaveLength(40);
    expect(result!.tail?.[0]).toBe("line 6");
    expect(result!.reason).toBe("line 1");
  });

  it("markdown: a row per step and the failed marker last, for the job summary", () => {
    const md = renderPublishReport("v0.77.2", failedRun, "text", undefined, "markdown");
    expect(md.split("\n")[0]).toBe("**publish v0.77.2: 3 of 5 failed**");
    expect(md).toMatch(/^\| gate \| ✅ passed \| 2\.0 s \| v0\.77\.2 = v0\.77\.2 on f3cab0c; index: not published \|$/m);
    expect(md).toMatch(/^\| release \| ❌ failed \| 12\.5 s \| upload of bty\.pdf failed \|$/m);
    expect(md).toMatch(/^\| pypi \| ❌ failed \| 0\.0 s \| not run: an earlier step failed \|$/m);
    expect(md).toContain("HTTP 502\nafter 4 attempts");
    expect(md.split("\n").at(-1)).toBe("<!-- bty-ci-report: failed -->");
  });

  it("json: the same jobs, and a dry run's plan as a field", () => {
    const done: StepOutcome[] = failedRun.map((o) => ({ step: o.step, status: "done", detail: "ok", seconds: 1 }));
    const json = JSON.parse(renderPublishReport("v0.77.2", done, "text", "publish v0.77.2 (dry run: nothing is sent)", "json"));
    expect(json.title).toBe("publish v0.77.2");
    expect(json.ok).toBe(true);
    expect(json.jobs.map((j: { name: string; status: string }) => `${j.name}:${j.status}`)).toEqual([
      "gate:passed", "checks:passed", "release:passed", "images:passed", "pypi:passed",
    ]);
    expect(json.plan).toBe("publish v0.77.2 (dry run: nothing is sent)");
  });

  it("text: the step lines, after the dry-run plan; markdown puts the plan in a fence before the table", () => {
    expect(renderPublishReport("v1", failedRun, "gate done", undefined, "text")).toBe("gate done");
    expect(renderPublishReport("v1", failedRun, "gate done", "PLAN", "text")).toBe("PLAN\n\ngate done");
    const md = renderPublishReport("v1", failedRun, "gate done", "PLAN", "markdown");
    expect(md.startsWith("```text\nPLAN\n```\n\n**publish v1: 3 of 5 failed**")).toBe(true);
  });
});
