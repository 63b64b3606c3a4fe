/** The Dagger version is pinned in several files; they must agree. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const repo = (path: string) => readFileSync(resolve(import.meta.dirname, "../..", path), "utf8");

const engineVersion: string = JSON.parse(repo("dagger.json")).engineVersion;

describe("Dagger version pins", () => {
  it("dagger.json pins an exact 0.21 engine", () => {
    expect(engineVersion).toMatch(/^v0\.21\.\d+$/);
  });

  it("the workflow installs the same CLI version", () => {
    const workflow = parseYaml(repo(".github/workflows/ci.yml"));
    const steps = Object.values(workflow.jobs).flatMap((job) => (job as { steps: { uses?: string; with?: { version?: string } }[] }).steps);
    const dagger = steps.filter((s) => s.uses?.startsWith("dagger/dagger-for-github@"));
    expect(dagger.length).toBeGreaterThan(0);
    for (const step of dagger) expect(`v${step.with?.version}`).toBe(engineVersion);
  });

  it("the SDK used by the offline tiers is the pinned engine's own version", () => {
    const sdk: string = JSON.parse(repo("package.json")).devDependencies["dagger-sdk"];
    expect(sdk).toBe(`npm:@dagger.io/dagger@${engineVersion.replace(/^v/, "")}`);
  });

  it("the module tier validates queries against the pinned engine's schema", () => {
    const schema = repo(`test/fixtures/dagger/schema-${engineVersion}.graphqls`);
    expect(schema.split("\n")[1]).toContain(`at tag ${engineVersion}`);
  });

  it("README and smoke script name the pinned CLI version", () => {
    expect(repo("README.md")).toContain(engineVersion);
    expect(repo("test/engine/smoke.sh")).toContain(engineVersion);
  });

  it(".ci/run runs the README's test command", () => {
    expect(repo("README.md")).toMatch(/^npm test\b/m);
    expect(repo(".ci/run")).toMatch(/^npm test$/m);
  });
});
