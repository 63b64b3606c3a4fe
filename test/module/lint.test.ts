/**
 * lint (decision D1) through the real SDK against the recording
 * engine: the image, packages, caches and commands of the lint container, and
 * where the hook manifests come from (the engine's git at bty's revs, or the
 * caller's directory, never both). Expectations are literals from the spec and
 * D1, not values imported from src/.
 */
import { describe, expect, it } from "vitest";

import type { Call } from "../harness/engine.js";
import { invokeFunction } from "../harness/invoke.js";
import { findArgument, listFunctions, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const PYPROJECT = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n';

// bty's hook set at f3cab0c.
const btyConfig = (ruffRev = "v0.15.15") => `exclude: '\\.min\\.(css|js)$'
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: ${ruffRev}
    hooks:
      - id: ruff-check
        args: [--fix]
      - id: ruff-format
  - repo: https://github.com/koalaman/shellcheck-precommit
    rev: v0.11.0
    hooks:
      - id: shellcheck
        args: [--severity=warning, --external-sources]
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v6.0.0
    hooks:
      - id: trailing-whitespace
      - id: check-yaml
`;

const BTY_MANIFESTS = [
  "astral-sh.ruff-pre-commit@v0.15.15.yaml",
  "koalaman.shellcheck-precommit@v0.11.0.yaml",
  "pre-commit.pre-commit-hooks@v6.0.0.yaml",
];

const MANIFESTS_DIR = "/opt/bty-ci/hook-manifests";

// The four lint commands (D1), as the 3.12 image runs them.
const LINT_ARGV = [
  ["git", "init", "-q"],
  ["git", "add", "-A"],
  ["git", "-c", "user.name=bty-ci", "-c", "user.email=bty-ci@localhost", "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "checkout"],
  [
    "uv", "run", "--no-project", "--python", "/usr/local/bin/python3", "--with", "pyyaml==6.0.3",
    "python", "/opt/bty-ci/ci/localize-pre-commit.py", ".pre-commit-config.yaml",
    "--manifests", MANIFESTS_DIR, "--output", ".git/bty-ci-pre-commit.yaml",
  ],
  [
    "uv", "tool", "run", "--python", "/usr/local/bin/python3", "--from", "pre-commit==4.7.0",
    "pre-commit", "run", "--all-files", "--show-diff-on-failure", "--color=always",
    "--config", ".git/bty-ci-pre-commit.yaml",
  ],
];

const state = {
  source: "Directory:bty",
  pythonImage: "python:{version}-slim-bookworm",
  pythonIndex: "",
  debianMirror: "",
};

let config: string;
let missingFile: string | undefined;
let manifestEntries: string[];

const engine = useRecordingEngine({
  scan: files,
  answers: (engine) => {
    config = btyConfig();
    missingFile = undefined;
    manifestEntries = [...BTY_MANIFESTS, "README.md"];
    engine.answer("exists", ({ args }: Call) => args.path !== missingFile);
    engine.answer("contents", ({ chain }: { chain: Call[] }) => {
      const path = [...chain].reverse().find((c) => c.field === "file")?.args.path;
      return path === ".pre-commit-config.yaml" ? config : PYPROJECT;
    });
    engine.answer("entries", ({ chain }: { chain: Call[] }) =>
      chain[0]?.args.id === "Directory:manifests" ? manifestEntries : [],
    );
  },
});

const lint = (over: Record<string, unknown> = {}) =>
  invokeFunction({ files, fnName: "lint", parentState: { ...state, ...over } });

/** The lint container's pipeline (the one chain that starts from an image). */
function job(): Call[] {
  const jobs = engine.chains().filter((chain) => chain.some((c) => c.field === "from"));
  expect(new Set(jobs.map((chain) => JSON.stringify(chain))).size).toBe(1);
  return jobs[0]!;
}

const execs = (chain: Call[]) => chain.filter((c) => c.field === "withExec").map((c) => c.args);
const pipeline = (id: unknown) => engine.pipelineOf(String(id))?.map(({ field, args }) => ({ field, args }));
const mountOf = (chain: Call[], path: string) =>
  chain.find((c) => c.field === "withDirectory" && c.args.path === path)?.args.source;

/** What the directory mounted at MANIFESTS_DIR is made of: file name -> the File's pipeline. */
function fetchedManifests(chain: Call[]) {
  const dir = pipeline(mountOf(chain, MANIFESTS_DIR))!;
  expect(dir[0]).toEqual({ field: "directory", args: {} });
  expect(dir.slice(1).every((c) => c.field === "withFile")).toBe(true);
  return Object.fromEntries(dir.slice(1).map((c) => [c.args.path, pipeline(c.args.source)]));
}

const gitFile = (url: string, rev: string) => [
  { field: "git", args: { url } },
  { field: "ref", args: { name: rev } },
  { field: "tree", args: {} },
  { field: "file", args: { path: ".pre-commit-hooks.yaml" } },
];

describe("lint registration", () => {
  it("is a check without arguments; the manifests are an optional constructor argument", async () => {
    const mod = await scanModule(files);
    expect(listFunctions(mod).find((f) => f.name === "lint")).toMatchObject({
      isCheck: true,
      returnType: "void",
      arguments: [],
    });
    expect(findArgument(mod, "", "hookManifests")).toMatchObject({
      type: "Directory",
      optional: true,
      defaultPath: undefined,
      description: expect.stringContaining("<owner>.<repo>@<rev>.yaml"),
    });
  });
});

describe("lint container", () => {
  it("runs bty's localized pre-commit on Python 3.12 with git and the pre-commit cache, unprivileged", async () => {
    await expect(lint()).resolves.toBeNull();
    const chain = job();
    expect(chain.find((c) => c.field === "from")?.args.address).toMatch(/^python:3\.12\.\d+-slim-bookworm$/);
    const argv = execs(chain).map((e) => e.args);
    expect(argv).toContainEqual(["bash", "/opt/bty-ci/ci/apt-install.sh", "git"]);
    expect(argv.slice(-5)).toEqual(LINT_ARGV);
    for (const e of execs(chain)) expect(e.insecureRootCapabilities ?? false).toBe(false);
    const cache = chain.find((c) => c.field === "withMountedCache" && c.args.path === "/cache/pre-commit");
    expect(pipeline(cache?.args.cache)).toEqual([{ field: "cacheVolume", args: { key: "bty-ci-pre-commit" } }]);
    const env = Object.fromEntries(
      chain.filter((c) => c.field === "withEnvVariable").map((c) => [c.args.name, c.args.value]),
    );
    expect(env).toMatchObject({
      PRE_COMMIT_HOME: "/cache/pre-commit",
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "safe.directory",
      GIT_CONFIG_VALUE_0: "*",
    });
    // Manifests before the checkout: a change to bty's code keeps the tool layers.
    const dirs = chain.filter((c) => c.field === "withDirectory").map((c) => c.args.path);
    expect(dirs.slice(-2)).toEqual([MANIFESTS_DIR, "/src"]);
    expect(chain.at(-1)?.field).toBe("sync");
  });

  it("without --hook-manifests fetches each hook repository's manifest with git at bty's revs", async () => {
    await lint();
    expect(fetchedManifests(job())).toEqual({
      "astral-sh.ruff-pre-commit@v0.15.15.yaml": gitFile("https://github.com/astral-sh/ruff-pre-commit", "v0.15.15"),
      "koalaman.shellcheck-precommit@v0.11.0.yaml": gitFile("https://github.com/koalaman/shellcheck-precommit", "v0.11.0"),
      "pre-commit.pre-commit-hooks@v6.0.0.yaml": gitFile("https://github.com/pre-commit/pre-commit-hooks", "v6.0.0"),
    });
    expect(engine.fieldCalls("git").map((c) => c.args.url)).toEqual([
      "https://github.com/astral-sh/ruff-pre-commit",
      "https://github.com/koalaman/shellcheck-precommit",
      "https://github.com/pre-commit/pre-commit-hooks",
    ]);
  });

  it("follows a hook bump in bty's config with no change to bty-ci", async () => {
    config = btyConfig("v0.16.4");
    await lint();
    expect(fetchedManifests(job())["astral-sh.ruff-pre-commit@v0.16.4.yaml"]).toEqual(
      gitFile("https://github.com/astral-sh/ruff-pre-commit", "v0.16.4"),
    );
    expect(engine.fieldCalls("ref").map((c) => c.args.name)).toEqual(["v0.16.4", "v0.11.0", "v6.0.0"]);
  });

  it("with --hook-manifests mounts that directory and fetches nothing", async () => {
    await lint({ hookManifests: "Directory:manifests" });
    expect(mountOf(job(), MANIFESTS_DIR)).toBe("Directory:manifests");
    expect(engine.fieldCalls("git")).toEqual([]);
    expect(execs(job()).map((e) => e.args).slice(-5)).toEqual(LINT_ARGV);
  });
});

describe("lint input errors come before any container work", () => {
  const noContainer = () => expect(engine.fieldCalls("from")).toEqual([]);

  it("a --hook-manifests directory lacking a manifest is named with the fix", async () => {
    manifestEntries = ["astral-sh.ruff-pre-commit@v0.16.4.yaml", "pre-commit.pre-commit-hooks@v6.0.0.yaml"];
    await expect(lint({ hookManifests: "Directory:manifests" })).rejects.toThrow(
      "--hook-manifests lacks astral-sh.ruff-pre-commit@v0.15.15.yaml, koalaman.shellcheck-precommit@v0.11.0.yaml: " +
        "add each repository's .pre-commit-hooks.yaml at that rev under that name, or leave --hook-manifests out " +
        "to fetch them with git",
    );
    noContainer();
  });

  it("a checkout without .pre-commit-config.yaml", async () => {
    missingFile = ".pre-commit-config.yaml";
    await expect(lint()).rejects.toThrow(/^no \.pre-commit-config\.yaml at the root of the source directory/);
    noContainer();
    expect(engine.fieldCalls("git")).toEqual([]);
  });

  it("a config that is not one", async () => {
    config = "repos: [\n";
    await expect(lint()).rejects.toThrow(/\.pre-commit-config\.yaml is not valid YAML .*: fix the syntax/);
    config = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    hooks: []\n";
    await expect(lint()).rejects.toThrow("https://github.com/astral-sh/ruff-pre-commit has no `rev:`");
    noContainer();
    expect(engine.fieldCalls("git")).toEqual([]);
  });

  it("the pyproject.toml check still comes first", async () => {
    missingFile = "pyproject.toml";
    await expect(lint()).rejects.toThrow(/^no pyproject\.toml at the root of the source directory/);
    expect(engine.fieldCalls("file").map((c) => c.args.path)).not.toContain(".pre-commit-config.yaml");
  });
});
