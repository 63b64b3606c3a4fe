/**
 * The engine tier's readers of the CLI's tables and of the README's
 * reference, on the output the real `dagger` CLI v0.21.8 printed here.
 */
import { describe, expect, it } from "vitest";

import { firstColumn, referenceFunctions } from "../engine/cli-output.js";

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

describe("referenceFunctions", () => {
  const reference = [
    "# Function reference",
    "## `bty-ci` (constructor)",
    "### `version` → string",
    "### `lint` → void (check)",
    "### `test` → TestMatrix",
    "### `test py-311` → void (check)",
    "#### `not-a-function` → string",
    "### `test-usb-grow` → Directory (cache: never)",
    "### `all-checks` → string (cache: session)",
  ].join("\n");

  it("lists the top-level functions, and the checks as check -l names them", () => {
    expect(referenceFunctions(reference)).toEqual({
      functions: ["version", "lint", "test", "test-usb-grow", "all-checks"],
      checks: ["lint", "test:py-311"],
    });
  });

  it("refuses a text without function headings", () => {
    expect(() => referenceFunctions("# x\n")).toThrow("no function headings (### `name` → Type): is this docs/reference.md?");
  });
});
