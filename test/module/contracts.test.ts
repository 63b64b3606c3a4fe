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
import { APT_CACHES, CI_SCRIPTS, type JobContract, SRC } from "./contracts/contract.js";
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
    expect(table).toMatch(/\nall 17 checks passed$/);
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
    expect(err.message).toMatch(/^1 of 17 checks failed$/m);
    const runs = runsOfAllChecks();
    for (const contract of ALL_CHECKS.jobs) expectSent(contract, runs);
  });
});
