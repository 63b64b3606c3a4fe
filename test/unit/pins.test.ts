/** The Dagger version is pinned in several files; they must agree. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { IPXE, WORKFLOW_PINS } from "../../src/config.js";

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

  it("every action is pinned by commit, with its release as a comment; the drop-in's actions by the drop-in's commits", () => {
    const text = repo(".github/workflows/ci.yml");
    const uses = [...text.matchAll(/^\s+(?:- )?uses: (\S+)(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as const);
    expect(uses.length).toBeGreaterThanOrEqual(5);
    for (const [ref, comment] of uses) {
      expect(ref, ref).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
      expect(comment, ref).toMatch(/^# v\d+\.\d+\.\d+$/);
    }
    const refs = uses.map(([ref]) => ref);
    // The same commits the drop-in (src/config.ts WORKFLOW_PINS) pins, written out here.
    expect(refs.filter((r) => r.startsWith("dagger/dagger-for-github@"))).toEqual(Array(2).fill(WORKFLOW_PINS.daggerAction));
    expect(refs.filter((r) => r.startsWith("actions/checkout@"))).toEqual(Array(2).fill(WORKFLOW_PINS.checkout));
    expect(uses.find(([r]) => r === WORKFLOW_PINS.daggerAction)?.[1]).toBe("# v8.4.1");
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

  it("the README's test command is .ci/run, which installs what npm test needs and runs it", () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(repo("README.md"))![1]!;
    expect(firstBlock).toMatch(/^sudo \.ci\/run\b/m);
    expect(repo(".ci/run")).toMatch(/^npm ci\b/m);
    expect(repo(".ci/run")).toMatch(/^npm test$/m);
  });
});

describe("iPXE pins", () => {
  it("pins a full commit of upstream iPXE and a size band around bty's ~1 MB", () => {
    expect(IPXE.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(IPXE.gitUrl).toBe("https://github.com/ipxe/ipxe.git");
    // The binary bty's files give at the pinned commit (1,146,368 bytes) and Debian's 996 KB stock one fit.
    for (const size of [1_146_368, 996 * 1024]) {
      expect(size).toBeGreaterThanOrEqual(IPXE.minBytes);
      expect(size).toBeLessThanOrEqual(IPXE.maxBytes);
    }
  });
});

describe("bty-ci's own version", () => {
  const version: string = JSON.parse(repo("package.json")).version;
  it("is CHANGELOG.md's newest release", () => {
    expect(/^## v(\S+) /m.exec(repo("CHANGELOG.md"))?.[1]).toBe(version);
  });
  it("is what the drop-in pins by default and the README's examples pin", () => {
    const pinned = `github.com/safl/bty-ci@v${version}`;
    expect(repo("src/index.ts")).toContain(`module: string = "${pinned}"`);
    const readmePins = [...repo("README.md").matchAll(/github\.com\/safl\/bty-ci@([\w.-]+)/g)].map((m) => m[1]);
    expect(readmePins.length).toBeGreaterThan(3);
    expect(new Set(readmePins)).toEqual(new Set([`v${version}`]));
  });
});
