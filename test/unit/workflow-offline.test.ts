/** scripts/offline.ts: plan and workflow without an engine, as the README tells a newcomer. */
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { main } from "../../scripts/offline.js";

function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("offline plan", () => {
  it("prints the table for an event, with comma-separated changed paths", () => {
    const r = run("plan", "--event", "pull_request", "--changed-paths", "docs/a.md, README.md");
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[0]).toBe("pull_request refs/heads/main (2 changed paths)");
    expect(r.out.split("\n").at(-1)).toBe("1      docs.yml  docs  dagger call docs  -");
  });

  it("prints JSON for a tag", () => {
    const r = run("plan", "--event", "tag", "--ref", "v1.0.0", "--format", "json");
    expect(JSON.parse(r.out)).toMatchObject({ event: "push", ref: "refs/tags/v1.0.0", changedPaths: [] });
  });

  it("exits 2 naming the fix for a missing or bad event, a bad format or an unknown flag", () => {
    expect(run("plan")).toMatchObject({ code: 2, err: expect.stringContaining("plan needs --event") });
    expect(run("plan", "--event", "nope").err).toMatch(/^offline\.ts: unknown event "nope"/);
    expect(run("plan", "--event", "push", "--format", "xml").err).toContain('unknown --format "xml": use table or json');
    expect(run("plan", "--bogus").code).toBe(2);
    expect(run("deploy")).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "deploy": use plan or workflow') });
    expect(run()).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "": use plan or workflow') });
  });

  it("prints its usage for --help", () => {
    const r = run("plan", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage:\n  offline\.ts plan --event/);
    expect(run("--help").code).toBe(0);
  });
});

describe("offline workflow", () => {
  it("prints the drop-in for the given module (default bty-ci at main)", () => {
    const pinned = run("workflow", "--module", "github.com/safl/bty-ci@v0.2.0");
    expect(pinned.code).toBe(0);
    expect(parseYaml(pinned.out).name).toBe("CI");
    expect(pinned.out).toContain("-m github.com/safl/bty-ci@v0.2.0 call all-checks");
    expect(run("workflow").out).toContain("-m github.com/safl/bty-ci@v0.2.0 call");
    expect(run("workflow", "--module", "").out).toContain("call bty-ci all-checks");
    expect(run("workflow", "--module", "github.com/safl/bty-ci").code).toBe(2);
  });
});
