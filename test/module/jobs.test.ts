/**
 * bty-ci's functions run through the real SDK against the recording engine:
 * the queries carry the right images, packages, caches, mounts, privileges
 * and commands for every job. Asserts meaning, not query snapshots.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { APT, CACHE, PATHS, PYTHON_IMAGE, PYTHON_MATRIX, TOOLS } from "../../src/config.js";
import { containerLayout } from "../../src/containers.js";
import { pythonImageRef } from "../../src/images.js";
import { MISSING_PYPROJECT } from "../../src/project.js";
import {
  buildWheelSteps,
  docsSteps,
  flashIntegrationSteps,
  lintSteps,
  testSteps,
  typecheckSteps,
} from "../../src/steps.js";
import { type Call, execError, type RecordingEngine, startRecordingEngine } from "../harness/engine.js";
import { invokeFunction } from "../harness/invoke.js";
import { MODULE_FILES as files } from "./module-files.js";

const PYPROJECT = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n';
const state = {
  source: "Directory:bty",
  pythonImage: PYTHON_IMAGE,
  pythonIndex: "",
  debianMirror: "",
};
const layout = containerLayout({ ...state, source: undefined as never });
const matrixState = state;

let engine: RecordingEngine;

beforeAll(async () => {
  engine = await startRecordingEngine();
});
afterAll(() => engine.stop());
beforeEach(() => {
  engine.reset();
  engine.answer("exists", true);
  engine.answer("contents", PYPROJECT);
});

const call = (fnName: string, over: Partial<typeof state> = {}, parentName?: string) =>
  invokeFunction({ files, fnName, parentName, parentState: { ...state, ...over } });

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

/** A Directory result's pipeline up to (not including) its final sync. */
const resultOf = (id: unknown) => engine.pipelineOf(String(id))!.filter((c) => c.field !== "sync");
const image = (chain: Call[]) => chain.find((c) => c.field === "from")?.args.address;
const execsOf = (chain: Call[]) =>
  chain.filter((c) => c.field === "withExec").map((c) => ({ ...c.args }) as { args: string[] } & Record<string, unknown>);
const argvOf = (chain: Call[]) => execsOf(chain).map((e) => e.args);
const cacheKeys = (chain: Call[]) =>
  Object.fromEntries(
    chain
      .filter((c) => c.field === "withMountedCache")
      .map((c) => [c.args.path, engine.pipelineOf(String(c.args.cache))?.at(-1)?.args.key]),
  );
const env = (chain: Call[]) =>
  Object.fromEntries(chain.filter((c) => c.field === "withEnvVariable").map((c) => [c.args.name, c.args.value]));

/** The step argv a job must run, after its tool setup. */
const stepArgv = (steps: { argv: string[] }[]) => steps.map((s) => s.argv);

function expectToolSetup(chain: Call[]) {
  expect(argvOf(chain)[0]).toEqual(["pip", "install", `uv==${TOOLS.uv}`]);
  expect(env(chain)).toMatchObject({ UV_CACHE_DIR: PATHS.uvCache, PIP_CACHE_DIR: PATHS.pipCache });
  expect(cacheKeys(chain)).toMatchObject({ [PATHS.uvCache]: CACHE.uv, [PATHS.pipCache]: CACHE.pip });
  expect(env(chain)).toMatchObject({ UV_LINK_MODE: "copy", UV_PYTHON_DOWNLOADS: "never" });
  // bty-ci's own ci/ scripts are mounted from the module source.
  const ci = chain.find((c) => c.field === "withDirectory" && c.args.path === PATHS.ciScripts);
  expect(engine.pipelineOf(String(ci?.args.source))?.map((c) => c.field)).toEqual([
    "currentModule",
    "source",
    "directory",
  ]);
  // The checkout comes last, so tool layers survive source changes.
  const dirs = chain.filter((c) => c.field === "withDirectory");
  expect(dirs.at(-1)?.args).toEqual({ path: PATHS.source, source: "Directory:bty" });
}

function expectUnprivileged(chain: Call[]) {
  for (const e of execsOf(chain)) expect(e.insecureRootCapabilities ?? false, e.args.join(" ")).toBe(false);
}

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

  it("version returns [project] version", async () => {
    await expect(call("version")).resolves.toBe("0.77.2");
  });

  it("refuses a python image template without {version}", async () => {
    await expect(call("typecheck", { pythonImage: "python:3.12" })).rejects.toThrow(/no \{version\} placeholder/);
  });
});

describe("lint", () => {
  it("runs bty's localized pre-commit on 3.12 with git and a pre-commit cache, unprivileged", async () => {
    await call("lint");
    const chain = job();
    expect(image(chain)).toBe(pythonImageRef(PYTHON_IMAGE, PYTHON_MATRIX.py312));
    expectToolSetup(chain);
    expectUnprivileged(chain);
    expect(argvOf(chain)).toContainEqual(["bash", `${PATHS.ciScripts}/apt-install.sh`, ...APT.lint]);
    expect(cacheKeys(chain)).toMatchObject({ [PATHS.preCommitHome]: CACHE.preCommit });
    expect(env(chain)).toMatchObject({
      PRE_COMMIT_HOME: PATHS.preCommitHome,
      GIT_CONFIG_KEY_0: "safe.directory",
      GIT_CONFIG_VALUE_0: "*",
    });
    expect(argvOf(chain).slice(-4)).toEqual(stepArgv(lintSteps(layout)));
    expect(chain.at(-1)?.field).toBe("sync");
  });
});

describe("test matrix", () => {
  it.each(Object.entries(PYTHON_MATRIX))("%s runs ruff, format check and pytest on Python %s", async (leg, version) => {
    await call(leg, matrixState, "TestMatrix");
    const chain = job();
    expect(image(chain)).toBe(pythonImageRef(PYTHON_IMAGE, version));
    expectToolSetup(chain);
    expectUnprivileged(chain);
    expect(argvOf(chain).slice(1)).toEqual(stepArgv(testSteps(layout)));
  });

  it("test returns the matrix object carrying the inputs", async () => {
    await expect(call("test")).resolves.toEqual(state);
  });
});

describe("typecheck", () => {
  it("runs mypy once, on 3.12", async () => {
    await call("typecheck");
    const chain = job();
    expect(image(chain)).toBe(pythonImageRef(PYTHON_IMAGE, PYTHON_MATRIX.py312));
    expectUnprivileged(chain);
    expect(argvOf(chain).slice(1)).toEqual(stepArgv(typecheckSteps(layout)));
  });
});

describe("flashIntegration", () => {
  it("installs bty's loop/exfat tool set and runs only its test steps privileged", async () => {
    await call("flashIntegration");
    const chain = job();
    expectToolSetup(chain);
    const execs = execsOf(chain);
    const apt = execs.find((e) => e.args[1]?.endsWith("apt-install.sh"));
    expect(apt?.args.slice(2)).toEqual([...APT.flashIntegration]);
    for (const pkg of ["qemu-utils", "zstd", "gdisk", "e2fsprogs", "parted", "exfatprogs", "exfat-fuse"]) {
      expect(apt?.args).toContain(pkg);
    }
    const steps = flashIntegrationSteps(layout);
    const tail = execs.slice(-steps.length);
    expect(tail.map((e) => e.args)).toEqual(stepArgv(steps));
    expect(tail.every((e) => e.insecureRootCapabilities === true)).toBe(true);
    expect(execs.slice(0, -steps.length).some((e) => e.insecureRootCapabilities)).toBe(false);
    // CI=true is set for pytest only, then removed again.
    const ci = chain.findIndex((c) => c.field === "withEnvVariable" && c.args.name === "CI");
    expect(chain[ci + 1]).toMatchObject({ field: "withExec", args: { args: steps.at(-1)!.argv } });
    expect(chain[ci + 2]).toMatchObject({ field: "withoutEnvVariable", args: { name: "CI" } });
  });
});

describe("artifacts", () => {
  it("buildWheel returns dist/ after uv build and checksums", async () => {
    const result = resultOf(await call("buildWheel"));
    expect(result.at(-1)).toMatchObject({ field: "directory", args: { path: `${PATHS.source}/dist` } });
    expect(argvOf(result).slice(1)).toEqual(stepArgv(buildWheelSteps(layout)));
    expectUnprivileged(result);
  });

  it("docs installs bty's TeX set and returns the gathered html + pdf bundle", async () => {
    const result = resultOf(await call("docs"));
    const apt = execsOf(result).find((e) => e.args[1]?.endsWith("apt-install.sh"));
    expect(apt?.args.slice(2)).toEqual([...APT.docs]);
    expect(cacheKeys(result)).toMatchObject({ [PATHS.texmfVar]: CACHE.texmfVar });
    expect(env(result)).toMatchObject({ TEXMFVAR: PATHS.texmfVar });
    // apt's lock files live in the cached directories: their use is serialized.
    const aptCaches = result.filter((c) => c.field === "withMountedCache" && String(c.args.path).includes("apt"));
    expect(aptCaches.map((c) => [c.args.path, c.args.sharing])).toEqual([
      ["/var/cache/apt/archives", "LOCKED"],
      ["/var/lib/apt/lists", "LOCKED"],
    ]);
    expect(argvOf(result).slice(-docsSteps(layout).length)).toEqual(stepArgv(docsSteps(layout)));
    expect(result.at(-1)).toMatchObject({ field: "directory", args: { path: `${PATHS.source}/docs/_build/bty-ci` } });
    expectUnprivileged(result);
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
    expect(image(chain)).toBe(`registry.internal/python:${PYTHON_MATRIX.py312}-slim`);
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

describe("allChecks", () => {
  it("runs every check and build, reports all, and fails naming the failed one", async () => {
    engine.answer("sync", (ctx: { chain: Call[]; field: string }) => {
      if (ctx.chain.some((c) => c.field === "from" && String(c.args.address).includes("3.14"))) {
        throw execError({
          cmd: ["uv", "run", "--no-sync", "pytest"],
          exitCode: 1,
          stderr: "== 2 failed, 500 passed ==\n",
        });
      }
      return undefined;
    });
    const err = await call("allChecks").catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const table = (err as Error).message;
    for (const name of ["lint", "test:py311", "test:py312", "test:py313", "typecheck", "flash-integration", "build-wheel", "build-ipxe", "docs"]) {
      expect(table).toMatch(new RegExp(`^${name}\\s+pass`, "m"));
    }
    expect(table).toMatch(/^test:py314\s+FAIL\s+\S+\s+`uv run --no-sync pytest` exited 1: == 2 failed, 500 passed ==$/m);
    expect(table).toMatch(/1 of 13 checks failed/);
    // Every job's pipeline was sent, none skipped by the failure.
    expect(new Set(pipelines().map(image).filter((i) => String(i).startsWith("python:"))).size).toBe(Object.keys(PYTHON_MATRIX).length);
  });

  it("returns the table when all pass", async () => {
    await expect(call("allChecks")).resolves.toMatch(/all 13 checks passed$/);
  });
});
