/**
 * `plan` against bty's trigger → job matrix (spec §2), row by row and column
 * by column, plus the promises of bty's CI page that bty-ci keeps (spec §15).
 * Expectations are literals from the spec, not computed by plan.ts.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";

import {
  callArgs,
  formatPlan,
  globToRegExp,
  onlyIgnoredPaths,
  plan,
  plannedCalls,
  planJson,
  summarizeNeeds,
  toStages,
  type Plan,
} from "../../src/plan.js";

const CHECKS = ["lint", "test:py-311", "test:py-312", "test:py-313", "test:py-314", "typecheck", "flash-integration"];
const BUILDS = ["build-wheel", "docs", "build-ipxe", "build-netboot-pc", "build-ramboot-init", "build-usbboot-pc"];
const E2E = ["test-pxe:bios", "test-pxe:uefi", "test-usb-grow", "test-usb-ventoy"];
const GATE = [...CHECKS, ...BUILDS, ...E2E];

/** The five columns of spec §2. */
const COLUMNS = {
  "PR → main": () => plan("pull_request", "main"),
  "push main": () => plan("push", "main"),
  "push tag v*": () => plan("push", "refs/tags/v0.77.2"),
  "workflow_dispatch (on main)": () => plan("workflow_dispatch", "main"),
  "workflow_dispatch (on a tag ref)": () => plan("workflow_dispatch", "refs/tags/v0.77.2"),
} as const;
type Column = keyof typeof COLUMNS;

/** Names of the ci-cd.yml calls a plan starts. */
const ciCd = (p: Plan) => plannedCalls(p).filter((c) => c.workflow === "ci-cd.yml").map((c) => c.name);
const docsYml = (p: Plan) => plannedCalls(p).filter((c) => c.workflow === "docs.yml").map((c) => c.name);
const runs = (column: Column, name: string) => ciCd(COLUMNS[column]()).includes(name);
const needsOf = (p: Plan, name: string) => plannedCalls(p).find((c) => c.name === name)?.needs;

describe("spec §2, row by row", () => {
  it("check-not-published: only a pushed v* tag (bty also runs it for a dispatch on a tag ref)", () => {
    expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, "check-not-published"))).toEqual(["push tag v*"]);
  });

  it("lint, test, typecheck, flash-integration: PR, main and tag; dispatch runs the test legs only", () => {
    for (const name of ["lint", "typecheck", "flash-integration"]) {
      expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, name)), name).toEqual(["PR → main", "push main", "push tag v*"]);
    }
    for (const leg of ["test:py-311", "test:py-312", "test:py-313", "test:py-314"]) {
      expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, leg)), leg).toEqual(Object.keys(COLUMNS));
    }
  });

  it("builds: PR, main and tag; dispatch builds the wheel only", () => {
    expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, "build-wheel"))).toEqual(Object.keys(COLUMNS));
    for (const name of ["docs", "build-ipxe", "build-netboot-pc", "build-ramboot-init", "build-usbboot-pc"]) {
      expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, name)), name).toEqual(["PR → main", "push main", "push tag v*"]);
    }
  });

  it("test-pxe, test-usb-grow, test-usb-ventoy: PR, main and tag, not on dispatch", () => {
    for (const name of E2E) {
      expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, name)), name).toEqual(["PR → main", "push main", "push tag v*"]);
    }
  });

  it("tag-release: a push to main only (bty also tags on a dispatch on main)", () => {
    expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, "tag-release"))).toEqual(["push main"]);
  });

  it("publish: a pushed v* tag only (bty also publishes on a dispatch on a tag ref)", () => {
    expect(Object.keys(COLUMNS).filter((c) => runs(c as Column, "publish"))).toEqual(["push tag v*"]);
  });
});

describe("spec §2 rows bty-ci does not port", () => {
  it("deploy-integration, deploy-quadlet-integration and build-usbboot-rpi are never planned (README: not in bty-ci)", () => {
    for (const column of Object.keys(COLUMNS) as Column[]) {
      for (const name of ["deploy-integration", "deploy-quadlet-integration", "build-usbboot-rpi", "attach-to-release", "publish-pypi"]) {
        expect(runs(column, name), `${column}: ${name}`).toBe(false);
      }
    }
  });
});

describe("spec §2, column by column", () => {
  it("PR → main: every check, build and e2e test; docs.yml builds the docs", () => {
    const p = COLUMNS["PR → main"]();
    expect(ciCd(p).sort()).toEqual([...GATE].sort());
    expect(docsYml(p)).toEqual(["docs"]);
  });

  it("push main: the same, then tag-release", () => {
    const p = COLUMNS["push main"]();
    expect(ciCd(p).sort()).toEqual([...GATE, "tag-release"].sort());
    expect(docsYml(p)).toEqual(["docs"]);
  });

  it("push tag v*: check-not-published, the same, then publish; no docs.yml", () => {
    const p = COLUMNS["push tag v*"]();
    expect(ciCd(p).sort()).toEqual(["check-not-published", ...GATE, "publish"].sort());
    expect(docsYml(p)).toEqual([]);
  });

  it("workflow_dispatch (on main or a tag): the test legs and build-wheel, nothing else", () => {
    for (const column of ["workflow_dispatch (on main)", "workflow_dispatch (on a tag ref)"] as const) {
      const p = COLUMNS[column]();
      expect(ciCd(p), column).toEqual(["test:py-311", "test:py-312", "test:py-313", "test:py-314", "build-wheel"]);
      expect(docsYml(p), column).toEqual([]);
      expect(p.differsFromBty[0]).toMatch(/every job on dispatch/);
    }
  });
});

describe("paths-ignore (spec §1.2)", () => {
  const docsOnly = ["docs/src/ci.md", "README.md", "CHANGELOG.md", "LICENSE", ".github/workflows/docs.yml"];

  it("a docs-only pull request or push to main starts no ci-cd.yml call; docs.yml still builds the docs", () => {
    for (const event of ["pull_request", "push"]) {
      const p = plan(event, "main", docsOnly);
      expect(ciCd(p), event).toEqual([]);
      expect(docsYml(p), event).toEqual(["docs"]);
      expect(p.reason).toMatch(/ci-cd\.yml does not start/);
    }
    expect(plan("push", "main", ["docs/a.md"]).reason).toMatch(/deploys GitHub Pages/);
    expect(plan("pull_request", "main", ["docs/a.md"]).reason).not.toMatch(/deploys/);
  });

  it("one changed path outside the list runs everything", () => {
    expect(ciCd(plan("pull_request", "main", ["docs/a.md", "src/bty/cli.py"])).sort()).toEqual([...GATE].sort());
  });

  it("tags ignore path filters: a docs-only tag push still publishes", () => {
    expect(ciCd(plan("push", "refs/tags/v1.0.0", ["docs/a.md"]))).toContain("publish");
  });

  it("dispatch ignores path filters", () => {
    expect(ciCd(plan("workflow_dispatch", "main", ["docs/a.md"]))).toContain("build-wheel");
  });

  it("matches GitHub's patterns: ** crosses directories, names without a slash match the root only", () => {
    expect(onlyIgnoredPaths(["docs/deep/er/x.png"])).toBe(true);
    expect(onlyIgnoredPaths(["README.md"])).toBe(true);
    expect(onlyIgnoredPaths(["src/README.md"])).toBe(false);
    expect(onlyIgnoredPaths(["docs"])).toBe(false);
    expect(onlyIgnoredPaths(["LICENSE.txt"])).toBe(false);
    expect(onlyIgnoredPaths(["xdocs/a"])).toBe(false);
    expect(onlyIgnoredPaths([".github/workflows/ci-cd.yml"])).toBe(false);
    expect(onlyIgnoredPaths([])).toBe(false);
  });

  it("globToRegExp: * stays within a segment, ? is one character, dots are literal", () => {
    expect(globToRegExp("v*").test("v1.2.3")).toBe(true);
    expect(globToRegExp("v*").test("v1/x")).toBe(false);
    expect(globToRegExp("a?c").test("abc")).toBe(true);
    expect(globToRegExp("a?c").test("a/c")).toBe(false);
    expect(globToRegExp("a.md").test("aXmd")).toBe(false);
    expect(globToRegExp("a/**").test("a/b/c")).toBe(true);
  });

  // The examples of GitHub's filter pattern cheat sheet (workflow syntax docs).
  it.each([
    ["docs/**/*.md", ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"], ["docs.md", "README.md", "docsREADME.md"]],
    ["**/migrate-*.sql", ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"], ["notmigrate-1.sql", "db/migrate-1.sql.bak"]],
    ["**/docs/**", ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"], ["mydocs/a.md", "docs"]],
    ["docs/**", ["docs/README.md", "docs/mona/octocat.txt"], ["README.md", "mydocs/README.md"]],
    ["**.js", ["index.js", "js/index.js", "src/js/app.js"], ["index.json", "indexjs"]],
    // A single * before or after a slash stays in its segment.
    ["a*/b", ["abc/b", "a/b"], ["x/b", "abc/d/b"]],
    ["a*c/d", ["abc/d", "ac/d"], ["x/d", "ab/x/d"]],
    ["docs/*/index.md", ["docs/a/index.md"], ["docs/index.md", "docs/a/b/index.md"]],
  ])("globToRegExp(%j) matches what GitHub's cheat sheet says", (pattern, matches, others) => {
    const re = globToRegExp(pattern);
    for (const p of matches) expect(re.test(p), `${pattern} ~ ${p}`).toBe(true);
    for (const p of others) expect(re.test(p), `${pattern} !~ ${p}`).toBe(false);
  });
});

describe("what bty's CI page promises and bty-ci keeps (spec §15)", () => {
  it("tag-release waits for every check, build and e2e test", () => {
    expect([...needsOf(plan("push", "main"), "tag-release")!].sort()).toEqual([...GATE].sort());
  });

  it("publish waits for check-not-published and every check, build and e2e test", () => {
    expect([...needsOf(plan("tag", "v0.77.2"), "publish")!].sort()).toEqual(["check-not-published", ...GATE].sort());
  });

  it("PXE waits for iPXE and netboot-pc only (not ramboot-init); USB tests for usbboot-pc only", () => {
    const p = plan("pull_request", "main");
    expect(needsOf(p, "test-pxe:bios")).toEqual(["build-ipxe", "build-netboot-pc"]);
    expect(needsOf(p, "test-pxe:uefi")).toEqual(["build-ipxe", "build-netboot-pc"]);
    expect(needsOf(p, "test-usb-grow")).toEqual(["build-usbboot-pc"]);
    expect(needsOf(p, "test-usb-ventoy")).toEqual(["build-usbboot-pc"]);
    expect(needsOf(p, "lint")).toEqual([]);
  });

  it("on a tag everything waits for check-not-published, as in bty", () => {
    const p = plan("tag", "v0.77.2");
    expect(needsOf(p, "lint")).toEqual(["check-not-published"]);
    expect(needsOf(p, "test-pxe:uefi")).toEqual(["check-not-published", "build-ipxe", "build-netboot-pc"]);
  });

  it("stages: checks and builds together, then e2e, then the release step", () => {
    const names = (p: Plan) => p.stages.map((s) => s.map((c) => c.name));
    expect(names(plan("push", "main"))).toEqual([[...CHECKS, ...BUILDS, "docs"], E2E, ["tag-release"]]);
    expect(names(plan("tag", "v1"))).toEqual([["check-not-published"], [...CHECKS, ...BUILDS], E2E, ["publish"]]);
    expect(names(plan("workflow_dispatch", "main"))).toEqual([["test:py-311", "test:py-312", "test:py-313", "test:py-314", "build-wheel"]]);
  });
});

describe("refs and events", () => {
  it("names refs in full: branches, tags, the tag shorthand", () => {
    expect(plan("push", "main").ref).toBe("refs/heads/main");
    expect(plan("push", "refs/heads/main").ref).toBe("refs/heads/main");
    expect(plan("tag", "v1.2.3")).toMatchObject({ event: "push", ref: "refs/tags/v1.2.3" });
    expect(plan("tag", "refs/tags/v1.2.3").ref).toBe("refs/tags/v1.2.3");
    expect(plan("push", "  main ").ref).toBe("refs/heads/main");
  });

  it("runs nothing outside main and v* tags", () => {
    for (const p of [plan("push", "feature"), plan("pull_request", "release-1"), plan("push", "refs/tags/nightly")]) {
      expect(plannedCalls(p), p.ref).toEqual([]);
    }
    expect(plan("push", "feature").reason).toMatch(/^push to feature: .*watch main only/);
    expect(plan("pull_request", "release-1").reason).toMatch(/^pull request to release-1/);
    expect(plan("push", "refs/tags/nightly").reason).toMatch(/not a release tag \(v\*\)/);
  });

  it("rejects bad input naming the fix", () => {
    expect(() => plan("schedule", "main")).toThrow('unknown event "schedule": use one of pull_request, push, tag, workflow_dispatch');
    expect(() => plan("push", " ")).toThrow(/empty ref: pass a branch \(main\)/);
    expect(() => plan("tag", "refs/heads/main")).toThrow(/use --event push for branches/);
  });

  it("fills the tag into the planned calls", () => {
    const p = plan("tag", "v0.77.2");
    const byName = (n: string) => callArgs(p, plannedCalls(p).find((c) => c.name === n)!);
    expect(byName("check-not-published")).toEqual(["check-not-published", "--tag", "v0.77.2"]);
    expect(byName("publish")).toEqual(["publish", "--tag", "v0.77.2", "--head", "."]);
    expect(byName("test-pxe:bios")).toEqual(["test-pxe", "--firmware", "bios"]);
    expect(byName("test:py-313")).toEqual(["test", "py-313"]);
    const main = plan("push", "main");
    expect(callArgs(main, plannedCalls(main).find((c) => c.name === "tag-release")!)).toEqual([
      "tag-release",
      "--head",
      ".",
      "--token",
      "env:RELEASE_PAT",
    ]);
  });
});

describe("toStages", () => {
  const c = (name: string, needs: string[] = []) => ({ name, call: [name], kind: "check" as const, needs, workflow: "ci-cd.yml" as const });
  it("orders by needs and keeps input order within a stage", () => {
    expect(toStages([c("b", ["a"]), c("a"), c("z")]).map((s) => s.map((x) => x.name))).toEqual([["a", "z"], ["b"]]);
  });
  it("names a missing dependency and a cycle", () => {
    expect(() => toStages([c("a", ["x"])])).toThrow("a needs x, which is not planned");
    expect(() => toStages([c("a", ["b"]), c("b", ["a"])])).toThrow("dependency cycle among a, b");
  });
});

describe("formatPlan and planJson", () => {
  it("prints a table with stage, workflow, job, call and needs", () => {
    const lines = formatPlan(plan("workflow_dispatch", "main")).split("\n");
    expect(lines.slice(0, 2)).toEqual([
      "workflow_dispatch refs/heads/main",
      "manual dispatch on refs/heads/main: the package smoke test only (test matrix + build-wheel); never tags or publishes",
    ]);
    expect(lines.slice(3, 10)).toEqual([
      "stage  workflow   job          call                     needs",
      "-----  ---------  -----------  -----------------------  -----",
      "1      ci-cd.yml  test:py-311  dagger call test py-311  -",
      "1      ci-cd.yml  test:py-312  dagger call test py-312  -",
      "1      ci-cd.yml  test:py-313  dagger call test py-313  -",
      "1      ci-cd.yml  test:py-314  dagger call test py-314  -",
      "1      ci-cd.yml  build-wheel  dagger call build-wheel  -",
    ]);
    expect(lines.slice(-4)).toEqual([
      expect.stringMatching(/^differs from bty: bty's workflow runs every job on dispatch/),
      expect.stringMatching(/^not run by bty-ci: deploy-integration: bty's compose lifecycle .*podman-compose/),
      expect.stringMatching(/^not run by bty-ci: deploy-quadlet-integration: .*systemd as PID 1/),
      expect.stringMatching(/^not run by bty-ci: build-usbboot-rpi: an arm64 image built natively on an arm64 runner/),
    ]);
  });

  it("names bty's jobs bty-ci does not run wherever bty's ci-cd.yml would run them, and nowhere else", () => {
    const bty = ["deploy-integration", "deploy-quadlet-integration", "build-usbboot-rpi"];
    for (const [event, ref] of [["pull_request", "main"], ["push", "main"], ["tag", "v1.0.0"], ["workflow_dispatch", "main"]] as const) {
      expect(plan(event, ref).notRun.map((j) => j.job), `${event} ${ref}`).toEqual(bty);
    }
    expect(plan("push", "main", ["docs/index.md"]).notRun).toEqual([]);
    expect(plan("push", "feature").notRun).toEqual([]);
  });

  it("a release-tag name under push is the tag push; refs/heads/ keeps a branch of that name a branch", () => {
    expect(plan("push", "v0.77.2")).toMatchObject({ event: "push", ref: "refs/tags/v0.77.2" });
    expect(plannedCalls(plan("push", "v0.77.2")).at(-1)?.name).toBe("publish");
    expect(plan("push", "refs/heads/v0.77.2")).toMatchObject({ ref: "refs/heads/v0.77.2", stages: [] });
    expect(plan("pull_request", "v1")).toMatchObject({ ref: "refs/heads/v1" });
    expect(plan("push", "main").ref).toBe("refs/heads/main");
  });

  it("shows short needs by name and the release gates as a count", () => {
    const text = formatPlan(plan("tag", "v0.77.2", ["pyproject.toml"]));
    expect(text.split("\n")[0]).toBe("push refs/tags/v0.77.2 (1 changed paths)");
    expect(text).toMatch(/^3 +ci-cd\.yml +test-pxe:bios +dagger call test-pxe --firmware bios +check-not-published, build-ipxe, build-netboot-pc$/m);
    expect(text).toMatch(/^4 +ci-cd\.yml +publish +dagger call publish --tag v0\.77\.2 --head \. +every check, build and e2e test \(18\)$/m);
  });

  it("says when nothing runs", () => {
    expect(formatPlan(plan("push", "feature")).split("\n")).toEqual([
      "push refs/heads/feature",
      "push to feature: bty's workflows watch main only, nothing runs",
      "",
      "nothing runs",
    ]);
  });

  it("a pull request from a tag ref is not a tag push: nothing runs", () => {
    const p = plan("pull_request", "refs/tags/v0.77.2");
    expect(p.reason).toBe("pull request to refs/tags/v0.77.2: bty's workflows watch main only, nothing runs");
    expect(plannedCalls(p)).toEqual([]);
  });

  it("sets the table and the notes apart with blank lines", () => {
    const lines = formatPlan(plan("push", "refs/tags/v0.77.2")).split("\n");
    expect(lines[2]).toBe("");
    expect(lines[3]).toMatch(/^stage +workflow +job +call +needs$/);
    const firstNote = lines.findIndex((l) => l.startsWith("differs from bty: "));
    expect(lines[firstNote - 1]).toBe("");
    expect(lines[firstNote - 2]).toMatch(/^4 +ci-cd\.yml +publish /);
  });

  it("JSON carries the stages with the tag filled in", () => {
    const json = JSON.parse(planJson(plan("tag", "v2.0.0")));
    expect(json).toMatchObject({ event: "push", ref: "refs/tags/v2.0.0", changedPaths: [] });
    expect(json.stages).toHaveLength(4);
    expect(json.stages[3][0]).toEqual({
      name: "publish",
      call: ["publish", "--tag", "v2.0.0", "--head", "."],
      kind: "release",
      needs: ["check-not-published", ...GATE],
      workflow: "ci-cd.yml",
    });
    expect(planJson(plan("push", "feature"))).toBe(
      JSON.stringify({ event: "push", ref: "refs/heads/feature", changedPaths: [], reason: plan("push", "feature").reason, stages: [], differsFromBty: [], notRun: [] }, null, 2),
    );
  });
});

describe("README's plan example", () => {
  it("is what plan prints for a manual dispatch", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    const block = /<!-- plan-example:start -->\n```text\n([\s\S]*?)\n```\n<!-- plan-example:end -->/.exec(readme);
    expect(block, "README.md has a plan-example block").not.toBeNull();
    const table = formatPlan(plan("workflow_dispatch", "main")).split("\n").slice(3, 10).join("\n");
    expect(block![1], "update README's plan example to plan's output").toBe(table);
  });
});

describe("reasons and differences, as printed", () => {
  it("says why for each event", () => {
    expect(plan("pull_request", "main").reason).toBe(
      "pull request to main: every check, build and e2e test (no tag, no publish); docs.yml builds the docs as well",
    );
    expect(plan("push", "main").reason).toBe(
      "push to main: every check, build and e2e test, then tag-release tags a new version; docs.yml builds the docs and deploys GitHub Pages",
    );
    expect(plan("tag", "v1.0.0").reason).toBe(
      "push of release tag v1.0.0: path filters do not apply to tags; every check, build and e2e test, then publish",
    );
    expect(plan("pull_request", "main", ["LICENSE"]).reason).toBe(
      "pull request changing only ignored paths (docs/**, README.md, CHANGELOG.md, LICENSE, .github/workflows/docs.yml): ci-cd.yml does not start; docs.yml builds the docs",
    );
    expect(plan("push", "main", ["LICENSE"]).reason).toBe(
      "push changing only ignored paths (docs/**, README.md, CHANGELOG.md, LICENSE, .github/workflows/docs.yml): ci-cd.yml does not start; docs.yml builds the docs and deploys GitHub Pages",
    );
  });

  it("lists what bty's workflow does differently", () => {
    const pxe = "bty's test-pxe waits for the ramboot-init build too; here it waits for build-ipxe and build-netboot-pc only";
    expect(plan("pull_request", "main").differsFromBty).toEqual([pxe]);
    expect(plan("push", "main").differsFromBty).toEqual([pxe]);
    expect(plan("tag", "v1").differsFromBty).toEqual([
      "bty's attach-to-release, publish-pypi and publish-docker do not wait for lint, flash-integration or the deploy tests; here publish waits for every check",
      pxe,
    ]);
    expect(plan("workflow_dispatch", "main").differsFromBty).toEqual([
      "bty's workflow runs every job on dispatch, can tag from main and publish from a v* tag ref; its CI page promises test + build-wheel only",
    ]);
    expect(plan("pull_request", "main", ["docs/a.md"]).differsFromBty).toEqual([]);
    expect(plan("push", "feature").differsFromBty).toEqual([]);
  });

  it("marks each call's kind and workflow", () => {
    const kinds = Object.fromEntries(plannedCalls(plan("tag", "v1")).map((c) => [c.name, c.kind]));
    expect(kinds).toMatchObject({
      "check-not-published": "preflight",
      lint: "check",
      "test:py-311": "check",
      "flash-integration": "check",
      "build-wheel": "build",
      docs: "build",
      "build-usbboot-pc": "build",
      "test-pxe:bios": "e2e",
      "test-usb-ventoy": "e2e",
      publish: "release",
    });
    expect(plannedCalls(plan("push", "main")).find((c) => c.name === "tag-release")).toMatchObject({ kind: "release", workflow: "ci-cd.yml" });
    expect(plannedCalls(plan("push", "main")).filter((c) => c.workflow === "docs.yml")).toEqual([
      { name: "docs", call: ["docs"], kind: "build", needs: [], workflow: "docs.yml" },
    ]);
  });

  it("summarizes needs by name up to four, as a count beyond", () => {
    expect(summarizeNeeds([])).toBe("-");
    expect(summarizeNeeds(["a", "b", "c", "d"])).toBe("a, b, c, d");
    expect(summarizeNeeds(["a", "b", "c", "d", "e"])).toBe("every check, build and e2e test (5)");
  });
});
