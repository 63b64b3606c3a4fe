/**
 * Edges of src/'s pure logic that the main unit tests pass over: boundaries,
 * fallbacks and every branch of the PEP 440 pattern. Each case is here
 * because changing one literal, operator or branch in src/ would otherwise
 * go unnoticed (StrykerJS, `npm run mutation`).
 */
import { describe, expect, it } from "vitest";

import { pythonImageRef } from "../../src/python/plan.js";
import { isValidVersion, MISSING_PYPROJECT, parsePyproject, ProjectError } from "../../src/checkout/project.js";
import { clip } from "../../src/clip.js";
import { formatTable, oneLineReason, runChecks, stripAnsi } from "../../src/checks/report.js";

describe("isValidVersion (canonical PEP 440, as uv build names files)", () => {
  it.each([
    "0.77.2",
    "10",
    "1!2.0",
    "1.0a1",
    "1.0b2",
    "1.0rc1",
    "1.0.post1",
    "1.0.dev3",
    "1.0+local",
    "1.0+local.7",
    "1.0a1.post2.dev3+abc.1",
    "12.345.6789",
  ])("accepts %s", (v) => expect(isValidVersion(v)).toBe(true));

  it.each([
    "",
    "latest",
    "v1.0",
    "x1.0",
    "1.0x",
    "1.0.",
    ".1",
    "1..0",
    "1!",
    "!1.0",
    "a!1.0",
    "1.0a",
    "1.0c1",
    "1.0rc",
    "1.0post1",
    "1.0.post",
    "1.0dev1",
    "1.0.dev",
    "1.0+",
    "1.0+ABC",
    "1.0+a..b",
    "1.0+a.",
    "1.0+.a",
    "1.0-1",
    " 1.0",
    "1.0 ",
  ])("refuses %j", (v) => expect(isValidVersion(v)).toBe(false));
});

describe("parsePyproject messages", () => {
  const err = (text: string) => {
    try {
      parsePyproject(text);
    } catch (e) {
      expect(e).toBeInstanceOf(ProjectError);
      expect((e as Error).name).toBe("ProjectError");
      return (e as Error).message;
    }
    throw new Error("no error");
  };

  it("says which [project] key is wrong and how to fix it", () => {
    expect(err("[project]\nname = 3\nversion = \"1.0\"\n")).toBe("pyproject.toml: [project] name must be a string");
    expect(err("[project]\nname = \"\"\nversion = \"1.0\"\n")).toMatch(/^pyproject\.toml: /);
    expect(err("[tool.x]\na = 1\n")).toBe("pyproject.toml: no [project] table: is --source really a bty checkout?");
    expect(err("[project]\nname = \"bty-lab\"\n")).toBe(
      'pyproject.toml: no static [project] version: set `version = "X.Y.Z"` under [project] ' +
        "(bty-ci, like bty's workflow, reads the version from there)",
    );
    expect(err('[project]\nname = "bty-lab"\nversion = "latest"\n')).toBe(
      'pyproject.toml: [project] version "latest" is not a PEP 440 version; ' +
        'use a release like "0.77.2" (optionally with a1/b1/rc1, .postN or .devN)',
    );
  });

  it("quotes the TOML parser's first line and names the fix", () => {
    // smol-toml 1.9.1's message for this text, first line only.
    expect(err("[project\n")).toBe("pyproject.toml is not valid TOML (Invalid TOML document: illegal character in key): fix the syntax");
  });

  it("names the fix for a checkout without pyproject.toml", () => {
    expect(MISSING_PYPROJECT).toBe(
      "no pyproject.toml at the root of the source directory: run bty-ci from a bty checkout, " +
        "or pass one with `--source <path-to-bty>`",
    );
  });
});

describe("pythonImageRef", () => {
  it("replaces every {version}", () => {
    expect(pythonImageRef("r/{version}/python:{version}", "3.12.1")).toBe("r/3.12.1/python:3.12.1");
  });

  it("names the template and an example in its error", () => {
    expect(() => pythonImageRef("python:3.12", "3.12.1")).toThrow(
      '--python-image "python:3.12" has no {version} placeholder: every matrix leg would run on one interpreter; ' +
        'use e.g. "mirror.internal/python:{version}-slim-bookworm"',
    );
  });
});

describe("report edges", () => {
  it("strips every colour/erase sequence, with or without parameters", () => {
    expect(stripAnsi("\x1b[1;31mred\x1b[0m \x1b[Kplain\x1b[38;5;208mX\x1b[m")).toBe("red plainX");
    expect(stripAnsi("a[31mb")).toBe("a[31mb");
  });

  it("keeps text exactly at the limit, cuts one over", () => {
    expect(clip("x".repeat(100))).toBe("x".repeat(100));
    expect(clip("x".repeat(101))).toBe(`${"x".repeat(99)}…`);
    expect(clip("  a  ")).toBe("a");
  });

  it("shows at most four words of the command", () => {
    expect(oneLineReason({ cmd: ["a", "b", "c", "d", "e"], exitCode: 2, stdout: "", stderr: "" })).toBe("`a b c d` exited 2");
  });

  it("prefers stderr's last line, strips colours, and skips blank lines", () => {
    expect(oneLineReason({ cmd: ["x"], exitCode: 1, stdout: "out\n", stderr: "first\n\x1b[31mlast\x1b[0m\n  \n" })).toBe("`x` exited 1: last");
  });

  it("treats only objects with a cmd list and a numeric exit code as failed commands", () => {
    expect(oneLineReason(null)).toBe("null");
    expect(oneLineReason(undefined)).toBe("undefined");
    expect(oneLineReason("boom\nmore")).toBe("boom");
    expect(oneLineReason({ cmd: "x", exitCode: 1, stdout: "", stderr: "" })).toBe("[object Object]");
    expect(oneLineReason(Object.assign(new Error("exec"), { cmd: ["x"], exitCode: "1" }))).toBe("exec");
    expect(oneLineReason(new Error("\x1b[31mred\x1b[0m"))).toBe("red");
    expect(oneLineReason(new Error("\n  \n"))).toBe("failed");
  });

  it("times checks with the real clock unless given one", async () => {
    const [r] = await runChecks({ slow: () => new Promise((ok) => setTimeout(ok, 30)) });
    expect(r!.seconds).toBeGreaterThanOrEqual(0.02);
    expect(r!.seconds).toBeLessThan(5);
  });

  it("pads every column but the last, and says how many of how many failed", () => {
    const table = formatTable([
      { name: "a", ok: true, seconds: 1.25, reason: "ok" },
      { name: "long-name", ok: false, seconds: 10, reason: "why" },
    ]);
    expect(table.split("\n")).toEqual([
      "check      status  duration  reason",
      "---------  ------  --------  ------",
      "a          pass    1.3s      ok",
      "long-name  FAIL    10.0s     why",
      "",
      "1 of 2 checks failed",
    ]);
  });
});
