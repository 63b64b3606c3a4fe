/**
 * Every job sends what its contract (test/module/contracts/, written from
 * bty's workflow, not from src/) says: image, tool layers before the
 * checkout, Debian packages, caches and their sharing, environment, working
 * directories, privileges and the literal commands. all-checks sends every
 * one of those pipelines.
 */
import { describe, expect, it } from "vitest";

import { type Call, execError } from "../harness/engine.js";
import { ALL_CHECK_NAMES, ALL_CHECKS_ARGS, answerCheckout, checkoutContents } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { type ContainerRun, readContainerRun } from "../harness/pipeline.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { ALL_CHECKS } from "./contracts/all-checks.js";
import { BUILD_WHEEL } from "./contracts/build-wheel.js";
import { APT_CACHES, CI_SCRIPTS, INSTALL_UV, type JobContract, SRC } from "./contracts/contract.js";
import { deployIntegration, DEPLOY_INTEGRATION, JUNIT, PODMAN_STATE, SIDECAR_SDISTS, STACK_TARBALLS } from "./contracts/deploy-integration.js";
import { DOCS } from "./contracts/docs.js";
import { FLASH_INTEGRATION } from "./contracts/flash-integration.js";
import { TEST_LEGS } from "./contracts/test.js";
import { TYPECHECK } from "./contracts/typecheck.js";
import { MODULE_FILES as files } from "./module-files.js";

const SOURCE_ID = "Directory:bty";
const state = { source: SOURCE_ID, pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };

const engine = useRecordingEngine({ scan: files, answers: answerCheckout });

/** Distinct expanded chains that build a container from an image. */
function containerChains(): Call[][] {
  const seen = new Set<string>();
  return engine
    .chains()
    .filter((chain) => chain.some((c) => c.field === "from"))
    .filter((chain) => {
      const key = JSON.stringify(chain.map((c) => [c.field, c.args]));
      return !seen.has(key) && seen.add(key);
    });
}

/** Run the contract's function; the container pipeline it sent (a returned directory's pipeline for builds). */
async function runJob(contract: JobContract): Promise<ContainerRun> {
  const result = await invokeFunction({ files, fnName: contract.call.fn, parentName: contract.call.parent, parentState: state });
  if (contract.returns === "nothing") {
    expect(result).toBeNull();
    const chains = containerChains();
    expect(chains).toHaveLength(1);
    return readContainerRun(engine, chains[0]!);
  }
  // A Directory comes back as the ID of its pipeline.
  return readContainerRun(engine, engine.pipelineOf(String(result))!);
}

/** Hold one container run to a contract. */
function expectContract(run: ContainerRun, contract: JobContract): void {
  expect(run.image).toMatch(contract.image);

  // Tool layers first, then the checkout, then only the job's own steps.
  const hasSource = (e: ContainerRun["execs"][number]) => e.directories.some((d) => d.path === SRC);
  const setup = run.execs.filter((e) => !hasSource(e));
  const steps = run.execs.filter(hasSource);
  expect(run.execs).toEqual([...setup, ...steps]);
  expect(setup.map((e) => e.argv)).toEqual(contract.setup);
  for (const e of setup) expect(e.privileged, e.argv.join(" ")).toBe(false);
  // apt's locked caches: mounted for the install, gone before the next exec.
  for (const e of setup) {
    const apt = e.caches.filter((c) => c.path.startsWith("/var/"));
    expect(apt, e.argv.join(" ")).toEqual(String(e.argv[1]).endsWith("/apt-install.sh") ? APT_CACHES : []);
  }

  expect(steps.map((e) => ({ argv: e.argv, workdir: e.workdir, privileged: e.privileged, env: e.env }))).toEqual(
    contract.steps.map((s) => ({ argv: s.argv, workdir: s.workdir, privileged: s.privileged, env: { ...contract.env, ...s.env } })),
  );
  for (const e of steps) {
    expect(e.caches, e.argv.join(" ")).toEqual(contract.caches);
    expect(e.options, e.argv.join(" ")).toEqual({});
    // bty-ci's ci/ scripts come from the module's own source; the checkout is the caller's.
    expect(e.directories).toEqual([
      { path: CI_SCRIPTS, from: ["currentModule", "source", "directory"], id: expect.any(String) },
      { path: SRC, from: ["node"], id: SOURCE_ID },
    ]);
    expect(engine.pipelineOf(e.directories[0]!.id)?.at(-1)?.args).toEqual({ path: "ci" });
  }
  // Step-only environment (CI=true) does not outlive its step.
  expect(run.final.env).toEqual(contract.env);

  // The result is synced (the job really runs), a check's container or a build's directory.
  expect(run.last?.field).toBe("sync");
  const synced = run.calls.at(-2);
  if (contract.returns === "nothing") expect(synced?.parent).toBe("Container");
  else expect(synced).toMatchObject({ field: "directory", args: { path: contract.returns.directory } });
}

describe("job contracts", () => {
  it.each([...TEST_LEGS, TYPECHECK, FLASH_INTEGRATION, BUILD_WHEEL, DOCS].map((c) => [c.job, c] as const))(
    "%s sends what its contract says",
    async (_job, contract) => {
      expectContract(await runJob(contract), contract);
    },
  );

  it("each test leg runs on its own Python minor", async () => {
    const images: string[] = [];
    for (const leg of TEST_LEGS) {
      engine.reset();
      engine.answer("exists", true);
      engine.answer("contents", checkoutContents());
      images.push((await runJob(leg)).image);
    }
    expect(images.map((i) => i.split(":")[1]!.split(".").slice(0, 2).join("."))).toEqual(["3.11", "3.12", "3.13", "3.14"]);
  });
});

describe("deploy-integration against its contract", () => {
  /** The job's own run: the container that mounts podman's tmpfs and is synced. */
  function deployRun(): ContainerRun {
    const runs = containerChains()
      .filter((chain) => chain.some((c) => c.field === "withMountedTemp"))
      .map((chain) => readContainerRun(engine, chain));
    expect(runs).toHaveLength(1);
    return runs[0]!;
  }
  const mounted = (run: ContainerRun, field: string) =>
    run.calls.filter((c) => c.parent === "Container" && c.field === field).map((c) => c.args);
  const pipeline = (id: unknown): Call[] => engine.pipelineOf(String(id)) ?? [];
  const containerWork = () => engine.calls().filter((c) => (c.parent === "Query" && c.field === "container") || c.field === "from");

  it("built (the default): the contract, with the three images loaded from tarballs and podman's state on a tmpfs", async () => {
    await expect(invokeFunction({ files, fnName: "deployIntegration", parentState: state })).resolves.toBeNull();
    const run = deployRun();
    expectContract(run, DEPLOY_INTEGRATION);
    expect(run.image).toMatch(/^python:3\.12\.\d+-slim-bookworm$/);

    // The tarballs at the paths the --image arguments name; the tmpfs at --state; all before the checkout.
    const files_ = mounted(run, "withMountedFile");
    expect(files_.map((f) => f.path)).toEqual(Object.values(STACK_TARBALLS));
    expect(mounted(run, "withMountedTemp")).toEqual([{ path: PODMAN_STATE }]);
    const checkoutAt = run.calls.findIndex((c) => c.field === "withDirectory" && c.args.path === SRC);
    for (const field of ["withMountedFile", "withMountedTemp"]) {
      const at = run.calls.flatMap((c, i) => (c.field === field ? [i] : []));
      expect(at.length, field).toBeGreaterThan(0);
      expect(Math.max(...at), field).toBeLessThan(checkoutAt);
    }
    const pytest = run.execs.find((e) => e.argv.includes("pytest"))!;
    expect(pytest.argv.slice(0, 11)).toEqual([
      "bash", `${CI_SCRIPTS}/deploy/podman-env.sh`, "--state", PODMAN_STATE,
      "--image", "ghcr.io/safl/bty-web:latest=/opt/bty-ci/images/bty-web.tar",
      "--image", "ghcr.io/safl/withcache:latest=/opt/bty-ci/images/withcache.tar",
      "--image", "ghcr.io/safl/nbdmux:latest=/opt/bty-ci/images/nbdmux.tar",
      "--",
    ]);
    expect(pytest.privileged).toBe(true);
    // The skip judge runs after pytest, on its report, unprivileged.
    const judge = run.execs.at(-1)!;
    expect(judge.argv.slice(0, 3)).toEqual(["python3", `${CI_SCRIPTS}/pytest-skips.py`, JUNIT]);
    expect(judge.privileged).toBe(false);

    const [web = [], withcache = [], nbdmux = []] = files_.map((f) => pipeline(f.source));
    // bty-web: bty's docker/Dockerfile with BTY_VERSION, on a context of docker/, this run's wheel and iPXE seed.
    expect(web.map((c) => c.field)).toEqual(["directory", "withDirectory", "withFile", "withFile", "dockerBuild", "asTarball"]);
    expect(web.find((c) => c.field === "dockerBuild")!.args).toEqual({
      dockerfile: "docker/Dockerfile",
      buildArgs: [{ name: "BTY_VERSION", value: "0.77.2" }],
    });
    const [docker, wheel, seed] = web.slice(1, 4).map((c) => c.args);
    expect(docker).toMatchObject({ path: "docker" });
    expect(pipeline(docker!.source).at(-1)).toMatchObject({ field: "directory", args: { path: "docker" } });
    expect(wheel).toMatchObject({ path: "dist/bty_lab-0.77.2-py3-none-any.whl" });
    const wheelFrom = pipeline(wheel!.source);
    expect(wheelFrom.at(-1)).toMatchObject({ field: "file", args: { path: "bty_lab-0.77.2-py3-none-any.whl" } });
    expect(wheelFrom.some((c) => c.field === "withExec" && (c.args.args as string[]).slice(0, 2).join(" ") === "uv build")).toBe(true);
    expect(seed).toMatchObject({ path: "docker/seed/ipxe.efi" });
    const seedFrom = pipeline(seed!.source);
    expect(seedFrom.at(-1)).toMatchObject({ field: "file", args: { path: "bty-ipxe-x86_64-v0.77.2.efi" } });
    expect(seedFrom.some((c) => c.field === "withExec" && (c.args.args as string[])[1] === `${CI_SCRIPTS}/ipxe-build.sh`)).toBe(true);

    // withcache, nbdmux: their sdist's deploy/Containerfile, the sdist pinned by version and sha256.
    for (const [name, chain] of [["withcache", withcache], ["nbdmux", nbdmux]] as const) {
      const { version, sha256 } = SIDECAR_SDISTS[name];
      const sdist = `${name}-${version}.tar.gz`;
      const made = readContainerRun(engine, chain);
      expect(made.image, name).toMatch(/^python:3\.12\.\d+-slim-bookworm$/);
      expect(made.execs.map((e) => e.argv), name).toEqual([
        INSTALL_UV,
        ["pip", "download", "--no-deps", "--no-binary", ":all:", "--dest", `/tmp/${name}/sdist`, `${name}==${version}`],
        ["sh", "-c", `cd /tmp/${name}/sdist && echo "${sha256}  ${sdist}" | sha256sum --check --strict`],
        ["sh", "-c", `mkdir -p /tmp/${name}/src && tar -xzf /tmp/${name}/sdist/${sdist} -C /tmp/${name}/src --strip-components=1`],
      ]);
      for (const e of made.execs) expect(e.privileged, e.argv.join(" ")).toBe(false);
      expect(chain.slice(-3).map((c) => [c.field, c.args]), name).toEqual([
        ["directory", { path: `/tmp/${name}/src` }],
        ["dockerBuild", { dockerfile: "deploy/Containerfile" }],
        ["asTarball", {}],
      ]);
    }
    expect(engine.fieldCalls("dockerBuild")).toHaveLength(3);
  });

  it("--images published: bty's way, no --image arguments and nothing built", async () => {
    const contract = deployIntegration("published");
    await expect(invokeFunction({ files, fnName: "deployIntegration", args: { images: "published" }, parentState: state })).resolves.toBeNull();
    expect(containerChains()).toHaveLength(1);
    const run = deployRun();
    expectContract(run, contract);
    expect(run.execs.flatMap((e) => e.argv)).not.toContain("--image");
    expect(mounted(run, "withMountedFile")).toEqual([]);
    expect(mounted(run, "withMountedTemp")).toEqual([{ path: PODMAN_STATE }]);
    for (const field of ["dockerBuild", "asTarball", "git"]) expect(engine.fieldCalls(field), field).toEqual([]);
  });

  it("--images published needs no docker/Dockerfile in the checkout", async () => {
    engine.answer("exists", (ctx: { args: Record<string, unknown> }) => ctx.args.path !== "docker/Dockerfile");
    await invokeFunction({ files, fnName: "deployIntegration", args: { images: "published" }, parentState: state });
    expectContract(deployRun(), deployIntegration("published"));
  });

  describe("bad input is refused before any container is made", () => {
    it("--images bogus", async () => {
      await expect(invokeFunction({ files, fnName: "deployIntegration", args: { images: "bogus" }, parentState: state })).rejects.toThrow(
        /unknown --images "bogus": use "built" .* or "published"/,
      );
      expect(containerWork()).toEqual([]);
    });

    it.each([
      ["built", "tests/test_deploy_integration.py"],
      ["built", "src/bty/deploy.py"],
      ["built", "docker/Dockerfile"],
      ["published", "tests/test_deploy_integration.py"],
      ["published", "src/bty/deploy.py"],
    ])("--images %s, a checkout without %s", async (images, missing) => {
      engine.answer("exists", (ctx: { args: Record<string, unknown> }) => ctx.args.path !== missing);
      const err = (await invokeFunction({ files, fnName: "deployIntegration", args: { images }, parentState: state }).catch((e: Error) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain(`the checkout has no ${missing}: deploy-integration runs bty's own compose lifecycle test`);
      expect(err.message).toMatch(/pass --source with a bty checkout/);
      expect(containerWork()).toEqual([]);
    });

    it("names every missing file at once", async () => {
      engine.answer("exists", (ctx: { args: Record<string, unknown> }) => ctx.args.path === "pyproject.toml");
      await expect(invokeFunction({ files, fnName: "deployIntegration", parentState: state })).rejects.toThrow(
        "the checkout has no tests/test_deploy_integration.py, src/bty/deploy.py, docker/Dockerfile:",
      );
      expect(containerWork()).toEqual([]);
    });
  });
});

describe("all-checks against the contracts", () => {
  /** The run of every sent pipeline that has the contract's steps, held to the contract. */
  function expectSent(contract: JobContract, runs: ContainerRun[]) {
    const argv = JSON.stringify(contract.steps.map((s) => s.argv));
    const matching = runs.filter(
      (r) => contract.image.test(r.image) && JSON.stringify(r.execs.filter((e) => e.directories.some((d) => d.path === SRC)).map((e) => e.argv)) === argv,
    );
    // A build's directory also travels as an argument of the tests that use
    // it (the wheel into test-pxe's server): those copies end in `id`; the
    // job's own run, synced, must meet the whole contract.
    const synced = matching.filter((r) => r.last?.field === "sync");
    expect(synced.length, `${contract.job} pipeline sent and synced`).toBeGreaterThan(0);
    for (const run of synced) expectContract(run, contract);
  }

  const runsOfAllChecks = () => containerChains().map((chain) => readContainerRun(engine, chain));

  it("sends every job's full pipeline and passes", async () => {
    const table = String(await invokeFunction({ files, fnName: "allChecks", args: ALL_CHECKS_ARGS, parentState: state }));
    expect(table).toMatch(/\nall 20 checks passed$/);
    // One row per job, named as the CLI names them.
    for (const name of ALL_CHECK_NAMES) {
      expect(table).toMatch(new RegExp(`^${name}\\s+pass\\s+\\d+\\.\\ds\\s+ok$`, "m"));
    }
    const runs = runsOfAllChecks();
    for (const contract of ALL_CHECKS.jobs) expectSent(contract, runs);
  });

  it("runs lint's and every e2e test's own work, and lists each build's checksummed artifacts", async () => {
    // Every build directory holds one SHA256SUMS naming one file.
    engine.answer("glob", (ctx: { args: Record<string, unknown> }) => (ctx.args.pattern === "SHA256SUMS" ? ["SHA256SUMS"] : []));
    const checkout = checkoutContents();
    engine.answer("contents", (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "file" && c.args.path === "SHA256SUMS") ? `${"a".repeat(64)}  built.bin\n` : checkout(ctx),
    );
    engine.answer("size", 7);
    const report = JSON.parse(String(await invokeFunction({ files, fnName: "allChecks", args: { ...ALL_CHECKS_ARGS, format: "json" }, parentState: state })));
    const artifacts = Object.fromEntries(
      (report.jobs as { name: string; artifacts: { name: string }[] }[]).map((j) => [j.name, j.artifacts.map((a) => a.name)]),
    );
    // A build's row is its own directory (not a stand-in that passes without building).
    for (const build of ["build-wheel", "docs", "build-ipxe", "build-netboot-pc", "build-ramboot-init", "build-usbboot-pc"]) {
      expect(artifacts[build], build).toEqual(["built.bin"]);
    }
    // What only lint and the e2e tests run, each reaching the engine.
    const argv = engine.execs().map((e) => (e.args as string[]).join(" "));
    const ran = (pattern: RegExp) => argv.filter((a) => pattern.test(a)).length;
    expect(ran(/ pre-commit run --all-files /), "lint").toBe(1);
    expect(ran(/usb-vm\.py --scenario grow /), "test-usb-grow").toBe(1);
    expect(ran(/usb-vm\.py --scenario ventoy /), "test-usb-ventoy").toBe(1);
    expect(ran(/chain-test\.py .*--firmware bios /), "test-pxe:bios").toBe(1);
    expect(ran(/chain-test\.py .*--firmware uefi /), "test-pxe:uefi").toBe(1);
  });

  it("still sends every pipeline when one check fails, and names that check", async () => {
    engine.answer("sync", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "from" && /^python:3\.14\./.test(String(c.args.address)))) {
        throw execError({ cmd: ["uv", "run", "--no-sync", "pytest"], exitCode: 1, stderr: "== 2 failed, 500 passed ==\n" });
      }
      return undefined;
    });
    const err = (await invokeFunction({ files, fnName: "allChecks", args: ALL_CHECKS_ARGS, parentState: state }).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/^test:py-?314\s+FAIL\s+\S+\s+`uv run --no-sync pytest` exited 1: == 2 failed, 500 passed ==$/m);
    expect(err.message).toMatch(/^1 of 20 checks failed$/m);
    const runs = runsOfAllChecks();
    for (const contract of ALL_CHECKS.jobs) expectSent(contract, runs);
  });
});
