/**
 * deploy-quadlet-integration through the real SDK against the recording
 * engine, held to its contract (test/module/contracts/, written from bty's
 * job): the trixie container and its packages, tool layers before the
 * checkout, the four image tarballs under the tags bty's test pins, the
 * quadlet-run.sh command line, privileges, a failure's debug bundle, and
 * bad input refused before any container.
 */
import { describe, expect, it } from "vitest";

import { ALL_CHECKS_ARGS, answerCheckout, checkoutContents, DEPLOY_TESTS } from "../harness/checkout.js";
import type { Call } from "../harness/engine.js";
import { invokeFunction } from "../harness/invoke.js";
import { type ContainerRun, readContainerRun } from "../harness/pipeline.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { CI_SCRIPTS, PYTHON_JOB_CACHES, PYTHON_JOB_ENV, SRC } from "./contracts/contract.js";
import { SIDECAR_SDISTS } from "./contracts/deploy-integration.js";
import {
  QUADLET_APT,
  QUADLET_BUNDLE,
  QUADLET_OUT,
  QUADLET_STEPS,
  QUADLET_TARBALLS,
  TRIXIE_APT_CACHES,
} from "./contracts/deploy-quadlet-integration.js";
import { MODULE_FILES as files } from "./module-files.js";

const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
const engine = useRecordingEngine({ scan: files, answers: answerCheckout });
const call = (args: Record<string, string> = {}) => invokeFunction({ files, fnName: "deployQuadletIntegration", args, parentState: state });

const isExec = (c: Call) => c.parent === "Container" && c.field === "withExec";
/** The job's container as last queried: the chain of its last exitCode. */
function jobRun(): ContainerRun {
  const chains = engine.chains().filter((chain) => chain.at(-1)?.field === "exitCode" && chain.some((c) => c.field === "from" && String(c.args.address).startsWith("debian:")));
  const longest = chains.reduce((a, b) => (b.filter(isExec).length > a.filter(isExec).length ? b : a));
  return readContainerRun(engine, longest);
}
const pipeline = (id: unknown): Call[] => engine.pipelineOf(String(id)) ?? [];
const mountedFiles = (run: ContainerRun) => run.calls.filter((c) => c.field === "withMountedFile").map((c) => c.args);
const containerWork = () => engine.calls().filter((c) => (c.parent === "Query" && c.field === "container") || c.field === "from");

describe("deploy-quadlet-integration against its contract", () => {
  it("built (the default): trixie with the root's packages, uv, then bty's test in quadlet-run.sh on this checkout's images", async () => {
    engine.answer("exitCode", 0);
    await expect(call()).resolves.toBeNull();
    const run = jobRun();
    expect(run.image).toMatch(/^debian:trixie-\d{8}-slim$/);

    // Tool layers before the checkout: the root's packages (trixie's apt caches, locked, for the install only), then uv.
    const hasSource = (e: ContainerRun["execs"][number]) => e.directories.some((d) => d.path === SRC);
    const setup = run.execs.filter((e) => !hasSource(e));
    expect(setup.map((e) => e.argv)).toEqual([
      ["bash", `${CI_SCRIPTS}/apt-install.sh`, ...QUADLET_APT],
      ["pip", "install", expect.stringMatching(/^uv==\d+\.\d+\.\d+$/)],
    ]);
    expect(setup[0]!.caches.filter((c) => c.path.startsWith("/var/"))).toEqual(TRIXIE_APT_CACHES);
    expect(setup[1]!.caches.filter((c) => c.path.startsWith("/var/"))).toEqual([]);
    for (const e of setup) expect(e.privileged, e.argv.join(" ")).toBe(false);

    // The job's steps, exactly; the test alone privileged; Debian's pip allowed to install uv.
    const steps = run.execs.filter(hasSource);
    expect(steps.map((e) => ({ argv: e.argv, privileged: e.privileged, workdir: e.workdir }))).toEqual(
      QUADLET_STEPS.map((s) => ({ ...s, workdir: SRC })),
    );
    for (const e of steps) {
      expect(e.env).toEqual({ ...PYTHON_JOB_ENV, PIP_BREAK_SYSTEM_PACKAGES: "1" });
      expect(e.caches).toEqual(PYTHON_JOB_CACHES);
    }
    // From the test on, a failing exit code is read, not raised: the bundle must survive it.
    expect(steps.slice(2).map((e) => e.options)).toEqual([{ expect: "ANY" }, { expect: "ANY" }]);
    expect(steps.slice(0, 2).map((e) => e.options)).toEqual([{}, {}]);

    // The tarballs at the paths --image names, the record's directory made, all before the checkout.
    const tarballs = mountedFiles(run);
    expect(tarballs.map((f) => f.path)).toEqual(Object.values(QUADLET_TARBALLS));
    const checkoutAt = run.calls.findIndex((c) => c.field === "withDirectory" && c.args.path === SRC);
    const outAt = run.calls.findIndex((c) => c.field === "withDirectory" && c.args.path === QUADLET_OUT);
    expect(outAt).toBeGreaterThan(-1);
    expect(outAt).toBeLessThan(checkoutAt);
    for (const f of run.calls.flatMap((c, i) => (c.field === "withMountedFile" ? [i] : []))) expect(f).toBeLessThan(checkoutAt);

    // bty-web and bty-tftp from this checkout's recipes (bty's Dockerfile with BTY_VERSION; deploy/tftp's Containerfile);
    // the sidecars from their pinned sdists' deploy/Containerfile.
    const [web = [], withcache = [], nbdmux = [], tftp = []] = tarballs.map((f) => pipeline(f.source));
    expect(web.find((c) => c.field === "dockerBuild")!.args).toEqual({ dockerfile: "docker/Dockerfile", buildArgs: [{ name: "BTY_VERSION", value: "0.77.2" }] });
    expect(tftp.find((c) => c.field === "dockerBuild")!.args).toEqual({ dockerfile: "Containerfile", buildArgs: [] });
    expect(tftp.find((c) => c.field === "withDirectory" && c.args.path === ".")).toBeDefined();
    expect(tftp.find((c) => c.field === "withFile")!.args).toMatchObject({ path: "seed/ipxe.efi" });
    for (const [name, chain] of [["withcache", withcache], ["nbdmux", nbdmux]] as const) {
      const { version, sha256 } = SIDECAR_SDISTS[name];
      expect(chain.some((c) => c.field === "withExec" && (c.args.args as string[]).join(" ").includes(`${sha256}  ${name}-${version}.tar.gz`)), name).toBe(true);
      expect(chain.slice(-2).map((c) => [c.field, c.args]), name).toEqual([["dockerBuild", { dockerfile: "deploy/Containerfile" }], ["asTarball", {}]]);
    }
    expect(engine.fieldCalls("dockerBuild")).toHaveLength(4);
  });

  it("--images published: the engine pulls bty's published images at the tags the units name; nothing is built", async () => {
    engine.answer("exitCode", 0);
    await call({ images: "published" });
    const tarballs = mountedFiles(jobRun());
    expect(tarballs.map((f) => pipeline(f.source).map((c) => [c.field, c.args]))).toEqual(
      Object.keys(QUADLET_TARBALLS).map((ref) => [["container", {}], ["from", { address: ref }], ["asTarball", {}]]),
    );
    expect(engine.fieldCalls("dockerBuild")).toEqual([]);
  });

  it("the tags follow the version bty's test pins", async () => {
    engine.answer("exitCode", 0);
    engine.answer("contents", (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "file" && c.args.path === "tests/test_deploy_integration.py") ? DEPLOY_TESTS.replaceAll("0.65.2", "0.80.0") : checkoutContents()(ctx),
    );
    await call();
    const quadlet = jobRun().execs.find((e) => e.argv[1] === `${CI_SCRIPTS}/deploy/quadlet-run.sh`)!;
    const images = quadlet.argv.flatMap((a, i) => (quadlet.argv[i - 1] === "--image" ? [a.split("=")[0]] : []));
    expect(images).toEqual(["ghcr.io/safl/bty-web:0.80.0", "ghcr.io/safl/withcache:latest", "ghcr.io/safl/nbdmux:latest", "ghcr.io/safl/bty-tftp:0.80.0"]);
  });

  it("a failing test throws with its output and hands on the run's record (units, systemctl status, journals)", async () => {
    const testing = (chain: Call[]) => (chain.filter(isExec).at(-1)?.args.args as string[] | undefined)?.[1]?.endsWith("quadlet-run.sh") === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (testing(ctx.chain) ? 1 : 0));
    engine.answer("stdout", (ctx: { chain: Call[] }) => (testing(ctx.chain) ? "FAILED tests/test_deploy_integration.py::test_deploy_purge_redeploy_quadlet_lifecycle\n" : ""));
    engine.answer("stderr", "");
    const err = (await call().catch((e: Error) => e)) as Error;
    expect(err.message).toBe(
      "deploy-quadlet-integration failed (pytest quadlet integration: exit 1); its record (units, systemctl status, journals) is the check's debug bundle\n" +
        "FAILED tests/test_deploy_integration.py::test_deploy_purge_redeploy_quadlet_lifecycle",
    );
    // The skip judge never ran.
    expect(engine.execs().some((e) => e.args[1]?.endsWith("pytest-skips.py"))).toBe(false);
  });

  it("a skip, judged after a passing test, fails the check naming it, with the record", async () => {
    const judging = (chain: Call[]) => (chain.filter(isExec).at(-1)?.args.args as string[] | undefined)?.[1]?.endsWith("pytest-skips.py") === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (judging(ctx.chain) ? 1 : 0));
    engine.answer("stdout", (ctx: { chain: Call[] }) => (judging(ctx.chain) ? "SKIPPED  test_deploy_purge_redeploy_quadlet_lifecycle: ports already in use: [8080]\n" : ""));
    engine.answer("stderr", "");
    await expect(call()).rejects.toMatchObject({
      name: "JobFailure",
      message: expect.stringMatching(/^deploy-quadlet-integration failed \(no silent skips: exit 1\); .*\nSKIPPED  test_deploy_purge_redeploy_quadlet_lifecycle: ports already in use: \[8080\]$/),
    });
  });

  it("quadlet-run.sh refusing before it made a record: the output alone, no bundle", async () => {
    const testing = (chain: Call[]) => (chain.filter(isExec).at(-1)?.args.args as string[] | undefined)?.[1]?.endsWith("quadlet-run.sh") === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (testing(ctx.chain) ? 2 : 0));
    engine.answer("stdout", "");
    engine.answer("stderr", (ctx: { chain: Call[] }) => (testing(ctx.chain) ? "quadlet-run.sh: --image needs REGISTRY/NAME:TAG=TARBALL, got x\n" : ""));
    engine.answer("exists", (ctx: { args: Record<string, unknown> }) => !String(ctx.args.path).startsWith("bundle/"));
    const err = (await call().catch((e: Error) => e)) as Error;
    expect(err.name).toBe("Error");
    expect(err.message).toBe("deploy-quadlet-integration failed (pytest quadlet integration: exit 2)\nquadlet-run.sh: --image needs REGISTRY/NAME:TAG=TARBALL, got x");
  });

  it("all-checks-bundle exports a failed run's record under debug/deploy-quadlet-integration/", async () => {
    const testing = (chain: Call[]) => (chain.filter(isExec).at(-1)?.args.args as string[] | undefined)?.[1]?.endsWith("quadlet-run.sh") === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (testing(ctx.chain) ? 1 : 0));
    const steps = pipeline(await invokeFunction({ files, fnName: "allChecksBundle", args: ALL_CHECKS_ARGS, parentState: state })).slice(1);
    const debug = steps.filter((c) => c.field === "withDirectory" && String(c.args.path).startsWith("debug/"));
    expect(debug.map((c) => c.args.path)).toEqual(["debug/deploy-quadlet-integration"]);
    expect(pipeline(debug[0]!.args.source).at(-1)).toMatchObject({ field: "directory", args: { path: QUADLET_BUNDLE } });
  });

  describe("bad input is refused before any container is made", () => {
    it("--images bogus", async () => {
      await expect(call({ images: "bogus" })).rejects.toThrow(/unknown --images "bogus": use "built" .* or "published"/);
      expect(containerWork()).toEqual([]);
    });

    it.each([
      ["built", "tests/test_deploy_integration.py"],
      ["built", "src/bty/deploy.py"],
      ["built", "docker/Dockerfile"],
      ["built", "deploy/tftp/Containerfile"],
      ["published", "src/bty/deploy.py"],
    ])("--images %s, a checkout without %s", async (images, missing) => {
      engine.answer("exists", (ctx: { args: Record<string, unknown> }) => ctx.args.path !== missing);
      const err = (await call({ images }).catch((e: Error) => e)) as Error;
      expect(err.message).toContain(`the checkout has no ${missing}: deploy-quadlet-integration runs bty's own quadlet lifecycle test`);
      expect(err.message).toMatch(/pass --source with a bty checkout that has them$/);
      expect(containerWork()).toEqual([]);
    });

    it("--images published needs neither recipe", async () => {
      engine.answer("exitCode", 0);
      engine.answer("exists", (ctx: { args: Record<string, unknown> }) => !["docker/Dockerfile", "deploy/tftp/Containerfile"].includes(String(ctx.args.path)));
      await expect(call({ images: "published" })).resolves.toBeNull();
    });

    it("a test file without the quadlet test, or one that no longer pins the version", async () => {
      const withTests = (text: string) =>
        engine.answer("contents", (ctx: { chain: Call[] }) =>
          ctx.chain.some((c) => c.field === "file" && c.args.path === "tests/test_deploy_integration.py") ? text : checkoutContents()(ctx),
        );
      withTests("def test_something_else():\n    pass\n");
      await expect(call()).rejects.toThrow("tests/test_deploy_integration.py has no test_deploy_purge_redeploy_quadlet_lifecycle");
      withTests(DEPLOY_TESTS.replace(/ {4}monkeypatch\.setattr\(bty, .*\n/, ""));
      await expect(call()).rejects.toThrow("test_deploy_purge_redeploy_quadlet_lifecycle no longer pins bty.__version__");
      expect(containerWork()).toEqual([]);
    });
  });
});
