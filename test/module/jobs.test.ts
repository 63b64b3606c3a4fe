/**
 * bty-ci's functions run through the real SDK against the recording engine:
 * input validation, lint, defaults and overrides. What each other job sends
 * is held to its contract in contracts.test.ts. Asserts meaning, not query
 * snapshots.
 */
import { describe, expect, it } from "vitest";

import { MISSING_PYPROJECT } from "../../src/checkout/project.js";
import type { Call } from "../harness/engine.js";
import { answerCheckout } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { readContainerRun } from "../harness/pipeline.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

// lint reads the hook set (its own tests: lint.test.ts); no remote repository, no git fetch.
const state = {
  source: "Directory:bty",
  pythonImage: "python:{version}-slim-bookworm",
  pythonIndex: "",
  debianMirror: "",
};

// test-pxe lists the netboot-pc build's files (a real build has these); lint reads an empty hook set.
const engine = useRecordingEngine({ scan: files, answers: answerCheckout });

const call = (fnName: string, over: Partial<typeof state> = {}, parentName?: string, args?: Record<string, string>) =>
  invokeFunction({ files, fnName, parentName, parentState: { ...state, ...over }, args });

/** The expanded pipelines that start from a container image. */
function pipelines(): Call[][] {
  const seen = new Set<string>();
  return engine
    .chains()
    .filter((chain) => chain.some((c) => c.field === "from"))
    .filter((chain) => {
      const key = JSON.stringify(chain.map((c) => [c.field, c.args]));
      return !seen.has(key) && seen.add(key);
    });
}

/** The single job pipeline of the last call. */
function job(): Call[] {
  const all = pipelines();
  expect(all).toHaveLength(1);
  return all[0]!;
}

const image = (chain: Call[]) => chain.find((c) => c.field === "from")?.args.address;
const execsOf = (chain: Call[]) =>
  chain.filter((c) => c.field === "withExec").map((c) => ({ ...c.args }) as { args: string[] } & Record<string, unknown>);
const argvOf = (chain: Call[]) => execsOf(chain).map((e) => e.args);
const env = (chain: Call[]) =>
  Object.fromEntries(chain.filter((c) => c.field === "withEnvVariable").map((c) => [c.args.name, c.args.value]));

describe("input validation happens before any container work", () => {
  it("names the fix when the source has no pyproject.toml", async () => {
    engine.answer("exists", false);
    await expect(call("lint")).rejects.toThrow(MISSING_PYPROJECT);
    expect(pipelines()).toEqual([]);
  });

  it("rejects a pyproject.toml without a valid version", async () => {
    engine.answer("contents", '[project]\nname = "bty-lab"\nversion = "latest"\n');
    await expect(call("buildWheel")).rejects.toThrow(/"latest" is not a PEP 440 version/);
    expect(pipelines()).toEqual([]);
  });

  it("version returns [project] version, read from the checkout's pyproject.toml", async () => {
    await expect(call("version")).resolves.toBe("0.77.2");
    expect(engine.fieldCalls("exists").map((c) => c.args)).toEqual([{ path: "pyproject.toml" }]);
    expect(engine.fieldCalls("file").map((c) => c.args)).toEqual([{ path: "pyproject.toml" }]);
  });

  it("test returns the matrix object carrying every input unchanged", async () => {
    const inputs = { pythonImage: "m/python:{version}", pythonIndex: "https://idx.example/simple", debianMirror: "http://mirror.example" };
    await expect(call("test", inputs)).resolves.toEqual({ ...state, ...inputs });
  });

  it("constructs with the registered defaults: pinned bookworm Python images, default index and mirror", async () => {
    await expect(invokeFunction({ files, fnName: "", args: { source: "Directory:bty" } })).resolves.toEqual({
      source: "Directory:bty",
      pythonImage: "python:{version}-slim-bookworm",
      pythonIndex: "",
      debianMirror: "",
    });
  });

  it("refuses a python image template without {version}", async () => {
    await expect(call("typecheck", { pythonImage: "python:3.12" })).rejects.toThrow(/no \{version\} placeholder/);
  });
});

describe("lint's container", () => {
  it("has git (pre-commit needs a repository) from apt, before the checkout", async () => {
    await call("lint");
    const run = readContainerRun(engine, job());
    const apt = run.execs.find((e) => e.argv[1] === "/opt/bty-ci/ci/apt-install.sh");
    expect(apt?.argv.slice(2)).toContain("git");
    expect(apt?.directories.map((d) => d.path)).not.toContain("/src");
  });

  it("trusts the checkout for git and keeps pre-commit's hook environments in their own cache", async () => {
    await call("lint");
    const run = readContainerRun(engine, job());
    const last = run.execs.at(-1)!;
    expect(last.env).toMatchObject({
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "safe.directory",
      GIT_CONFIG_VALUE_0: "*",
      PRE_COMMIT_HOME: "/cache/pre-commit",
    });
    expect(last.caches).toContainEqual({ path: "/cache/pre-commit", key: "bty-ci-pre-commit", sharing: "SHARED" });
  });
});

describe("overrides for air-gapped users", () => {
  it("routes pip/uv to the given index and apt to the given mirror", async () => {
    await call("docs", {
      pythonImage: "registry.internal/python:{version}-slim",
      pythonIndex: "https://pypi.internal/simple",
      debianMirror: "http://debian.internal",
    });
    const chain = pipelines()[0]!;
    expect(image(chain)).toMatch(/^registry\.internal\/python:3\.12\.\d+-slim$/);
    expect(env(chain)).toMatchObject({
      PIP_INDEX_URL: "https://pypi.internal/simple",
      UV_DEFAULT_INDEX: "https://pypi.internal/simple",
    });
    const apt = execsOf(chain).find((e) => e.args[1]?.endsWith("apt-install.sh"));
    expect(apt?.args.slice(2, 4)).toEqual(["--mirror", "http://debian.internal"]);
  });

  it("re-resolves within a custom index instead of asserting bty's lock", async () => {
    await call("py312", { pythonIndex: "https://pypi.internal/simple" }, "TestMatrix");
    const sync = argvOf(job()).find((a) => a[1] === "sync");
    expect(sync).toEqual(["uv", "sync", "--all-extras", "--group", "dev", "--python", "/usr/local/bin/python3"]);
  });
});
