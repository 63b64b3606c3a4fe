/**
 * Payload tier, realistic: every Python-side job's step list runs for real
 * on bty's newest sdist from the package index, the way the job containers
 * run it (uv, ruff, mypy, pytest, loop devices, Sphinx + TeX); lint: lint.test.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { PYTHON_MATRIX, type PythonLeg } from "../../src/config.js";
import { parsePyproject } from "../../src/project.js";
import {
  buildWheelSteps,
  CHECKSUMS,
  DOCS_OUTPUT,
  docsSteps,
  flashIntegrationSteps,
  testSteps,
  typecheckSteps,
} from "../../src/steps.js";
import { btyCheckout, hostLayout, hostPython, requireHostPython, runHostSteps } from "./host.js";

const legs = (Object.keys(PYTHON_MATRIX) as PythonLeg[]).flatMap((leg) => {
  const python = hostPython(leg);
  return python ? [{ leg, python }] : [];
});
const layout = hostLayout(requireHostPython("py312"));

/** pytest's closing line, e.g. "911 passed, 1 skipped, 19 deselected in 70.1s". */
const pytestSummary = (tail: string) => tail.match(/=+ (.*\d+ passed.*) in [\d.]+s/)?.[1];

describe("bty (newest sdist)", () => {
  const checkout = btyCheckout();
  const { version } = parsePyproject(readFileSync(join(checkout, "pyproject.toml"), "utf8"));

  it("has interpreters for the 3.11–3.13 legs here (3.14 runs in the engine tier)", () => {
    expect(legs.map((l) => l.leg)).toEqual(expect.arrayContaining(["py311", "py312", "py313"]));
  });

  it.each(legs)("test $leg: ruff, format check and pytest pass", async ({ leg, python }) => {
    const runs = await runHostSteps(testSteps(hostLayout(python)), btyCheckout(), { logName: `test-${leg}` });
    const summary = pytestSummary(runs.at(-1)!.tail);
    expect(summary).toMatch(/^\d{3,} passed/);
    expect(summary).not.toMatch(/failed|error/);
  });

  it("typecheck: mypy (strict) passes on 3.12", async () => {
    const runs = await runHostSteps(typecheckSteps(layout), btyCheckout(), { logName: "typecheck" });
    expect(runs.at(-1)!.tail).toMatch(/Success: no issues found in \d+ source files/);
  });

  it("build-wheel: wheel and sdist of this version, checksummed", async () => {
    const root = btyCheckout();
    await runHostSteps([...buildWheelSteps(layout), { label: "verify", argv: ["sha256sum", "-c", CHECKSUMS], cwd: "dist" }], root, {
      logName: "build",
    });
    expect(readdirSync(join(root, "dist")).sort()).toEqual([
      CHECKSUMS,
      `bty_lab-${version}-py3-none-any.whl`,
      `bty_lab-${version}.tar.gz`,
    ]);
  });

  it("flash-integration: flash and usb-grow tests pass as root in a container-shaped /dev, only deploy skipped", async () => {
    const runs = await runHostSteps(flashIntegrationSteps(layout), btyCheckout(), { logName: "flash", dev: "container" });
    const tail = runs.at(-1)!.tail;
    expect(pytestSummary(tail)).toMatch(/^\d+ passed/);
    expect(pytestSummary(tail)).not.toMatch(/failed|error/);
    // The only skips are the podman-compose deploy tests (a separate job in bty).
    const skips = tail.split("\n").filter((l) => /SKIPPED/.test(l));
    expect(skips.every((l) => /deploy/.test(l))).toBe(true);
  });

  it("docs: HTML site and bty.pdf, checksummed", async () => {
    const root = btyCheckout();
    await runHostSteps(docsSteps(layout), root, { logName: "docs" });
    const bundle = join(root, DOCS_OUTPUT.bundle);
    expect(existsSync(join(bundle, "html/index.html"))).toBe(true);
    const pdf = readFileSync(join(bundle, "bty.pdf"));
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(statSync(join(bundle, "bty.pdf")).size).toBeGreaterThan(100_000);
    expect(readFileSync(join(bundle, CHECKSUMS), "utf8")).toMatch(/^[0-9a-f]{64} {2}bty\.pdf\n$/);
  });
});
