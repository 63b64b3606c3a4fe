/**
 * The engine tier's readers of the CLI's tables and of the README's
 * reference, on the output the real `dagger` CLI v0.21.8 printed here.
 */
import { describe, expect, it } from "vitest";

import { firstColumn, readmeReference } from "../engine/cli-output.js";

const BOLD = (s: string) => `\x1b[1m${s}\x1b[0m`;

describe("firstColumn", () => {
  it("reads `dagger functions`: the rows after the bold header, up to the blank line before the footer", () => {
    const out = [
      `${BOLD("Name")}                  ${BOLD("Description")}`,
      "all-checks            Every check and build at once, without stopping at the first failure.",
      "workflow              The drop-in .github/workflows/ci-cd.yml for bty's repository:",
      "",
      "\x1b[2mSkipped 1 function(s) with unsupported types: with\x1b[0m",
      "",
    ].join("\n");
    expect(firstColumn(out)).toEqual(["all-checks", "workflow"]);
  });

  it("reads `dagger check -l` of a toolchain, names with their prefix", () => {
    const out = `${BOLD("Name")}                       ${BOLD("Description")}\nbty-ci:lint                pre-commit: ruff\nbty-ci:test:py-311         Python 3.11 leg.\n`;
    expect(firstColumn(out)).toEqual(["bty-ci:lint", "bty-ci:test:py-311"]);
  });

  it("refuses output with no table, showing it", () => {
    expect(() => firstColumn("Error: module not found")).toThrow('no "Name" header in the CLI\'s table:\nError: module not found');
  });
});

describe("readmeReference", () => {
  const readme = [
    "# x",
    "#### `outside` → string",
    "<!-- reference:start -->",
    "### `bty-ci` (constructor)",
    "#### `version` → string",
    "#### `lint` → void (check)",
    "#### `test` → TestMatrix",
    "#### `test py-311` → void (check)",
    "#### `test-usb-grow` → Directory (cache: never)",
    "#### `all-checks` → string (cache: session)",
    "<!-- reference:end -->",
  ].join("\n");

  it("lists the top-level functions, and the checks as check -l names them", () => {
    expect(readmeReference(readme)).toEqual({
      functions: ["version", "lint", "test", "test-usb-grow", "all-checks"],
      checks: ["lint", "test:py-311"],
    });
  });

  it("refuses a README without the generated block", () => {
    expect(() => readmeReference("# x\n")).toThrow("README.md has no <!-- reference:start --> … <!-- reference:end --> block");
  });
});
