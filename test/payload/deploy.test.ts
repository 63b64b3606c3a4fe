/**
 * Payload tier, for real on this machine: deploy-integration's step list
 * (src/deploy/plan.ts) on bty's sdist, with podman, podman-compose and bty's
 * own compose lifecycle test, on images built here the way the Dagger side
 * builds them: bty-web from bty's Dockerfile with its wheel and a seed, and
 * withcache and nbdmux from their pinned sdists' deploy/Containerfile
 * (downloaded and checked by the job's own steps). The stack runs in a
 * network namespace this test makes, so its published ports are its own.
 *
 * Stand-ins, because no image can be pulled here: the base images are
 * Debian roots made by base-images.sh (python:* runs Debian's Python;
 * ubuntu:26.04 is Debian forky, which packages the nbdkit nbdmux needs);
 * the iPXE seed is random bytes. Whether the published images or Ubuntu's
 * own nbdkit behave the same is what only bty's registry could show.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { type SidecarName } from "../../src/config.js";
import { deployIntegrationSteps, type StackImage } from "../../src/deploy/plan.js";
import { parsePyproject } from "../../src/checkout/project.js";
import { buildWheelSteps } from "../../src/python/plan.js";
import { requireInstalled, rootMissing } from "../harness/requirements.js";
import { btyCheckout, hostEnv, hostLayout, requireHostPython, runHostSteps, type Sandbox, scratch, stepLog } from "./host.js";
import { ensureDocker } from "./registry.js";
import { btyImage, buildAndSave, ensureBaseImages, sidecarImage } from "./stack-images.js";

const SIDECARS: SidecarName[] = ["withcache", "nbdmux"];

const work = scratch("deploy");
const podmanMissing = spawnSync("podman", ["--version"], { stdio: "ignore" }).status !== 0;
const missing =
  rootMissing() ?? (podmanMissing ? "no podman (apt-get install podman; .ci/run installs APT.deployIntegration)" : undefined) ?? (await ensureDocker(work));

/** A network namespace of the step's own, loopback up: the stack's ports are nobody else's. */
const privateNet: Sandbox = (argv) => ["unshare", "--net", "--mount", "--fork", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", ...argv];

describe("deploy-integration on bty's sdist, for real with podman", () => {
  requireInstalled(missing);
  const layout = hostLayout(requireHostPython("py312"));
  let checkout: string;
  const tarballs: Record<StackImage, string> = {
    "bty-web": join(work, "bty-web.tar"),
    withcache: join(work, "withcache.tar"),
    nbdmux: join(work, "nbdmux.tar"),
  };

  beforeAll(async () => {
    ensureBaseImages();
    checkout = btyCheckout();
    const { version } = parsePyproject(readFileSync(join(checkout, "pyproject.toml"), "utf8"));
    await runHostSteps(buildWheelSteps(layout), checkout, { logName: "wheel" });
    await btyImage("web", { checkout, version, work, prefix: "bty-ci-deploy", tarball: tarballs["bty-web"] });
    for (const name of SIDECARS) await sidecarImage(name, { work, prefix: "bty-ci-deploy", tarball: tarballs[name] });
  }, 30 * 60_000);

  /** The job's steps on `images`: environment first (network), then the stack in a namespace of its own. */
  async function runJob(images: Record<StackImage, string>, logName: string) {
    const steps = deployIntegrationSteps(layout, { podmanState: join(work, `podman-${logName}`), junit: join(work, `${logName}.xml`), tarballs: images });
    const [sync, compose, ...stack] = steps;
    await runHostSteps([sync!, compose!], checkout, { logName });
    return runHostSteps(stack, checkout, { logName, sandbox: privateNet, expectSuccess: false });
  }

  it("bty's compose lifecycle passes on the images built here; bty's own self-skip is the only skip", async () => {
    const runs = await runJob(tarballs, "deploy");
    const [pytest, judge] = runs;
    expect(pytest, pytest?.tail).toMatchObject({ label: "pytest deploy integration", exitCode: 0 });
    expect(pytest!.tail).toMatch(/test_deploy_purge_redeploy_lifecycle PASSED/);
    expect(judge, judge?.tail).toMatchObject({ label: "no silent skips", exitCode: 0 });
    expect(judge!.tail).toContain("passed   test_deploy_purge_redeploy_lifecycle");
    expect(judge!.tail).toContain("allowed  test_trio_ramboot_e2e_image_native_kernel: skipped by bty's own test: ports already in use: [8899]");
  }, 20 * 60_000);

  it("fails when bty-web's image is broken: the check catches what bty's job would ship", async () => {
    // bty-web's own image with its package removed: the container starts and dies.
    const broken = join(work, "context-broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "Dockerfile"), "FROM bty-ci-deploy/bty-web:test\nUSER root\nRUN pip uninstall --yes bty-lab\n");
    await buildAndSave("bty-ci-deploy/bty-web:broken", broken, "Dockerfile", join(work, "bty-web-broken.tar"));
    const runs = await runJob({ ...tarballs, "bty-web": join(work, "bty-web-broken.tar") }, "deploy-broken");
    expect(runs.map((r) => r.label)).toEqual(["pytest deploy integration"]);
    expect(runs[0]!.exitCode).not.toBe(0);
    const log = readFileSync(stepLog(checkout, "deploy-broken"), "utf8");
    expect(log).toMatch(/test_deploy_purge_redeploy_lifecycle FAILED/);
    // bty's own assertion: the stack did not come up (bty-web's command is gone).
    expect(log).toMatch(/compose up failed[\s\S]*"bty-web": executable file not found/);
  }, 20 * 60_000);

  it("a test that skips fails the job, naming it (no podman-compose on PATH)", async () => {
    const steps = deployIntegrationSteps(layout, { podmanState: join(work, "podman-nocompose"), junit: join(work, "nocompose.xml"), tarballs });
    const [sync, , ...stack] = steps;
    await runHostSteps([sync!], checkout, { logName: "nocompose" });
    // The tool bin directory (where podman-compose is installed) left off PATH.
    const env = hostEnv();
    env.PATH = env.PATH!.split(delimiter).filter((dir) => dir !== env.UV_TOOL_BIN_DIR).join(delimiter);
    const runs = await runHostSteps(stack, checkout, { logName: "nocompose", sandbox: privateNet, expectSuccess: false, env });
    const judge = runs.at(-1)!;
    expect(judge.label).toBe("no silent skips");
    expect(judge.exitCode).toBe(1);
    expect(judge.tail).toContain("SKIPPED  test_deploy_purge_redeploy_lifecycle: no compose backend on PATH");
  }, 10 * 60_000);
});
