/** The run report: Markdown for the job summary, JSON, failure tails, artifacts from checksum files. */
import { beforeEach, describe, expect, it } from "vitest";

import {
  ChecksFailed,
  failureTail,
  humanSize,
  renderReport,
  REPORT_FAILED_MARKER,
  REPORT_PASSED_MARKER,
  runChecks,
  toJson,
  toMarkdown,
  toRunReport,
  type RunReport,
} from "../../src/checks/report.js";

const SHA_A = "a".repeat(64);
const SHA_B = "0123456789abcdef".repeat(4);

const wheel = { name: "build-wheel", ok: true, seconds: 41.26, reason: "ok", tail: [] };
const leg = {
  name: "test:py-314",
  ok: false,
  seconds: 3,
  reason: "`uv run --no-sync pytest` exited 1: == 2 failed ==",
  tail: ["FAILED tests/test_a.py::test_x", "== 2 failed =="],
};

describe("failureTail", () => {
  it("keeps a failed command's stdout then stderr, without colours, last lines only", () => {
    const err = {
      cmd: ["pytest"],
      exitCode: 1,
      stdout: Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join("\n") + "\n\n",
      stderr: "\x1b[31mboom\x1b[0m\n",
    };
    const tail = failureTail(err);
    expect(tail).toHaveLength(40);
    expect(tail[0]).toBe("line 12");
    expect(tail.at(-2)).toBe("line 50");
    expect(tail.at(-1)).toBe("boom");
    expect(failureTail(err, 2)).toEqual(["line 50", "boom"]);
  });

  it("skips an empty stream and falls back to the error message", () => {
    expect(failureTail({ cmd: ["x"], exitCode: 2, stdout: "", stderr: "only err\n" })).toEqual(["only err"]);
    expect(failureTail(new Error("\nfirst\nsecond\n"))).toEqual(["first", "second"]);
    expect(failureTail("plain")).toEqual(["plain"]);
  });
});

describe("runChecks keeps what a report needs", () => {
  it("the returned value of a passing check and the tail of a failing one", async () => {
    const [ok, bad] = await runChecks({
      ok: async () => "dir",
      bad: async () => Promise.reject(Object.assign(new Error("x"), { cmd: ["ruff"], exitCode: 1, stdout: "E1\nE2\n", stderr: "" })),
    });
    expect(ok).toMatchObject({ ok: true, value: "dir", tail: [] });
    expect(bad).toMatchObject({ ok: false, tail: ["E1", "E2"] });
    expect(bad!.value).toBeUndefined();
  });

  it("times each check in seconds on the clock it is given, passed or failed, and when it started", async () => {
    // Milliseconds, as performance.now() counts: the run starts at 500; each
    // check starts at 1000 and ends 2500 ms later.
    const ticks = [500, 1000, 1000, 3500, 3500];
    const [ok, bad] = await runChecks(
      { ok: async () => "dir", bad: async () => Promise.reject(new Error("x")) },
      { clock: () => ticks.shift()! },
    );
    expect([ok!.seconds, ok!.start]).toEqual([2.5, 0.5]);
    expect([bad!.seconds, bad!.start]).toEqual([2.5, 0.5]);
  });
});

describe("toRunReport", () => {
  it("marks each job passed or failed, rounds durations, attaches artifacts by job name", () => {
    const report = toRunReport("all-checks", [wheel, leg], {
      "build-wheel": [{ name: "bty_lab-0.77.2.tar.gz", size: 2048, sha256: SHA_A }],
    });
    expect(report).toEqual({
      title: "all-checks",
      ok: false,
      jobs: [
        { name: "build-wheel", status: "passed", seconds: 41.3, reason: "ok", artifacts: [{ name: "bty_lab-0.77.2.tar.gz", size: 2048, sha256: SHA_A }], tail: [] },
        { name: "test:py-314", status: "failed", seconds: 3, reason: leg.reason, artifacts: [], tail: leg.tail },
      ],
    });
    expect(toRunReport("x", [wheel]).ok).toBe(true);
    expect(toRunReport("x", [{ ...wheel, tail: ["stale"] }]).jobs[0]!.tail).toEqual([]);
    expect(toRunReport("x", [{ ...leg, tail: undefined }]).jobs[0]!.tail).toEqual([]);
    // A start time, when the check has one, rounded as durations are.
    expect(toRunReport("x", [{ ...wheel, start: 12.34 }]).jobs[0]!.start).toBe(12.3);
  });
});

describe("toMarkdown", () => {
  it("renders the result line, jobs, artifacts, failure tails and the status marker", () => {
    const report = toRunReport("all-checks", [wheel, leg], {
      "build-wheel": [
        { name: "dist/bty_lab-0.77.2-py3-none-any.whl", size: 1536, sha256: SHA_A },
        { name: "dist/bty_lab-0.77.2.tar.gz", size: 3 * 1024 * 1024, sha256: SHA_B },
      ],
    });
    expect(toMarkdown(report).split("\n")).toEqual([
      "**all-checks: 1 of 2 failed**",
      "",
      "| job | status | duration | result |",
      "|---|---|---|---|",
      "| build-wheel | ✅ passed | 41.3 s | ok |",
      "| test:py-314 | ❌ failed | 3.0 s | `uv run --no-sync pytest` exited 1: == 2 failed == |",
      "",
      "| artifact | job | size | sha256 |",
      "|---|---|---|---|",
      `| \`dist/bty_lab-0.77.2-py3-none-any.whl\` | build-wheel | 1.5 KiB | \`${SHA_A}\` |`,
      `| \`dist/bty_lab-0.77.2.tar.gz\` | build-wheel | 3.0 MiB | \`${SHA_B}\` |`,
      "",
      "<details><summary>test:py-314: last 2 lines</summary>",
      "",
      "```text",
      "FAILED tests/test_a.py::test_x",
      "== 2 failed ==",
      "```",
      "",
      "</details>",
      "",
      "<!-- bty-ci-report: failed -->",
    ]);
  });

  it("ends with the passed marker and no artifact table when nothing was built", () => {
    const md = toMarkdown(toRunReport("publish v1", [{ ...wheel, name: "lint" }]));
    expect(md.split("\n")[0]).toBe("**publish v1: all 1 passed**");
    expect(md).not.toContain("| artifact |");
    expect(md.split("\n").at(-1)).toBe(REPORT_PASSED_MARKER);
    expect(REPORT_FAILED_MARKER).toBe("<!-- bty-ci-report: failed -->");
  });

  it("escapes table cells and fences a log that contains backticks", () => {
    const md = toMarkdown(
      toRunReport("r", [{ name: "a|b", ok: false, seconds: 1, reason: "x | y\nz", tail: ["```", "````x"] }]),
    );
    expect(md).toContain("| a\\|b | ❌ failed | 1.0 s | x \\| y z |");
    expect(md).toContain("`````text\n```\n````x\n`````");
  });
});

describe("toJson and renderReport", () => {
  let report: RunReport;
  beforeEach(() => {
    report = toRunReport("all-checks", [wheel, leg]);
  });

  it("JSON round-trips the report", () => {
    expect(JSON.parse(toJson(report))).toEqual(report);
    expect(toJson(report)).toContain('\n  "title": "all-checks"');
  });

  it("renders text (the aligned table), markdown or json, and rejects other formats", () => {
    expect(renderReport(report, "text").split("\n")[2]).toBe("build-wheel  pass    41.3s     ok");
    expect(renderReport(report, "text")).toMatch(/1 of 2 checks failed$/);
    expect(renderReport(report, "markdown")).toBe(toMarkdown(report));
    expect(renderReport(report, "json")).toBe(toJson(report));
    expect(() => renderReport(report, "html")).toThrow('unknown report format "html": use one of text, markdown, json');
  });

  it("ChecksFailed carries the rendered report, or the table by default", () => {
    expect(new ChecksFailed([leg], "REPORT").message).toBe("\nREPORT");
    // What the CLI prints for the thrown error: the name, then the report.
    expect(String(new ChecksFailed([leg], "REPORT"))).toBe("ChecksFailed: \nREPORT");
    expect(new ChecksFailed([leg]).message).toMatch(/test:py-314\s+FAIL/);
  });
});

describe("humanSize", () => {
  it("uses binary units with one decimal", () => {
    expect(humanSize(0)).toBe("0 B");
    expect(humanSize(1023)).toBe("1023 B");
    expect(humanSize(1024)).toBe("1.0 KiB");
    expect(humanSize(888_778_752)).toBe("847.6 MiB");
    expect(humanSize(5 * 1024 ** 3)).toBe("5.0 GiB");
    expect(humanSize(3 * 1024 ** 5)).toBe("3072.0 TiB");
  });
});
