/**
 * Payload tier, for real on this machine: bty's `deploy-quadlet-integration`
 * (bty's test_deploy_purge_redeploy_quadlet_lifecycle: `bty-lab deploy` as
 * root writes four Quadlet units, systemd runs them with rootful podman,
 * purge, redeploy) in ci/deploy/quadlet-run.sh: systemd 257 as PID 1 of
 * namespaces of its own on a Debian trixie root (ci/deploy/quadlet-root.sh),
 * podman 5.4 with runc, and a registry inside that serves the images under
 * the ghcr.io names bty pulls (`podman compose pull` must succeed; nothing
 * leaves the namespace). The images are built here the way deploy.test.ts
 * builds them, plus bty-tftp from bty's deploy/tftp/Containerfile.
 *
 * Stand-ins, because no image can be pulled here: the base images are the
 * Debian roots of base-images.sh and the iPXE seeds are random bytes; the
 * registry is Debian's distribution 2.x, not ghcr.io. Whether bty's real
 * published 0.65.2/latest images start under Quadlet, and whether an Ubuntu
 * runner's own systemd and podman behave the same, only bty's runner shows.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { type SidecarName, TOOLS } from "../../src/config.js";
import { parsePyproject } from "../../src/checkout/project.js";
import { QUADLET_IMAGES, type QuadletImage, quadletImageRefs, type QuadletPaths, quadletTestSteps } from "../../src/deploy/plan.js";
import { buildWheelSteps, syncStep, UV_ENV } from "../../src/python/plan.js";
import { requireInstalled, rootMissing } from "../harness/requirements.js";
import {
  btyCheckout,
  CACHE_DIR,
  CI_DIR,
  chrootArgv,
  chrootEnv,
  chrootUnavailable,
  hostLayout,
  mountPoints,
  requireHostPython,
  runHostSteps,
  scratch,
  stepLog,
  type StepRun,
} from "./host.js";
import { ensureDocker } from "./registry.js";
import { btyImage, buildAndSave, ensureBaseImages, sidecarImage } from "./stack-images.js";

const SIDECARS: SidecarName[] = ["withcache", "nbdmux"];
const RUN = join(CI_DIR, "deploy/quadlet-run.sh");

/** The refs bty 0.77.2's quadlet test deploys (it pins bty.__version__ to 0.65.2), as the job reads them. */
const QUADLET_REFS = quadletImageRefs("0.65.2");
const UNITS = [...QUADLET_IMAGES];

/** PATH of the job inside the root: uv (pip-installed as the job containers install it), then Debian's. */
const JOB_PATH = "/opt/bty-ci/uv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const work = scratch("quadlet");
const unshareMissing = spawnSync("unshare", ["--version"], { stdio: "ignore" }).status !== 0;
const missing =
  rootMissing() ??
  chrootUnavailable() ??
  (unshareMissing ? "no unshare (apt-get install util-linux)" : undefined) ??
  (await ensureDocker(work));

/** Wall times of this file's phases, printed at the end of each test. */
const times: Record<string, number> = {};
async function timed<T>(what: string, run: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    return await run();
  } finally {
    times[what] = Math.round((performance.now() - start) / 100) / 10;
  }
}
const report = () => console.log(`quadlet wall times (s): ${JSON.stringify(times)}`);

function runOrThrow(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: chrootEnv() });
  if (r.status !== 0) throw new Error(`\`${argv.join(" ")}\` exited ${r.status ?? r.signal}:\n${r.stderr || r.stdout}`);
}

/**
 * The trixie root, made once with quadlet-root.sh and kept under CACHE_DIR
 * like a cache volume, with what the job container pip-installs: uv at the
 * pinned version in /opt/bty-ci/uv and podman-compose on PATH (podman 5's
 * `podman compose` runs the first of docker-compose, podman-compose it finds;
 * the root has no docker-compose).
 */
function quadletRoot(): string {
  const root = join(CACHE_DIR, `quadlet-root-trixie-uv${TOOLS.uv}-podman-compose${TOOLS.podmanCompose}`);
  const stamp = join(root, "etc/bty-ci-quadlet-ready");
  // chrootArgv's uv cache, shared with debianChroot.
  mkdirSync(join(CACHE_DIR, "chroot-uv-cache"), { recursive: true });
  if (existsSync(stamp)) return root;
  rmSync(root, { recursive: true, force: true });
  const building = `${root}.building-${process.pid}`;
  try {
    runOrThrow(["bash", join(CI_DIR, "deploy/quadlet-root.sh"), "--out", building]);
    // Mount points of chrootArgv in the read-only root.
    mkdirSync(join(building, "cache/uv"), { recursive: true });
    writeFileSync(join(building, "etc/resolv.conf"), "");
    const rw = (script: string) => runOrThrow(chrootArgv(building, ["sh", "-euc", script], "/", { writableRoot: true }));
    rw(`python3 -m venv /opt/bty-ci/uv && /opt/bty-ci/uv/bin/pip install -q uv==${TOOLS.uv}`);
    rw(
      `python3 -m venv /opt/podman-compose && /opt/podman-compose/bin/pip install -q podman-compose==${TOOLS.podmanCompose}` +
        " && ln -s /opt/podman-compose/bin/podman-compose /usr/local/bin/podman-compose",
    );
    writeFileSync(join(building, "etc/bty-ci-quadlet-ready"), `uv==${TOOLS.uv} podman-compose==${TOOLS.podmanCompose}\n`);
    renameSync(building, root);
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return root;
}

/** The cgroups quadlet-run.sh made (bty-ci-quadlet-<pid>) that are still there. */
function leftCgroups(): string[] {
  const r = spawnSync("find", ["/sys/fs/cgroup", "-name", "bty-ci-quadlet-*", "-type", "d"], { encoding: "utf8" });
  return r.stdout.split("\n").filter((line) => line !== "");
}

describe("deploy-quadlet-integration on bty's sdist, for real: systemd, Quadlet, rootful podman", () => {
  requireInstalled(missing);
  let root: string;
  let checkout: string;
  const tarballs = Object.fromEntries(QUADLET_IMAGES.map((name) => [name, join(work, `${name}.tar`)])) as Record<QuadletImage, string>;

  beforeAll(async () => {
    ensureBaseImages();
    root = await timed("root (quadlet-root.sh, uv, podman-compose; 0 when cached)", quadletRoot);
    checkout = btyCheckout();
    const { version } = parsePyproject(readFileSync(join(checkout, "pyproject.toml"), "utf8"));

    // bty's environment with trixie's Python, made in the root (as the job
    // container's trixie image would): the venv's paths are the checkout's.
    const inRoot = (argv: string[], cwd: string) => chrootArgv(root, argv, cwd, { binds: [dirname(checkout)] });
    const layout = { ciDir: CI_DIR, python: "/usr/bin/python3", customIndex: false };
    await timed("uv sync in the root", () =>
      runHostSteps([syncStep(layout)], checkout, { logName: "quadlet-sync", env: chrootEnv(), sandbox: inRoot }),
    );

    await timed("images", async () => {
      await runHostSteps(buildWheelSteps(hostLayout(requireHostPython("py312"))), checkout, { logName: "wheel" });
      const at = { checkout, version, work, prefix: "bty-ci-quadlet" };
      await btyImage("web", { ...at, tarball: tarballs["bty-web"] });
      await btyImage("tftp", { ...at, tarball: tarballs["bty-tftp"] });
      for (const name of SIDECARS) await sidecarImage(name, { work, prefix: "bty-ci-quadlet", tarball: tarballs[name] });
    });
  }, 40 * 60_000);

  /**
   * The job: quadletTestSteps (bty's quadlet test in quadlet-run.sh, then
   * its report judged for skips) on `images`, the root made here, the
   * checkout's directory bound in; `wrap` goes before the test command.
   * Returns the steps' runs and the bundle.
   */
  async function runJob(images: Record<QuadletImage, string>, name: string, wrap: string[] = []): Promise<{ runs: StepRun[]; bundle: string }> {
    const bundle = join(work, `bundle-${name}`);
    const paths: QuadletPaths = {
      root,
      bundle,
      junit: join(dirname(checkout), `${name}.xml`),
      tarballs: images,
      refs: QUADLET_REFS,
      binds: [dirname(checkout)],
      workdir: checkout,
      env: { ...UV_ENV, PATH: JOB_PATH, UV_CACHE_DIR: "/tmp/uv-cache" },
      timeoutSeconds: 1200,
    };
    const steps = quadletTestSteps({ ciDir: CI_DIR, python: "/usr/bin/python3", customIndex: false }, paths);
    const test = steps[0]!;
    test.argv.splice(test.argv.indexOf("--") + 1, 0, ...wrap);
    // This machine's root, as a privileged Dagger exec would run it: no bwrap.
    const runs = await timed(`job ${name}`, () => runHostSteps(steps, checkout, { logName: name, sandbox: (argv) => argv, expectSuccess: false }));
    return { runs, bundle };
  }

  /** Nothing of a run is left: no mount of its namespace, no cgroup. */
  function expectNothingLeft() {
    expect(mountPoints().filter((m) => m.includes("bty-ci-quadlet"))).toEqual([]);
    expect(leftCgroups()).toEqual([]);
  }

  it("bty's quadlet lifecycle passes on the images built here, pulled from the registry inside", async () => {
    const { runs, bundle } = await runJob(tarballs, "quadlet");
    const [pytest, judge] = runs;
    expect(pytest, pytest?.tail).toMatchObject({ label: "pytest quadlet integration", exitCode: 0 });
    expect(pytest!.tail).toMatch(/test_deploy_purge_redeploy_quadlet_lifecycle PASSED/);
    expect(judge, judge?.tail).toMatchObject({ label: "no silent skips", exitCode: 0 });
    expect(judge!.tail).toContain("passed   test_deploy_purge_redeploy_quadlet_lifecycle");
    // deploy_main's `podman compose pull` and the redeploy after purge's
    // `podman rmi` pulled every image from the registry inside (podman's
    // user agent, not skopeo's push).
    const registry = readFileSync(join(bundle, "journal/docker-registry.service.log"), "utf8");
    for (const ref of Object.values(QUADLET_REFS)) {
      const [repo, tag] = ref.split(":");
      const pulls = registry.split("\n").filter((l) => l.includes(`"GET /v2/${repo}/manifests/${tag} HTTP/1.1" 200 `) && l.includes('"containers/'));
      expect(pulls.length, `${ref} pulled through the mirror by deploy and by redeploy`).toBe(2);
    }
    expect(readdirSync(join(bundle, "units")).filter((f) => f.endsWith(".container")).sort()).toEqual(UNITS.map((u) => `${u}.container`).sort());
    console.log(`bundle timings (s): ${readFileSync(join(bundle, "timings.txt"), "utf8").trim().replace(/\n/g, ", ")}`);
    expectNothingLeft();
    report();
  }, 30 * 60_000);

  it("fails when bty-web's image is broken, and the bundle shows why: units, systemctl status, journal", async () => {
    // bty-web's own image with its package removed: the container cannot start.
    const broken = join(work, "context-broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "Dockerfile"), "FROM bty-ci-quadlet/bty-web:test\nUSER root\nRUN pip uninstall --yes bty-lab\n");
    await buildAndSave("bty-ci-quadlet/bty-web:broken", broken, "Dockerfile", join(work, "bty-web-broken.tar"));
    const { runs, bundle } = await runJob({ ...tarballs, "bty-web": join(work, "bty-web-broken.tar") }, "quadlet-broken");
    expect(runs.map((r) => r.label)).toEqual(["pytest quadlet integration"]);
    expect(runs[0]!.exitCode).toBe(1);
    const log = readFileSync(stepLog(checkout, "quadlet-broken"), "utf8");
    expect(log).toMatch(/test_deploy_purge_redeploy_quadlet_lifecycle FAILED/);
    expect(log).toMatch(/Job for bty-web\.service failed/);

    expect(readFileSync(join(bundle, "status"), "utf8").trim()).toBe("1");
    expect(readdirSync(join(bundle, "units")).filter((f) => f.endsWith(".container")).sort()).toEqual(UNITS.map((u) => `${u}.container`).sort());
    expect(readFileSync(join(bundle, "units/bty-web.container"), "utf8")).toContain("Image=ghcr.io/safl/bty-web:0.65.2");
    for (const unit of UNITS) {
      expect(readFileSync(join(bundle, `systemctl/${unit}.service.txt`), "utf8")).toContain(`${unit}.service`);
      expect(existsSync(join(bundle, `journal/${unit}.service.log`))).toBe(true);
    }
    expect(readFileSync(join(bundle, "systemctl/bty-web.service.txt"), "utf8")).toMatch(/Loaded: loaded \(\/etc\/containers\/systemd\/bty-web\.container; generated\)/);
    expect(readFileSync(join(bundle, "journal/bty-web.service.log"), "utf8")).toContain('exec: "bty-web": executable file not found');
    // `podman ps` is sampled while the services come and go, so which
    // containers a sample caught is timing; the closing listing is always there.
    expect(readFileSync(join(bundle, "podman-ps.txt"), "utf8")).toMatch(/^===== \d\d:\d\d:\d\d at the end\nCONTAINER ID +IMAGE/m);
    expectNothingLeft();
    report();
  }, 30 * 60_000);

  it("a test that skips fails the job, naming it (bty-web's port already taken)", async () => {
    // Something else listens on 8080 in the namespace: bty's test skips itself; the judge fails that.
    const listen = ["sh", "-c", 'python3 -m http.server --bind 127.0.0.1 8080 >/dev/null 2>&1 & sleep 2; exec "$@"', "sh"];
    const { runs } = await runJob(tarballs, "quadlet-skip", listen);
    expect(runs.map((r) => [r.label, r.exitCode])).toEqual([["pytest quadlet integration", 0], ["no silent skips", 1]]);
    expect(runs[1]!.tail).toContain("SKIPPED  test_deploy_purge_redeploy_quadlet_lifecycle: ports already in use: [8080]");
    expectNothingLeft();
    report();
  }, 10 * 60_000);

  it("stops a command past --timeout (124), fails a job whose environment breaks (3), mounts a cgroup v2 hierarchy where none is, refuses bad usage (2), leaving nothing behind", async () => {
    const run = (args: string[]) => spawnSync("bash", [RUN, ...args], { encoding: "utf8" });
    const slow = await timed("timeout run", () => run(["--root", root, "--bundle", join(work, "bundle-timeout"), "--timeout", "5", "--", "sleep", "600"]));
    expect(slow.status, slow.stderr).toBe(124);
    expect(readFileSync(join(work, "bundle-timeout/command.log"), "utf8")).toContain("stopped the command after 5 s");
    expectNothingLeft();

    // An image tarball that is none: the job cannot fill the registry, says so, and systemd stops.
    const junk = join(work, "junk.tar");
    writeFileSync(junk, randomBytes(1000));
    const bad = run(["--root", root, "--bundle", join(work, "bundle-junk"), "--image", `ghcr.io/safl/junk:1=${junk}`, "--", "true"]);
    expect(bad.status, bad.stderr).toBe(3);
    expect(bad.stderr).toContain("environment: skopeo copy of ghcr.io/safl/junk:1 (oci-archive) into the registry failed");
    expect(existsSync(join(work, "bundle-junk/journal.log"))).toBe(true);
    expectNothingLeft();

    // A caller with no cgroup v2 hierarchy mounted (a Dagger exec on a host
    // with cgroup v1 controllers): quadlet-run.sh mounts one for the run and
    // unmounts it after; here, this host's hierarchy hidden in a mount namespace.
    // Exit 9 if the run left its cgroup2 mount behind in that namespace.
    const hidden = spawnSync(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c",
        'umount -l /sys/fs/cgroup/unified 2>/dev/null || umount -l /sys/fs/cgroup; "$@"; rc=$?; grep -q bty-ci-quadlet /proc/self/mountinfo && exit 9; exit $rc', "sh",
        "bash", RUN, "--root", root, "--bundle", join(work, "bundle-cgroup2"), "--", "sh", "-c", "grep -q cgroup2 /proc/self/mountinfo"],
      { encoding: "utf8" },
    );
    expect(hidden.status, hidden.stderr).toBe(0);
    expect(readFileSync(join(work, "bundle-cgroup2/status"), "utf8").trim()).toBe("0");
    expectNothingLeft();

    expect(run(["--root", root, "--", "true"]).status).toBe(2);
    const notRoot = run(["--root", work, "--bundle", join(work, "bundle-notroot"), "--", "true"]);
    expect(notRoot.status).toBe(3);
    expect(notRoot.stderr).toContain("not a root made by quadlet-root.sh");
    report();
  }, 10 * 60_000);
});
