/**
 * The checkout a call works on, through the real SDK against the recording
 * engine: the engine-injected workspace (a `Workspace` state field, as the
 * engine passes it), --source, and bty's pinned release through the engine's
 * git. Literals from bty's repository (the v0.77.2 tag's commit) and bty-ci's
 * design.
 */
import { describe, expect, it } from "vitest";

import { EXPECTED_SOURCE_IGNORE } from "../fixtures/source-ignore.js";
import { ALL_CHECKS_ARGS, NETBOOT_TRIO, PRE_COMMIT_CONFIG } from "../harness/checkout.js";
import type { Call } from "../harness/engine.js";
import { invokeFunction } from "../harness/invoke.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const BTY = (version: string) => `[project]\nname = "bty-lab"\nversion = "${version}"\n`;
const OTHER = '[project]\nname = "nosi"\nversion = "0.1.0"\n';
const V0772 = "be25ebf131383bca2e0a1faefe87b1a4ef694875";

const engine = useRecordingEngine({ scan: files });
const state = { pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "", workspace: "Workspace:caller" };

/** Answers for a workspace whose pyproject.toml is `workspacePyproject`; bty's pinned tree is 0.77.2, a given source `sourcePyproject`. */
function checkoutAnswers(workspacePyproject: string | undefined, sourcePyproject = BTY("0.78.0")): void {
  const fromWorkspace = (chain: Call[]) => chain[0]?.args.id === "Workspace:caller";
  const fromGit = (chain: Call[]) => chain.some((c) => c.field === "git");
  engine.answer("exists", (ctx: { chain: Call[] }) => (fromWorkspace(ctx.chain) ? workspacePyproject !== undefined : true));
  engine.answer("contents", (ctx: { chain: Call[] }) => {
    if (ctx.chain.some((c) => c.field === "file" && c.args.path === ".pre-commit-config.yaml")) return PRE_COMMIT_CONFIG;
    if (fromWorkspace(ctx.chain)) return workspacePyproject;
    return fromGit(ctx.chain) ? BTY("0.77.2") : sourcePyproject;
  });
  engine.answer("entries", NETBOOT_TRIO);
  engine.answer("ref", "refs/heads/main");
  engine.answer("commit", "c0ffee");
}

const call = (fnName: string, args: Record<string, unknown> = {}, over: Record<string, string> = {}) =>
  invokeFunction({ files, fnName, parentState: { ...state, ...over }, args });

/** The steps of the tree mounted at /src by the container `id` comes from. */
const mountedSource = (id: unknown): unknown[] | undefined => {
  const src = engine.pipelineOf(String(id))?.find((c) => c.field === "withDirectory" && c.args.path === "/src");
  return engine.pipelineOf(String(src?.args.source))?.map((c) => [c.field, c.args]);
};
/** Every query that read a file named `path`, by where its chain starts. */
const reads = (path: string) =>
  engine.chains().filter((chain) => chain.some((c) => c.field === "file" && c.args.path === path)).map((chain) => chain.slice(0, -2).map((c) => [c.field, c.args]));

describe("no --source, called from bty's checkout", () => {
  it("works on the workspace's git root minus caches and build output, having read only its pyproject.toml to decide", async () => {
    checkoutAnswers(BTY("0.78.0"));
    expect(await call("version")).toBe("0.78.0");
    expect(reads("pyproject.toml")).toContainEqual([
      ["node", { id: "Workspace:caller" }],
      ["directory", { path: "/", include: ["pyproject.toml"] }],
    ]);
    engine.reset();
    checkoutAnswers(BTY("0.78.0"));
    expect(mountedSource(await call("buildWheel"))).toEqual([
      ["node", { id: "Workspace:caller" }],
      ["directory", { path: "/", exclude: EXPECTED_SOURCE_IGNORE }],
    ]);
  });

  it("the release functions take the workspace's git HEAD as the checked-out commit", async () => {
    checkoutAnswers(BTY("0.77.2"));
    engine.answer("stdout", "c0ffee\n");
    await call("tagRelease", { token: "Secret:pat", repo: "safl/bty", apiUrl: "https://api.github.com", ...ALL_CHECKS_ARGS });
    const heads = engine.chains().filter((chain) => chain.some((c) => c.field === "head"));
    expect(heads[0]?.slice(0, 4).map((c) => [c.field, c.args])).toEqual([
      ["node", { id: "Workspace:caller" }],
      ["directory", { path: "/", include: [".git/"] }],
      ["asGit", {}],
      ["head", {}],
    ]);
  });

  it("all-checks' report starts by saying it checked the checkout it was called from", async () => {
    checkoutAnswers(BTY("0.78.0"));
    const text = String(await call("allChecks", { ...ALL_CHECKS_ARGS, format: "markdown", failOnError: false }));
    expect(text.split("\n")[0]).toBe("bty 0.78.0: the checkout this was called from");
  });
});

describe("no --source, called from anywhere else", () => {
  it.each([
    ["another Python project", OTHER],
    ["a directory without pyproject.toml (bty-ci's own clone, a home directory)", undefined],
  ])("%s: bty 0.77.2 at its pinned commit, through the engine's git, and the report's first line says so", async (_, pyproject) => {
    checkoutAnswers(pyproject);
    expect(mountedSource(await call("buildWheel"))).toEqual([
      ["git", { url: "https://github.com/safl/bty.git" }],
      ["commit", { id: V0772 }],
      ["tree", { discardGitDir: true }],
    ]);
    engine.reset();
    checkoutAnswers(pyproject);
    const text = String(await call("allChecks", { ...ALL_CHECKS_ARGS, failOnError: false }));
    expect(text.split("\n")[0]).toBe(
      "bty 0.77.2 at its pinned release (commit be25ebf13138): no bty checkout here; run from bty's checkout or pass --source to check yours",
    );
  });

  it("tag-release has nothing to release: refused before anything runs", async () => {
    checkoutAnswers(OTHER);
    await expect(call("tagRelease", { token: "Secret:pat", repo: "safl/bty", apiUrl: "https://api.github.com", ...ALL_CHECKS_ARGS })).rejects.toThrow(
      "tag-release releases a bty checkout, and there is none here: run it from bty's checkout (or pass --source and --head)",
    );
    expect(engine.execs()).toEqual([]);
  });
});

describe("--source", () => {
  it("is the checkout, whatever the workspace is; the workspace is not read", async () => {
    checkoutAnswers(OTHER, BTY("0.78.0"));
    expect(mountedSource(await call("buildWheel", {}, { source: "Directory:given" }))).toEqual([["node", { id: "Directory:given" }]]);
    expect(engine.chains().some((chain) => chain[0]?.args.id === "Workspace:caller")).toBe(false);
  });

  it("that is not bty is refused naming the fix, before any container runs", async () => {
    checkoutAnswers(BTY("0.77.2"), OTHER);
    await expect(call("buildWheel", {}, { source: "Directory:bty-ci" })).rejects.toThrow(
      /^--source is not a bty checkout: its \[project\] name is "nosi", not "bty-lab"; pass bty's checkout with --source <path-to-bty>/,
    );
    expect(engine.execs()).toEqual([]);
  });

  it("without --head, a release function asks for it, by its name", async () => {
    checkoutAnswers(BTY("0.77.2"), BTY("0.77.2"));
    await expect(call("publish", { tag: "v0.77.2", dryRun: true, ...ALL_CHECKS_ARGS }, { source: "Directory:given" })).rejects.toThrow(
      "publish with --source needs that checkout's commit too: add --head with the same path (e.g. --source ../bty --head ../bty)",
    );
    const attach = { tag: "v0.77.2", token: "Secret:github-token", repo: "safl/bty", apiUrl: "https://api.github.com" };
    await expect(call("attachToRelease", attach, { source: "Directory:given" })).rejects.toThrow(/^attach-to-release with --source needs/);
    const tag = { token: "Secret:pat", repo: "safl/bty", apiUrl: "https://api.github.com", ...ALL_CHECKS_ARGS };
    await expect(call("tagRelease", tag, { source: "Directory:given" })).rejects.toThrow(/^tag-release with --source needs/);
    expect(engine.execs()).toEqual([]);
  });
});

describe("bty's pinned release out of reach", () => {
  it("says so with the fix, instead of the engine's bare git error", async () => {
    checkoutAnswers(undefined);
    engine.answer("exists", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "git")) throw new Error("git error: exit status 128");
      return false;
    });
    await expect(call("version")).rejects.toThrow(
      /^no bty checkout here, and bty 0\.77\.2 at its pinned release could not be fetched \(https:\/\/github\.com\/safl\/bty\.git at be25ebf131383bca2e0a1faefe87b1a4ef694875: .*git error: exit status 128.*\): run from bty's checkout, or pass one with --source <path-to-bty>$/,
    );
  });
});
