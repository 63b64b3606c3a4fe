/**
 * The engine tier's wiring, read from the files (it cannot run here): the
 * workflow runs the smoke with a job summary and `dagger check` through
 * dagger-for-github's check verb in the smoke's bty checkout, and the
 * toolchain copy the smoke puts into that checkout is kept out of the
 * checks' source.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { EXPECTED_SOURCE_IGNORE } from "../fixtures/source-ignore.js";

const repo = (path: string) => readFileSync(resolve(import.meta.dirname, "../..", path), "utf8");

interface WorkflowStep {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}

const smoke = repo("test/engine/smoke.sh");
const steps: WorkflowStep[] = parseYaml(repo(".github/workflows/ci.yml")).jobs["engine-smoke"].steps;
const smokeStep = steps.find((s) => s.run?.startsWith("test/engine/smoke.sh"));
const checkStep = steps.find((s) => s.uses?.startsWith("dagger/dagger-for-github@") && s.with?.verb === "check");

describe("engine smoke: the toolchain copy inside bty's checkout", () => {
  const toolchainDir = smoke.match(/^toolchain_dir=(\S+)$/m)?.[1];

  it("goes to .bty-ci, which bty-ci's source ignore list holds, with the dagger.json dagger init writes", () => {
    expect(toolchainDir).toBe(".bty-ci");
    // test/module/registration.test.ts holds the registered list to this one.
    expect(EXPECTED_SOURCE_IGNORE).toEqual(expect.arrayContaining([toolchainDir, "dagger.json", ".dagger"]));
  });

  it("is excluded from bty's git state before any snapshot commit", () => {
    const exclude = smoke.indexOf('for path in "/$toolchain_dir/" /dagger.json; do');
    expect(exclude).toBeGreaterThan(0);
    expect(smoke.indexOf("git add -A")).toBeGreaterThan(exclude);
    expect(smoke).toContain(">>.git/info/exclude");
  });

  it("lists the checks by the names the CLI prints (test:py-311 …)", () => {
    expect(smoke).toMatch(/for name in lint typecheck flash-integration test:py-311 test:py-312 test:py-313 test:py-314; do/);
  });
});

describe("engine-smoke job", () => {
  it("runs the smoke into a kept bty checkout, leaving dagger check to the action, with a job summary", () => {
    expect(smokeStep?.run?.split(/\s+/)).toEqual([
      "test/engine/smoke.sh", "--bty", '"$RUNNER_TEMP/bty"', "--skip-check", "--summary", '"$GITHUB_STEP_SUMMARY"',
    ]);
  });

  it("runs dagger check through dagger-for-github's check verb in that checkout, pinned, summary on", () => {
    expect(checkStep?.with).toEqual({
      version: "0.21.8",
      verb: "check",
      workdir: "${{ runner.temp }}/bty",
      "enable-github-summary": "true",
    });
    expect(steps.indexOf(checkStep!)).toBeGreaterThan(steps.indexOf(smokeStep!));
  });

  it("the smoke script knows the options the workflow passes", () => {
    for (const option of ["--bty", "--skip-check", "--summary"]) expect(smoke).toContain(`    ${option})`);
  });
});

describe("engine-smoke job's KVM", () => {
  it("opens /dev/kvm with the drop-in's rule before the Dagger CLI (and so the engine) starts", () => {
    const kvm = steps.findIndex((s) => s.name === "Allow KVM (before the Dagger engine starts)");
    const install = steps.findIndex((s) => s.uses?.startsWith("dagger/dagger-for-github@"));
    expect(kvm).toBeGreaterThan(0);
    expect(kvm).toBeLessThan(install);
    expect(steps[kvm]!.run?.trim().split("\n")).toEqual([
      `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' | sudo tee /etc/udev/rules.d/99-kvm4all.rules`,
      "sudo udevadm control --reload-rules",
      "sudo udevadm trigger --name-match=kvm",
      "ls -l /dev/kvm",
    ]);
  });
});
