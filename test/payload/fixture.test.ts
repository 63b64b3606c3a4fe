/**
 * Payload tier, fast: bty-ci's step lists run for real (uv, ruff, mypy,
 * pytest, losetup) on a small bty-shaped fixture — including the failures
 * they must report (lint's: lint.test.ts).
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { CHECKSUMS, buildWheelSteps, flashIntegrationSteps, testSteps, typecheckSteps } from "../../src/python/plan.js";
import { fixtureCheckout, hostLayout, requireHostPython, runHostSteps } from "./host.js";

const layout = hostLayout(requireHostPython("py312"));

describe("mini-bty fixture", () => {
  it("a test leg passes, and a failing test fails the pytest step", async () => {
    const root = fixtureCheckout("mini-bty");
    const runs = await runHostSteps(testSteps(layout), root);
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    expect(runs.at(-1)!.tail).toMatch(/1 passed, 1 deselected/);

    writeFileSync(join(root, "tests/test_broken.py"), "def test_broken() -> None:\n    assert 1 == 2\n");
    const failed = await runHostSteps(testSteps(layout), root, { expectSuccess: false, logName: "test-bad" });
    expect(failed.at(-1)).toMatchObject({ label: "pytest", exitCode: 1 });
  });

  it("a stale uv.lock fails the sync instead of being rewritten", async () => {
    const root = fixtureCheckout("mini-bty");
    const pyproject = join(root, "pyproject.toml");
    writeFileSync(pyproject, readFileSync(pyproject, "utf8").replace("dependencies = []", 'dependencies = ["packaging"]'));
    const lock = readFileSync(join(root, "uv.lock"), "utf8");
    const runs = await runHostSteps(testSteps(layout), root, { expectSuccess: false, logName: "stale-lock" });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ label: "uv sync" });
    expect(runs[0]!.exitCode).not.toBe(0);
    expect(runs[0]!.tail).toMatch(/needs to be updated/);
    expect(readFileSync(join(root, "uv.lock"), "utf8")).toBe(lock);
  });

  it("typecheck catches a type error", async () => {
    const root = fixtureCheckout("mini-bty");
    await runHostSteps(typecheckSteps(layout), root);
    appendFileSync(join(root, "src/mini_bty/flash.py"), "\n\ndef bad() -> int:\n    return 'x'\n");
    const runs = await runHostSteps(typecheckSteps(layout), root, { expectSuccess: false, logName: "mypy-bad" });
    expect(runs.at(-1)).toMatchObject({ label: "mypy", exitCode: 1 });
  });

  it("build writes wheel + sdist with a SHA256SUMS that verifies", async () => {
    const root = fixtureCheckout("mini-bty");
    await runHostSteps(buildWheelSteps(layout), root);
    const dist = join(root, "dist");
    expect(readdirSync(dist).sort()).toEqual([CHECKSUMS, "mini_bty-0.1.0-py3-none-any.whl", "mini_bty-0.1.0.tar.gz"]);
    const sums = readFileSync(join(dist, CHECKSUMS), "utf8").trim().split("\n");
    expect(sums.map((l) => l.split(/\s+/)[1])).toEqual(["mini_bty-0.1.0-py3-none-any.whl", "mini_bty-0.1.0.tar.gz"]);
    await runHostSteps([{ label: "verify", argv: ["sha256sum", "-c", CHECKSUMS], cwd: "dist" }], root);
  });

  it("flash integration flashes onto a real loop device as root", async () => {
    const root = fixtureCheckout("mini-bty");
    const runs = await runHostSteps(flashIntegrationSteps(layout), root, { dev: "container" });
    expect(runs.at(-1)!.tail).toMatch(/1 passed, 1 deselected/);
  });
});
