/**
 * The engine tier: bty-ci through the real `dagger` CLI v0.21.8 against a
 * real engine started here (harness.ts), on bty 0.77.2's sdist tree.
 *
 * What it proves that the stand-in engine cannot: the module loads in the
 * engine's TypeScript runtime; the CLI lists exactly the functions and checks
 * the generated reference names; the calls run in real containers (privileged
 * loop devices, LaTeX, an iPXE compile, uv, mypy, pytest) and export what they
 * promise; and the drop-in workflow's own command lines, as `workflow`
 * prints them, resolve `--source` and `--head` to bty's checkout both with
 * bty-ci loaded with `-m` from a git server and installed as a toolchain.
 *
 * What it cannot: the images are Debian look-alikes served by a local
 * registry (every python:* tag runs Debian's Python 3.11), so the image pins
 * and the per-leg Python versions are the payload tier's to prove.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { MEDIA, RELEASE } from "../../src/config.js";
import { BTY_TEST_VERSION, btySdist, CI_DIR, HOOK_MANIFESTS, HOST_CA, IPXE_TARBALL, REPO } from "../payload/host.js";
import { btyDist, checksReport, gatheredTree } from "../payload/release/fixture.js";
import { rpiosLookalike } from "../payload/rpios.js";
import { type FakeGitHub, startFakeGitHub } from "../payload/release/github-fake.js";
import { type Pypiserver, startPypiserver } from "../payload/release/pypiserver.js";
import { requireInstalled, rootMissing } from "../harness/requirements.js";
import { firstColumn, referenceFunctions } from "./cli-output.js";
import {
  dagger,
  DAGGER_BIN,
  daggerEnv,
  daggerOk,
  ENGINE_SKIP,
  ENGINE_WORK,
  engineDown,
  engineUp,
  git,
  gitServer,
  listFiles,
  moduleRepo,
  nodeLookAlike,
  publishBare,
  quadletJobLookAlike,
  runLogged,
  stackBaseLookAlikes,
  timingTable,
} from "./harness.js";

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Unpack a tarball's top folder into `dir`, or throw with tar's message. */
function untar(tarball: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tar -xzf ${tarball}: ${r.stderr}`);
}

describe.skipIf(ENGINE_SKIP !== undefined)(`engine tier: the real dagger CLI on a real engine${ENGINE_SKIP ? ` — skipped: ${ENGINE_SKIP}` : ""}`, () => {
  const work = join(ENGINE_WORK, "tier");
  const mod = join(work, "bty-ci");
  const bty = join(work, "bty");
  const out = join(work, "out");
  const call = (name: string, args: string[]) => daggerOk(name, ["-m", mod, "call", "--source", bty, ...args]);
  // The engine runs as root.
  requireInstalled(rootMissing());

  beforeAll(async () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    moduleRepo(mod);
    untar(btySdist(), bty);
    await engineUp();
  }, 60 * 60_000);

  afterAll(async () => {
    await engineDown();
    console.log(`engine tier, timed steps:\n${timingTable()}`);
  }, 5 * 60_000);

  it("dagger functions lists exactly the functions of the generated reference", async () => {
    const listed = firstColumn(await daggerOk("functions", ["-m", mod, "functions"]));
    expect(listed.sort()).toEqual(referenceFunctions(readFileSync(join(REPO, "docs/reference.md"), "utf8")).functions.sort());
  });

  it("version reads bty's pyproject.toml; plan and workflow answer", async () => {
    expect((await call("version", ["version"])).trim()).toBe(BTY_TEST_VERSION);
    expect(await call("plan", ["plan", "--event", "workflow_dispatch"])).toContain("dagger call build-wheel");
    const wf = parseYaml(await call("workflow", ["workflow", "contents"]));
    expect(Object.keys(wf.jobs)).toEqual(["checks", "github-release", "images", "pypi"]);
  });

  it("build-wheel exports wheel and sdist whose SHA256SUMS verify", async () => {
    await call("build-wheel", ["build-wheel", "export", "--path", join(out, "dist")]);
    expect(listFiles(join(out, "dist"))).toEqual(
      [`bty_lab-${BTY_TEST_VERSION}-py3-none-any.whl`, `bty_lab-${BTY_TEST_VERSION}.tar.gz`, "SHA256SUMS"].sort(),
    );
    expect(spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: join(out, "dist") }).status).toBe(0);
  });

  it("lint passes with the offline hook manifests", async () => {
    await daggerOk("lint", ["-m", mod, "call", "--source", bty, "--hook-manifests", HOOK_MANIFESTS, "lint"]);
  });

  it("typecheck passes", async () => {
    await call("typecheck", ["typecheck"]);
  });

  it("one test leg passes (every look-alike python image is Debian's 3.11: the payload tier runs the four real ones)", async () => {
    await call("test-py-312", ["test", "py-312"]);
  });

  it("flash-integration passes (privileged, loop devices)", async () => {
    await call("flash-integration", ["flash-integration"]);
  });

  // The two deploy checks run at once, as all-checks runs them: the engine
  // builds the images they share (wheel, iPXE, bty-web, the sidecars) once,
  // and each one's apt install and service waits overlap the other's.
  describe("the two deploy checks, at once", () => {
    it("deploy-integration passes: bty's compose lifecycle on bty-web built from the checkout, withcache and nbdmux from their sdists; --images bogus refused", { concurrent: true }, async () => {
      const refused = await dagger("deploy-integration-bogus", ["-m", mod, "call", "--source", bty, "deploy-integration", "--images", "bogus"]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('unknown --images "bogus"');
      await stackBaseLookAlikes();
      const tree = join(work, "ipxe-deploy");
      untar(IPXE_TARBALL, tree);
      const r = await dagger("deploy-integration", ["-m", mod, "call", "--source", bty, "--ipxe-source", tree, "deploy-integration"]);
      expect(r.code, r.stderr.slice(-4000)).toBe(0);
      // The skip judge's table, as the exec printed it.
      expect(r.stderr).toContain("passed   test_deploy_purge_redeploy_lifecycle");
      expect(r.stderr).toContain("allowed  test_trio_ramboot_e2e_image_native_kernel: skipped by bty's own test");
    });

    it("deploy-quadlet-integration passes: bty's quadlet lifecycle under systemd as PID 1 in the job container, on bty-web and bty-tftp built from the checkout", { concurrent: true }, async () => {
      await stackBaseLookAlikes();
      await quadletJobLookAlike(MEDIA.image, MEDIA.suite);
      const tree = join(work, "ipxe-quadlet");
      untar(IPXE_TARBALL, tree);
      const r = await dagger("deploy-quadlet-integration", ["-m", mod, "call", "--source", bty, "--ipxe-source", tree, "deploy-quadlet-integration"]);
      expect(r.code, r.stderr.slice(-4000)).toBe(0);
      expect(r.stderr).toMatch(/test_deploy_purge_redeploy_quadlet_lifecycle PASSED/);
      expect(r.stderr).toContain("passed   test_deploy_purge_redeploy_quadlet_lifecycle");
    });
  });

  // The three builds at once too: the rpi image's arm64 steps (qemu-user,
  // one process at a time), LaTeX and the iPXE compile do not fill two cores alone.
  describe("the builds, at once", () => {
    // A look-alike (Debian arm64 in Raspberry Pi OS's partition layout): no
    // Raspberry Pi server is reachable. Made (synchronously) before the three
    // start, so that no call's output waits on it.
    let rpiImage = { path: "", sha256: "" };
    beforeAll(() => {
      const { path } = rpiosLookalike();
      rpiImage = { path, sha256: sha256(path) };
    }, 20 * 60_000);

    it("build-usbboot-rpi builds on a Raspberry Pi OS look-alike, arm64 through the engine host's qemu-user binfmt: image, .sha256 and build manifest, verified", { concurrent: true }, async () => {
      const dir = join(out, "rpi");
      await call("build-usbboot-rpi", [
        "--extra-ca-certs", HOST_CA, "build-usbboot-rpi", "--rpi-image", rpiImage.path, "--rpi-image-checksum", rpiImage.sha256, "export", "--path", dir,
      ]);
      const stem = `bty-usbboot-rpi-arm64-v${BTY_TEST_VERSION}`;
      expect(listFiles(dir)).toEqual([`${stem}.build-manifest.txt`, `${stem}.img.gz`, `${stem}.img.gz.sha256`]);
      expect(spawnSync("sha256sum", ["-c", `${stem}.img.gz.sha256`], { cwd: dir }).status).toBe(0);
      expect(readFileSync(join(dir, `${stem}.build-manifest.txt`), "utf8")).toMatch(/^arm64-execution\t(native|qemu-user binfmt on x86_64)$/m);
    });

    it("docs exports the HTML site and a PDF, checksummed", { concurrent: true }, async () => {
      await call("docs", ["docs", "export", "--path", join(out, "docs")]);
      const files = listFiles(join(out, "docs"));
      expect(files).toEqual(expect.arrayContaining(["SHA256SUMS", "bty.pdf", "html/index.html"]));
      expect(readFileSync(join(out, "docs/bty.pdf")).subarray(0, 5).toString()).toBe("%PDF-");
      expect(spawnSync("sha256sum", ["-c", "SHA256SUMS"], { cwd: join(out, "docs") }).status).toBe(0);
    });

    it("build-ipxe compiles the pinned iPXE from --ipxe-source: bty's chain script inside, verified, checksummed", { concurrent: true }, async () => {
      const tree = join(work, "ipxe");
      untar(IPXE_TARBALL, tree);
      await call("build-ipxe", ["--ipxe-source", tree, "build-ipxe", "export", "--path", join(out, "ipxe")]);
      const efi = join(out, "ipxe", `bty-ipxe-x86_64-v${BTY_TEST_VERSION}.efi`);
      expect(listFiles(join(out, "ipxe"))).toEqual([`bty-ipxe-x86_64-v${BTY_TEST_VERSION}.efi`, `bty-ipxe-x86_64-v${BTY_TEST_VERSION}.efi.sha256`]);
      // The size a compile of this commit with bty's embed script has outside the engine (payload tier).
      expect(statSync(efi).size).toBe(1_146_368);
      expect(readFileSync(efi).includes("bty: chaining to http://${next-server}:8080/pxe-bootstrap.ipxe")).toBe(true);
      // bty-ci's own verifier, outside the engine: PE32+ x86-64 EFI, a sane size, the embed script's lines inside.
      const embed = join(bty, "bty-media/auxiliary/ipxe-embed.ipxe");
      const verify = spawnSync("python3", [join(CI_DIR, "ipxe-verify.py"), "--embed", embed, "--min-bytes", "786432", "--max-bytes", "1572864", efi], { encoding: "utf8" });
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
      expect(spawnSync("sha256sum", ["-c", `bty-ipxe-x86_64-v${BTY_TEST_VERSION}.efi.sha256`], { cwd: join(out, "ipxe") }).status).toBe(0);
    });
  });

  describe("the drop-in workflow's own command lines, in a git checkout of bty", () => {
    const gitRoot = join(work, "git");
    const checkout = join(work, "bty-checkout");
    const moduleUrl = "http://127.0.0.1/bty-ci.git@main";
    let server: Server;
    /** The drop-in's run: lines that call dagger, by step name, as `workflow` prints them for `module`. */
    let dropInRuns: (module: string) => Promise<Record<string, string>>;

    beforeAll(async () => {
      mkdirSync(gitRoot, { recursive: true });
      publishBare(mod, gitRoot, "bty-ci");
      server = await gitServer(gitRoot);
      // bty's checkout, on a branch other than main: tag-release refuses it by
      // name, which shows whose ref --head resolved to (bty-ci's is main).
      untar(btySdist(), checkout);
      git(checkout, "init", "-q", "-b", "engine-tier-probe");
      git(checkout, "add", "-A");
      git(checkout, "commit", "-qm", `bty ${BTY_TEST_VERSION} from its sdist`);
      // What the writing jobs download: the checks' artifacts and their report, then one altered.
      const gathered = gatheredTree(BTY_TEST_VERSION);
      cpSync(gathered, join(checkout, "gathered"), { recursive: true });
      mkdirSync(join(checkout, "run-report"));
      copyFileSync(checksReport(BTY_TEST_VERSION, gathered), join(checkout, "run-report", "report.json"));
      writeFileSync(join(checkout, "gathered", "docs-pdf", "bty.pdf"), "%PDF-1.4 altered on its way\n");
      dropInRuns = async (module: string) => {
        const wf = parseYaml(await call(`workflow-${module ? "m" : "toolchain"}`, ["workflow", "--module", module, "contents"]));
        const steps: Record<string, string> = {};
        for (const job of Object.values(wf.jobs) as { steps: { name: string; run?: string }[] }[]) {
          for (const s of job.steps) if (s.run?.includes("dagger ")) steps[s.name] = s.run.trim();
        }
        return steps;
      };
    }, 10 * 60_000);

    afterAll(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

    /**
     * Run one drop-in line in the checkout with the workflow's environment.
     * Asynchronously: the git server that -m loads bty-ci from lives in this
     * process.
     */
    function runLine(name: string, line: string, env: Record<string, string> = {}) {
      // The line runs as printed, but for the binary: this engine's CLI, not one on PATH.
      expect(line, "a drop-in line that does not start with `dagger `").toMatch(/^dagger /);
      return runLogged(`dropin-${name}`, ["bash", "-c", line.replace(/^dagger /, `${DAGGER_BIN} `)], { cwd: checkout, env: daggerEnv(env), timeoutMs: 40 * 60_000 });
    }

    for (const mode of ["-m (git server)", "toolchain"] as const) {
      describe(mode, () => {
        let steps: Record<string, string>;

        beforeAll(async () => {
          if (mode === "toolchain") {
            const tc = join(checkout, ".bty-ci");
            rmSync(tc, { recursive: true, force: true });
            git(work, "clone", "-q", mod, tc);
            rmSync(join(tc, ".git"), { recursive: true, force: true });
            writeFileSync(join(checkout, ".git/info/exclude"), "/.bty-ci/\n/dagger.json\n");
            await daggerOk("toolchain-init", ["init", "--name", "bty"], { cwd: checkout });
            await daggerOk("toolchain-install", ["toolchain", "install", "./.bty-ci"], { cwd: checkout });
          }
          // The drop-in names bty-ci's release; here it is this tree, served on 127.0.0.1.
          const release = "github.com/safl/bty-ci@main";
          const printed = await dropInRuns(mode === "toolchain" ? "" : release);
          steps = Object.fromEntries(Object.entries(printed).map(([k, v]) => [k, v.replaceAll(release, moduleUrl)]));
          for (const line of Object.values(steps)) {
            if (mode === "toolchain") expect(line).not.toContain(" -m ");
            else expect(line).toContain(`-m ${moduleUrl} `);
          }
        }, 15 * 60_000);

        if (mode === "toolchain") {
          it("dagger check -l lists the reference's checks, under the toolchain's name", async () => {
            const listed = firstColumn(await daggerOk("check-l", ["check", "-l"], { cwd: checkout }));
            expect(listed.sort()).toEqual(referenceFunctions(readFileSync(join(REPO, "docs/reference.md"), "utf8")).checks.map((c) => `bty-ci:${c}`).sort());
          });
        }

        // The github-release job's line as it runs after the hand-off: the
        // downloaded artifacts in gathered/, the report in run-report/, paths
        // relative to the checkout in both modes. One file differs from the
        // report, so it is refused before anything is sent (GitHub is not
        // reachable from here, and is never asked).
        it("attach-to-release's line verifies the downloaded artifacts against the report: an altered one is refused", async () => {
          const r = await runLine(`${mode.split(" ")[0]}-attach-to-release`, steps["attach-to-release"]!, {
            TAG: `v${BTY_TEST_VERSION}`,
            GITHUB_TOKEN: "not-a-token",
          });
          expect(r.code).not.toBe(0);
          expect(r.stderr).toContain("refusing to upload: 1 file(s) are not what the checks built (docs-pdf/bty.pdf: sha256 ");
        });

        if (mode !== "toolchain") {
          // The main job with no argument (README's first command): the
          // checkout it runs in, else bty's pinned release, never bty-ci's tree.
          it("with no --source, -m works on the checkout it is called from; elsewhere on bty's pinned release; a --source that is not bty is refused", async () => {
            const here = await runLine("m-version-checkout", `dagger -m ${moduleUrl} call version`);
            expect(here.code, here.stderr.slice(-2000)).toBe(0);
            expect(here.stdout.trim()).toBe(BTY_TEST_VERSION);
            // bty-ci's own clone (no pyproject.toml): not bty, so the pinned release, which only GitHub serves (unreachable here).
            const elsewhere = join(work, "bty-ci-clone");
            rmSync(elsewhere, { recursive: true, force: true });
            git(work, "clone", "-q", mod, elsewhere);
            const pinned = await runLogged("m-version-elsewhere", [DAGGER_BIN, "--progress=plain", "-m", moduleUrl, "call", "version"], { cwd: elsewhere, env: daggerEnv(), timeoutMs: 20 * 60_000 });
            expect(pinned.code).not.toBe(0);
            expect(pinned.stderr).toContain("no bty checkout here, and bty 0.77.2 at its pinned release could not be fetched (https://github.com/safl/bty.git at be25ebf131383bca2e0a1faefe87b1a4ef694875: ");
            const notBty = await runLine("m-version-not-bty", `dagger -m ${moduleUrl} call --source ${elsewhere} version`);
            expect(notBty.code).not.toBe(0);
            expect(notBty.stderr).toContain("no pyproject.toml at the root of the source directory: run bty-ci from a bty checkout, or pass one with `--source <path-to-bty>`");
          });
        }

        it("tag-release's line takes --head from the checkout: it refuses the checkout's branch by name", async () => {
          // The checks job's line reads the report its all-checks step exported under $RUNNER_TEMP/run.
          const runnerTemp = join(work, "runner-temp");
          mkdirSync(join(runnerTemp, "run"), { recursive: true });
          copyFileSync(join(checkout, "run-report", "report.json"), join(runnerTemp, "run", "report.json"));
          const r = await runLine(`${mode.split(" ")[0]}-tag-release`, steps["tag-release"]!, { RELEASE_PAT: "not-a-token", RUNNER_TEMP: runnerTemp });
          expect(r.code).not.toBe(0);
          expect(r.stderr).toContain('the checkout is on "refs/heads/engine-tier-probe"');
        });
      });
    }
  });

  describe("the release against stand-ins on 127.0.0.1, reached through the CLI's host tunnels", () => {
    // pypiserver (real, from PyPI) and the payload tier's server speaking
    // GitHub's documented API: not PyPI or GitHub. The engine's containers
    // reach them as http://pypi:PORT and http://github-api:PORT, the names
    // --index-service / --api-service bind `tcp://localhost:PORT` under.
    const checkout = join(work, "bty-release");
    const tag = `v${BTY_TEST_VERSION}`;
    const ghToken = `ghp_tier${Math.random().toString(36).slice(2)}`;
    const pypiToken = `pypi-tier${Math.random().toString(36).slice(2)}`;
    const env = { BTY_CI_TIER_GH_TOKEN: ghToken, BTY_CI_TIER_PYPI_TOKEN: pypiToken };
    let pypi: Pypiserver;
    let gh: FakeGitHub;
    let commit: string;
    let index: string[];
    let api: string[];
    const release = (name: string, args: string[]) =>
      dagger(name, ["-m", mod, "call", "--source", checkout, "--hook-manifests", HOOK_MANIFESTS, ...args], { env });
    const writes = () => gh.log.filter((r) => r.method !== "GET");

    beforeAll(async () => {
      untar(btySdist(), checkout);
      git(checkout, "init", "-q", "-b", "main");
      git(checkout, "add", "-A");
      git(checkout, "commit", "-qm", `bty ${BTY_TEST_VERSION} from its sdist`);
      commit = git(checkout, "rev-parse", "HEAD").trim();
      pypi = await startPypiserver(join(work, "pypi"), pypiToken);
      gh = await startFakeGitHub({ token: ghToken, host: "github-api" });
      gh.refs.set(tag, commit);
      const ghPort = new URL(gh.apiUrl).port;
      index = ["--index", `http://pypi:${pypi.port}/simple/`, "--index-service", `tcp://localhost:${pypi.port}`, "--publish-url", `http://pypi:${pypi.port}/`];
      api = ["--repo", "safl/bty", "--api-url", gh.apiUrl, "--api-service", `tcp://localhost:${ghPort}`, "--head", checkout];
      // The release program's pinned Node image, as a look-alike whose npm trusts this machine's network.
      await nodeLookAlike(RELEASE.nodeImage);
    }, 20 * 60_000);

    afterAll(async () => {
      pypi?.stop();
      await gh?.stop();
    });

    it("check-not-published asks pypiserver: bty-lab is not there", async () => {
      const r = await release("check-not-published", ["check-not-published", "--tag", tag, ...index.slice(0, 4)]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(r.stdout.trim()).toBe(`http://pypi:${pypi.port}/simple/ does not know bty-lab yet: ${BTY_TEST_VERSION} is not published`);
    });

    it("publish --dry-run: the gate asks both stand-ins, every check runs, nothing is sent", async () => {
      const r = await release("publish-dry-run", [
        "publish", "--tag", tag, "--github-token", "env:BTY_CI_TIER_GH_TOKEN", ...api, ...index, "--dry-run", "--fail-on-error=false", "--format", "json",
      ]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      const report = JSON.parse(r.stdout) as { jobs: { name: string; status: string; reason: string }[] };
      expect(report.jobs.map((j) => j.name)).toEqual(["gate", "checks", "release", "images", "pypi"]);
      expect(report.jobs[0]).toMatchObject({ status: "passed", reason: `${tag} = ${tag} on ${commit}; index: not published` });
      // The checks ran for real, and here they are red: build-ipxe and the live
      // builds fetch iPXE and r8125 from GitHub, unreachable from this machine.
      expect(report.jobs[1]!.status).toBe("failed");
      expect(report.jobs[1]!.reason).toMatch(/^\d+ of 20 checks failed: .*build-ipxe/);
      expect(report.jobs.slice(2).map((j) => j.reason)).toEqual(Array(3).fill("not run: an earlier step failed"));
      expect(gh.log.some((q) => q.op === "GET /repos/{owner}/{repo}/git/ref/{ref}")).toBe(true);
      expect(writes()).toEqual([]);
      expect(readdirSync(pypi.packages)).toEqual([]);
      expect(r.stdout + r.stderr).not.toContain(ghToken);
    });

    it("tag-release on main: the tag exists, so it returns at once; no check runs, nothing is written", async () => {
      const r = await release("tag-release-exists", ["tag-release", "--token", "env:BTY_CI_TIER_GH_TOKEN", ...api]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(r.stdout.trim()).toBe(`${tag} already exists (on ${commit}); nothing to do`);
      expect(writes()).toEqual([]);
    });

    it("tag-release on main by the checks' report: a red one tags nothing, a green one tags the checkout's commit", async () => {
      gh.refs.delete(tag);
      const gathered = gatheredTree(BTY_TEST_VERSION);
      const red = await release("tag-release-red", ["tag-release", "--token", "env:BTY_CI_TIER_GH_TOKEN", ...api, "--report", checksReport(BTY_TEST_VERSION, gathered, ["test-usb-grow"])]);
      expect(red.code).not.toBe(0);
      expect(red.stderr).toContain("the checks did not pass (1 of 20 failed: test-usb-grow): nothing is released from a red run");
      expect(writes()).toEqual([]);
      const green = await release("tag-release-green", ["tag-release", "--token", "env:BTY_CI_TIER_GH_TOKEN", ...api, "--report", checksReport(BTY_TEST_VERSION, gathered)]);
      expect(green.code, green.stderr.slice(-3000)).toBe(0);
      expect(green.stdout.split("\n")[0]).toBe(`all 20 checks passed (all-checks' report of bty-lab ${BTY_TEST_VERSION})`);
      expect(writes().map((q) => q.op)).toEqual(["POST /repos/{owner}/{repo}/git/refs"]);
      expect(gh.refs.get(tag)).toBe(commit);
      expect(green.stdout + green.stderr).not.toContain(ghToken);
    });

    it("a release re-run after PyPI failed half-way: the gate lets it through, publish-pypi verifies the dist and finishes; then the gate refuses", async () => {
      const files = [`bty_lab-${BTY_TEST_VERSION}-py3-none-any.whl`, `bty_lab-${BTY_TEST_VERSION}.tar.gz`];
      // What the failed run left: the sdist on the index, not the wheel.
      copyFileSync(join(btyDist(BTY_TEST_VERSION), files[1]!), join(pypi.packages, files[1]!));
      const gate = await release("check-not-published-partial", ["check-not-published", "--tag", tag, ...index.slice(0, 4)]);
      expect(gate.code, gate.stderr.slice(-3000)).toBe(0);
      expect(gate.stdout.trim()).toBe(
        `http://pypi:${pypi.port}/simple/ has part of bty-lab ${BTY_TEST_VERSION} (${files[1]}): not completely published; a re-run of its release finishes it`,
      );
      const gathered = gatheredTree(BTY_TEST_VERSION);
      const dist = join(gathered, "dist");
      const r = await release("publish-pypi", [
        "publish-pypi", "--tag", tag, "--token", "env:BTY_CI_TIER_PYPI_TOKEN", ...index, "--dist", dist, "--report", checksReport(BTY_TEST_VERSION, gathered),
      ]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(r.stdout.trim().split("\n").at(-1)).toBe(`project page: http://pypi:${pypi.port}/project/bty-lab/`);
      expect(readdirSync(pypi.packages).sort()).toEqual(files);
      for (const f of files) expect(sha256(join(pypi.packages, f)), f).toBe(sha256(join(dist, f)));
      const again = await release("check-not-published-after", ["check-not-published", "--tag", tag, ...index.slice(0, 4)]);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain(`already has bty-lab ${BTY_TEST_VERSION}`);
      expect(r.stdout + r.stderr).not.toContain(pypiToken);
    });

    it("attach-to-release refuses a hand-off with one file altered since the checks built it: nothing is sent", async () => {
      const gathered = gatheredTree(BTY_TEST_VERSION);
      const report = checksReport(BTY_TEST_VERSION, gathered);
      const iso = `bty-usbboot-pc-x86_64-v${BTY_TEST_VERSION}.iso`;
      writeFileSync(join(gathered, "bty-usbboot-pc-x86_64-iso", iso), "not the ISO the checks booted\n");
      const before = gh.log.length;
      const r = await release("attach-to-release-altered", ["attach-to-release", "--tag", tag, "--token", "env:BTY_CI_TIER_GH_TOKEN", ...api, "--gathered", gathered, "--report", report]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`refusing to upload: 1 file(s) are not what the checks built (bty-usbboot-pc-x86_64-iso/${iso}: sha256 `);
      expect(gh.log.slice(before)).toEqual([]);
      expect(gh.releases).toEqual([]);
    });

    it("attach-to-release verifies the hand-off, then creates the GitHub release with every gathered file, its checksums and release.toml", async () => {
      const gathered = gatheredTree(BTY_TEST_VERSION);
      const r = await release("attach-to-release", [
        "attach-to-release", "--tag", tag, "--token", "env:BTY_CI_TIER_GH_TOKEN", ...api, "--gathered", gathered, "--report", checksReport(BTY_TEST_VERSION, gathered),
      ]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(gh.releases.map((x) => [x.tag_name, x.draft])).toEqual([[tag, false]]);
      const assets = new Map(gh.releases[0]!.assets.map((a) => [a.name, a]));
      expect(assets.has("release.toml")).toBe(true);
      for (const file of listFiles(gathered)) {
        const name = file.split("/").at(-1)!;
        expect(assets.get(name)?.digest, name).toBe(`sha256:${sha256(join(gathered, file))}`);
      }
      expect(gh.violations).toEqual([]);
      expect(r.stdout + r.stderr).not.toContain(ghToken);
    });
  });
});
