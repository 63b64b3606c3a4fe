/**
 * `plan` against bty's trigger → job matrix, row by row and column
 * by column, plus the promises of bty's CI page that bty-ci keeps.
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
} from "../../src/pipeline/triggers.js";

const CHECKS = ["lint", "test:py-311", "test:py-312", "test:py-313", "test:py-314", "typecheck", "flash-integration"];
const BUILDS = ["build-wheel", "docs", "build-ipxe", "build-netboot-pc", "build-ramboot-init", "build-usbboot-pc", "build-usbboot-rpi"];
const E2E = ["deploy-integration", "deploy-quadlet-integration", "test-pxe:bios", "test-pxe:uefi", "test-usb-grow", "test-usb-ventoy"];
const GATE = [...CHECKS, ...BUILDS, ...E2E];
/** The tag's writing jobs (bty's attach-to-release, publish-docker, publish-tftp, publish-pypi). */
const WRITERS = ["attach-to-release", "publish-docker", "publish-tftp", "publish-pypi"];

/** The five columns of bty's workflow. */
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

describe("bty's workflow, row by row", () => {
  const ALL = Object.keys(COLUMNS);
  const TAG_COLUMNS = ["push tag v*", "workflow_dispatch (on a tag ref)"];

  it("check-not-published: a v* tag, pushed or dispatched", () => {
    expect(ALL.filter((c) => runs(c as Column, "check-not-published"))).toEqual(TAG_COLUMNS);
  });

  it("lint, test, typecheck, flash-integration, every build and e2e test: every column", () => {
    for (const name of GATE) expect(ALL.filter((c) => runs(c as Column, name)), name).toEqual(ALL);
  });

  it("tag-release: main, pushed or dispatched", () => {
    expect(ALL.filter((c) => runs(c as Column, "tag-release"))).toEqual(["push main", "workflow_dispatch (on main)"]);
  });

  it("attach-to-release, publish-docker, publish-tftp, publish-pypi: a v* tag, pushed or dispatched", () => {
    for (const name of WRITERS) expect(ALL.filter((c) => runs(c as Column, name)), name).toEqual(TAG_COLUMNS);
    expect(ALL.filter((c) => runs(c as Column, "publish"))).toEqual([]);
  });
});

describe("bty's jobs bty-ci ported last", () => {
  it.each(["deploy-integration", "deploy-quadlet-integration"])("%s is ported: an e2e row after build-wheel and build-ipxe on every event that runs checks", (name) => {
    const call = (p: Plan) => plannedCalls(p).find((c) => c.name === name);
    for (const column of ["PR → main", "push main", "workflow_dispatch (on main)"] as const) {
      expect(call(COLUMNS[column]()), column).toEqual({
        name,
        call: [name],
        kind: "e2e",
        needs: ["build-wheel", "build-ipxe"],
        workflow: "ci-cd.yml",
      });
    }
    for (const column of ["push tag v*", "workflow_dispatch (on a tag ref)"] as const) {
      expect(call(COLUMNS[column]()), column).toMatchObject({ kind: "e2e", needs: ["check-not-published", "build-wheel", "build-ipxe"] });
    }
    expect(call(plan("workflow_dispatch", "feature"))).toMatchObject({ kind: "e2e", needs: ["build-wheel", "build-ipxe"] });
    expect(call(plan("pull_request", "main", ["docs/a.md", "src/bty/deploy.py"]))).toMatchObject({ kind: "e2e" });
    // Nothing that runs no checks runs it.
    expect(call(plan("pull_request", "main", ["docs/a.md"]))).toBeUndefined();
    expect(call(plan("push", "feature"))).toBeUndefined();
  });
});

describe("bty's workflow, column by column", () => {
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

  it("push tag v* and a dispatch on it: check-not-published, the same, then the writing jobs; no docs.yml", () => {
    for (const column of ["push tag v*", "workflow_dispatch (on a tag ref)"] as const) {
      const p = COLUMNS[column]();
      expect(ciCd(p).sort(), column).toEqual(["check-not-published", ...GATE, ...WRITERS].sort());
      expect(docsYml(p), column).toEqual([]);
    }
  });

  it("workflow_dispatch on main: everything and tag-release, without docs.yml; on another branch: everything", () => {
    const p = COLUMNS["workflow_dispatch (on main)"]();
    expect(ciCd(p).sort()).toEqual([...GATE, "tag-release"].sort());
    expect(docsYml(p)).toEqual([]);
    expect(ciCd(plan("workflow_dispatch", "feature")).sort()).toEqual([...GATE].sort());
    expect(ciCd(plan("workflow_dispatch", "refs/tags/nightly")).sort()).toEqual([...GATE].sort());
  });
});

describe("paths-ignore", () => {
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
    expect(ciCd(plan("push", "refs/tags/v1.0.0", ["docs/a.md"]))).toContain("publish-pypi");
  });

  it("dispatch ignores path filters", () => {
    expect(ciCd(plan("workflow_dispatch", "main", ["docs/a.md"]))).toContain("tag-release");
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

describe("what bty's CI page promises and bty-ci keeps", () => {
  it("tag-release waits for every check, build and e2e test", () => {
    expect([...needsOf(plan("push", "main"), "tag-release")!].sort()).toEqual([...GATE].sort());
  });

  it("the release waits for check-not-published and every check, build and e2e test; PyPI comes last", () => {
    const p = plan("tag", "v0.77.2");
    expect([...needsOf(p, "attach-to-release")!].sort()).toEqual(["check-not-published", ...GATE].sort());
    expect(needsOf(p, "publish-docker")).toEqual(["attach-to-release"]);
    expect(needsOf(p, "publish-tftp")).toEqual(["attach-to-release"]);
    expect(needsOf(p, "publish-pypi")).toEqual(["publish-docker", "publish-tftp"]);
  });

  it("PXE waits for iPXE and netboot-pc only (not ramboot-init); USB tests for usbboot-pc only", () => {
    const p = plan("pull_request", "main");
    expect(needsOf(p, "test-pxe:bios")).toEqual(["build-ipxe", "build-netboot-pc"]);
    expect(needsOf(p, "test-pxe:uefi")).toEqual(["build-ipxe", "build-netboot-pc"]);
    expect(needsOf(p, "test-usb-grow")).toEqual(["build-usbboot-pc"]);
    expect(needsOf(p, "test-usb-ventoy")).toEqual(["build-usbboot-pc"]);
    expect(needsOf(p, "lint")).toEqual([]);
    expect(needsOf(p, "deploy-integration")).toEqual(["build-wheel", "build-ipxe"]);
  });

  it("on a tag everything waits for check-not-published, as in bty", () => {
    const p = plan("tag", "v0.77.2");
    expect(needsOf(p, "lint")).toEqual(["check-not-published"]);
    expect(needsOf(p, "test-pxe:uefi")).toEqual(["check-not-published", "build-ipxe", "build-netboot-pc"]);
    expect(needsOf(p, "deploy-integration")).toEqual(["check-not-published", "build-wheel", "build-ipxe"]);
  });

  it("stages: checks and builds together, then e2e, then the release step", () => {
    const names = (p: Plan) => p.stages.map((s) => s.map((c) => c.name));
    expect(names(plan("push", "main"))).toEqual([[...CHECKS, ...BUILDS, "docs"], E2E, ["tag-release"]]);
    expect(names(plan("tag", "v1"))).toEqual([
      ["check-not-published"], [...CHECKS, ...BUILDS], E2E, ["attach-to-release"], ["publish-docker", "publish-tftp"], ["publish-pypi"],
    ]);
    expect(names(plan("workflow_dispatch", "main"))).toEqual([[...CHECKS, ...BUILDS], E2E, ["tag-release"]]);
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
    expect(byName("attach-to-release")).toEqual(["attach-to-release", "--tag", "v0.77.2"]);
    expect(byName("publish-pypi")).toEqual(["publish-pypi", "--tag", "v0.77.2"]);
    expect(byName("test-pxe:bios")).toEqual(["test-pxe", "--firmware", "bios"]);
    expect(byName("test:py-313")).toEqual(["test", "py-313"]);
    const main = plan("push", "main");
    expect(callArgs(main, plannedCalls(main).find((c) => c.name === "tag-release")!)).toEqual([
      "tag-release",
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
    const lines = formatPlan(plan("workflow_dispatch", "feature")).split("\n");
    expect(lines.slice(0, 2)).toEqual([
      "workflow_dispatch refs/heads/feature",
      "manual dispatch on refs/heads/feature: every check, build and e2e test (path filters do not apply); no tag, no publish",
    ]);
    expect(lines.slice(3, 7)).toEqual([
      "stage  workflow   job                         call                                    needs",
      "-----  ---------  --------------------------  --------------------------------------  ----------------------------",
      "1      ci-cd.yml  lint                        dagger call lint                        -",
      "1      ci-cd.yml  test:py-311                 dagger call test py-311                 -",
    ]);
    expect(lines).toContain("2      ci-cd.yml  test-pxe:bios               dagger call test-pxe --firmware bios    build-ipxe, build-netboot-pc");
    expect(lines).toContain("2      ci-cd.yml  deploy-integration          dagger call deploy-integration          build-wheel, build-ipxe");
    expect(lines).toContain("2      ci-cd.yml  deploy-quadlet-integration  dagger call deploy-quadlet-integration  build-wheel, build-ipxe");
    expect(lines.slice(-2)).toEqual([
      "",
      "differs from bty: bty's test-pxe waits for the ramboot-init build too; here it waits for build-ipxe and build-netboot-pc only",
    ]);
  });

  it("a release-tag name under push is the tag push; refs/heads/ keeps a branch of that name a branch", () => {
    expect(plan("push", "v0.77.2")).toMatchObject({ event: "push", ref: "refs/tags/v0.77.2" });
    expect(plannedCalls(plan("push", "v0.77.2")).at(-1)?.name).toBe("publish-pypi");
    expect(plan("push", "refs/heads/v0.77.2")).toMatchObject({ ref: "refs/heads/v0.77.2", stages: [] });
    expect(plan("pull_request", "v1")).toMatchObject({ ref: "refs/heads/v1" });
    expect(plan("push", "main").ref).toBe("refs/heads/main");
  });

  it("shows short needs by name and the release gates as a count", () => {
    const text = formatPlan(plan("tag", "v0.77.2", ["pyproject.toml"]));
    expect(text.split("\n")[0]).toBe("push refs/tags/v0.77.2 (1 changed paths)");
    expect(text).toMatch(/^3 +ci-cd\.yml +test-pxe:bios +dagger call test-pxe --firmware bios +check-not-published, build-ipxe, build-netboot-pc$/m);
    expect(text).toMatch(/^4 +ci-cd\.yml +attach-to-release +dagger call attach-to-release --tag v0\.77\.2 +every check, build and e2e test \(21\)$/m);
    expect(text).toMatch(/^6 +ci-cd\.yml +publish-pypi +dagger call publish-pypi --tag v0\.77\.2 +publish-docker, publish-tftp$/m);
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
    expect(lines[firstNote - 2]).toMatch(/^6 +ci-cd\.yml +publish-pypi /);
  });

  it("JSON carries the stages with the tag filled in", () => {
    const json = JSON.parse(planJson(plan("tag", "v2.0.0")));
    expect(json).toMatchObject({ event: "push", ref: "refs/tags/v2.0.0", changedPaths: [] });
    expect(json.stages).toHaveLength(6);
    expect(json.stages[3][0]).toEqual({
      name: "attach-to-release",
      call: ["attach-to-release", "--tag", "v2.0.0"],
      kind: "release",
      needs: ["check-not-published", ...GATE],
      workflow: "ci-cd.yml",
    });
    expect(planJson(plan("push", "feature"))).toBe(
      JSON.stringify({ event: "push", ref: "refs/heads/feature", changedPaths: [], reason: plan("push", "feature").reason, stages: [], differsFromBty: [] }, null, 2),
    );
  });
});

describe("README's plan example", () => {
  it("is what plan prints for a release tag: the table's head and its release stages", () => {
    const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
    const block = /<!-- plan-example:start -->\n```text\n([\s\S]*?)\n```\n<!-- plan-example:end -->/.exec(readme);
    expect(block, "README.md has a plan-example block").not.toBeNull();
    const lines = formatPlan(plan("tag", "v0.77.2")).split("\n");
    const table = [...lines.slice(3, 5), ...lines.filter((l) => /^[456] /.test(l))].join("\n");
    expect(block![1], "update README's plan example to plan's output").toBe(table);
  });
});

describe("reasons and differences, as printed", () => {
  it("says why for each event", () => {
    expect(plan("pull_request", "main").reason).toBe(
      "pull request to main: every check, build and e2e test (no tag, no publish); docs.yml builds the docs as well",
    );
    expect(plan("push", "main").reason).toBe(
      "push to main: every check, build and e2e test, then tag-release tags a new version by that run's report; docs.yml builds the docs and deploys GitHub Pages",
    );
    expect(plan("workflow_dispatch", "main").reason).toBe(
      "manual dispatch on main (path filters do not apply): every check, build and e2e test, then tag-release tags a new version by that run's report",
    );
    expect(plan("tag", "v1.0.0").reason).toBe(
      "push of release tag v1.0.0: path filters do not apply to tags; every check, build and e2e test, then jobs that run no bty code " +
        "verify the checks' artifacts against their report and publish: the GitHub release, the images, PyPI last",
    );
    expect(plan("workflow_dispatch", "refs/tags/v1.0.0").reason).toMatch(/^manual dispatch on release tag v1\.0\.0: /);
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
      "bty's attach-to-release, publish-pypi and publish-docker do not wait for lint, flash-integration or the deploy tests; here every writing job waits for every check",
      "bty's check-not-published refuses a version with any file on the index; here only a completely published one, so re-running a release whose PyPI upload failed finishes it",
      pxe,
    ]);
    expect(plan("workflow_dispatch", "main").differsFromBty).toEqual([pxe]);
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
      "deploy-integration": "e2e",
      "test-pxe:bios": "e2e",
      "test-usb-ventoy": "e2e",
      "attach-to-release": "release",
      "publish-docker": "release",
      "publish-tftp": "release",
      "publish-pypi": "release",
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
