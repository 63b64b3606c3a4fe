import { describe, expect, it } from "vitest";

import { clip } from "../../src/clip.js";
import { ChecksFailed, formatTable, oneLineReason, runChecks, summarize } from "../../src/checks/report.js";

describe("oneLineReason", () => {
  it("names the command, exit code and its last stderr line", () => {
    const err = Object.assign(new Error("exec failed"), {
      cmd: ["uv", "run", "--no-sync", "pytest", "-x"],
      exitCode: 1,
      stdout: "collected 12 items\n",
      stderr: "\x1b[31mFAILED tests/test_a.py::test_x\x1b[0m\n== 1 failed, 11 passed in 2.0s ==\n\n",
    });
    expect(oneLineReason(err)).toBe("`uv run --no-sync pytest` exited 1: == 1 failed, 11 passed in 2.0s ==");
  });

  it("falls back to stdout when stderr is empty", () => {
    const err = { cmd: ["ruff", "check"], exitCode: 1, stdout: "Found 3 errors.\n", stderr: "" };
    expect(oneLineReason(err)).toBe("`ruff check` exited 1: Found 3 errors.");
  });

  it("uses the first non-empty line of other errors", () => {
    expect(oneLineReason(new Error("\npyproject.toml: no [project] table\nmore"))).toBe(
      "pyproject.toml: no [project] table",
    );
  });
});

describe("clip", () => {
  it("keeps short text and flattens whitespace", () => expect(clip("a\n  b")).toBe("a b"));
  it("cuts long text to the limit", () => expect(clip("x".repeat(200), 10)).toBe(`${"x".repeat(9)}…`));
});

describe("runChecks", () => {
  it("runs all checks concurrently and never stops at a failure", async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const results = runChecks({
      slow: async () => {
        started.push("slow");
        await gate;
      },
      broken: async () => {
        started.push("broken");
        throw new Error("boom");
      },
      fast: async () => {
        started.push("fast");
        release();
      },
    });
    const done = await results;
    expect(started.sort()).toEqual(["broken", "fast", "slow"]);
    expect(done.map((r) => [r.name, r.ok, r.reason])).toEqual([
      ["slow", true, "ok"],
      ["broken", false, "boom"],
      ["fast", true, "ok"],
    ]);
  });

  it("measures each check with the given clock", async () => {
    let t = 0;
    const [r] = await runChecks({ one: async () => void (t += 2500) }, { clock: () => t });
    expect(r!.seconds).toBe(2.5);
  });

  it("runs each check inside the wrapper, which sees failures too", async () => {
    const seen: string[] = [];
    const results = await runChecks(
      { good: async () => "fine", bad: async () => Promise.reject(new Error("nope")) },
      {
        wrap: async (name, run) => {
          try {
            return await run();
          } finally {
            seen.push(name);
          }
        },
      },
    );
    expect(seen.sort()).toEqual(["bad", "good"]);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
  });
});

describe("formatTable and summarize", () => {
  const pass = { name: "lint", ok: true, seconds: 12.34, reason: "ok" };
  const fail = { name: "test:py314", ok: false, seconds: 3, reason: "`uv sync` exited 2: no wheel" };

  it("aligns columns and counts failures", () => {
    const table = formatTable([pass, fail]);
    expect(table.split("\n")).toEqual([
      "check       status  duration  reason",
      "----------  ------  --------  ----------------------------",
      "lint        pass    12.3s     ok",
      "test:py314  FAIL    3.0s      `uv sync` exited 2: no wheel",
      "",
      "1 of 2 checks failed",
    ]);
  });

  it("returns the table when all pass", () => {
    expect(summarize([pass])).toMatch(/all 1 checks passed$/);
  });

  it("throws ChecksFailed carrying the table when any fails", () => {
    expect(() => summarize([pass, fail])).toThrow(ChecksFailed);
    expect(() => summarize([pass, fail])).toThrow(/test:py314\s+FAIL/);
  });
});
