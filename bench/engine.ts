/**
 * The heavy jobs on the real engine (`npm run bench -- --engine[=job,…]`):
 * what the engine tier cannot hold in `.ci/run`'s time. Each job runs through
 * the real `dagger` CLI against an engine started by the engine tier's harness
 * (test/engine/harness.ts) on bty's sdist tree, with the offline inputs this
 * machine needs (GitHub is unreachable: the vendored iPXE tree and r8125
 * repository, the host's CA bundle for the chroot's pip), and prints its
 * result and wall time. Jobs:
 *   netboot-pc   build-netboot-pc;
 *   pxe          test-pxe --firmware bios, then uefi, on that trio (built if
 *                not in this run) through `bty: flash complete; rebooting`;
 *   usbboot-pc   build-usbboot-pc, then test-usb-grow on the ISO made after
 *                the Python-only change (the one made again around bty's layer);
 *   ramboot-init build-ramboot-init;
 * each medium five times: cold, again with no change (the engine's cache
 * lookups and the export), on a copy of bty with a comment added to one
 * of its modules (a Python-only change), on a copy with a comment added to
 * one of its tests (a tests-only change), and from a copy of this module
 * changed outside ci/ (as a commit in a checkout of bty-ci, or a new
 * bty-ci release, changes it), with the times, their ratios to cold, and
 * which exported files each change to bty altered;
 *   all-checks   all-checks-bundle, exported as the drop-in's checks job does:
 *                its report.md (the job summary) and what it hands on; the
 *                Raspberry Pi image from the payload tier's look-alike.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

import { createHash } from "node:crypto";

import { BTY_TEST_VERSION, btySdist, HOOK_MANIFESTS, HOST_CA, IPXE_TARBALL, R8125_BUNDLE, REPO } from "../test/payload/host.js";
import { rpiosLookalike } from "../test/payload/rpios.js";
import { dagger, ENGINE_WORK, engineDown, engineUp, quadletJobLookAlike, stackBaseLookAlikes } from "../test/engine/harness.js";
import { MEDIA } from "../src/config.js";
import { pythonOnlyChange, testsOnlyChange } from "./media.js";

export const ENGINE_JOBS = ["netboot-pc", "pxe", "usbboot-pc", "ramboot-init", "all-checks"] as const;
export type EngineJob = (typeof ENGINE_JOBS)[number];

/** A setup command that must succeed: throws with its output. */
function must(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

interface Outcome {
  job: string;
  seconds: number;
  result: string;
}

/** One medium built cold, with no change, and after each change. */
interface Rebuilds {
  medium: string;
  cold: number;
  noChange: number;
  pythonOnly: number;
  testsOnly: number;
  /** The same call (bty unchanged) from a copy of this module changed outside ci/. */
  moduleChanged: number;
  /** Exported files whose bytes differ between the cold and the Python-only build. */
  changed: string[];
  /** Exported files whose bytes differ between the cold and the tests-only build. */
  changedByTests: string[];
  passed: boolean;
}

/**
 * A copy of this module as the engine loads it (the files git tracks or
 * would, less what dagger.json leaves out) with a line added to README.md:
 * bty-ci changed outside ci/, which changes the module's whole source.
 */
function changedModuleCopy(dest: string): string {
  const listed = spawnSync("git", ["-C", REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files in ${REPO} failed:\n${listed.stderr}`);
  const leftOut = ["test/", "bench/", "docs/"];
  for (const file of listed.stdout.split("\0").filter((f) => f && !leftOut.some((d) => f.startsWith(d)))) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(REPO, file), join(dest, file));
  }
  appendFileSync(join(dest, "README.md"), "\nChanged by the engine bench: bty-ci outside ci/.\n");
  return dest;
}

const digest = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The files of two export directories whose contents differ (or exist in one only). */
function changedFiles(a: string, b: string): string[] {
  const names = [...new Set([...readdirSync(a), ...readdirSync(b)])].sort();
  return names.filter((n) => {
    try {
      return digest(join(a, n)) !== digest(join(b, n));
    } catch {
      return true;
    }
  });
}

/**
 * The engine's flags (engine-up.sh passes ENGINE_ARGS on): its default cache
 * policy keeps 20 % of the disk free and, where less is, prunes all but 10 GB
 * when a call ends, so the next call would build the media again. A call
 * after a cold build must find its layers: 10 GB reserved, 4 GB kept free,
 * at most 25 GB in use (the scripts' default CNI pool size kept). 25 GB
 * holds one medium's cold and rebuilt layers; the least recently used (an
 * earlier medium's) go first. Under a 60 GB cap the state reached 33 GB
 * and, with the exports beside it, left this machine under 10 GB free.
 */
const ENGINE_ARGS = "--oci-cni-pool-size 8 --oci-worker-gc-keepstorage 10000,4000,25000";

export async function benchEngine(jobs: EngineJob[]): Promise<void> {
  process.env.ENGINE_ARGS ??= ENGINE_ARGS;
  const work = join(ENGINE_WORK, "bench");
  rmSync(work, { recursive: true, force: true });
  const bty = join(work, "bty");
  const out = join(work, "out");
  mkdirSync(bty, { recursive: true });
  mkdirSync(out, { recursive: true });
  must(["tar", "-xzf", btySdist(), "-C", bty, "--strip-components=1"]);
  const ipxe = join(work, "ipxe");
  mkdirSync(ipxe);
  must(["tar", "-xzf", IPXE_TARBALL, "-C", ipxe, "--strip-components=1"]);
  const r8125 = join(work, "r8125.git");
  must(["git", "clone", "-q", "--bare", R8125_BUNDLE, r8125]);
  const module = REPO;
  // GitHub is unreachable here: the builds' offline inputs, as constructor arguments.
  const offline = ["--ipxe-source", ipxe, "--r-8125-source", r8125, "--extra-ca-certs", HOST_CA];
  const outcomes: Outcome[] = [];

  /** A copy of bty named `name` under the bench's work directory, with `change` made to it. */
  const changedBty = (name: string, change: (dir: string) => string) => {
    const dir = join(work, name);
    cpSync(bty, dir, { recursive: true });
    change(dir);
    return dir;
  };
  const btyPythonOnly = changedBty("bty-python-only", pythonOnlyChange);
  const btyTestsOnly = changedBty("bty-tests-only", testsOnlyChange);
  const rebuilds: Rebuilds[] = [];

  const changedModule = changedModuleCopy(join(work, "bty-ci-changed"));

  const call = async (name: string, args: string[], timeoutMs?: number, source = bty, from = module) => {
    const r = await dagger(`bench-${name}`, ["-m", from, "call", "--source", source, "--hook-manifests", HOOK_MANIFESTS, ...offline, ...args], { timeoutMs });
    const last = `${r.stdout}${r.stderr}`.trim().split("\n").slice(-1)[0] ?? "";
    outcomes.push({ job: name, seconds: r.seconds, result: r.code === 0 ? "passed" : `failed (exit ${r.code}): ${last.slice(0, 160)}` });
    console.log(`  ${name}: ${outcomes.at(-1)!.result}, ${r.seconds.toFixed(0)} s`);
    return r;
  };
  const describeFiles = (dir: string) => readdirSync(dir).map((f) => `${f} ${statSync(join(dir, f)).size} B`).join(", ");

  console.log(`\nthe heavy jobs on the real engine (${ENGINE_WORK}), bty ${BTY_TEST_VERSION}:`);
  const setupStart = performance.now();
  try {
    await engineUp();
    // The media builds' and the quadlet job's trixie image: not among the look-alikes the engine scripts push by default.
    await quadletJobLookAlike(MEDIA.image, MEDIA.suite);
    if (jobs.includes("all-checks")) await stackBaseLookAlikes();
    console.log(`  engine setup and the look-alike images: ${((performance.now() - setupStart) / 1000).toFixed(0)} s`);
    let trio: string | undefined;
    /** Cold, no change, Python-only, tests-only, bty-ci changed: the directory each exported to, or undefined where a call failed. */
    const series = async (medium: string, fn: string) => {
      const dirs = {
        cold: join(out, medium, "cold"), noChange: join(out, medium, "no-change"), pythonOnly: join(out, medium, "python-only"),
        testsOnly: join(out, medium, "tests-only"),        moduleChanged: join(out, medium, "bty-ci-changed"),
      };
      const cold = await call(fn, [fn, "export", "--path", dirs.cold]);
      const noChange = await call(`${fn}-no-change`, [fn, "export", "--path", dirs.noChange]);
      const pythonOnly = await call(`${fn}-python-only`, [fn, "export", "--path", dirs.pythonOnly], undefined, btyPythonOnly);
      const testsOnly = await call(`${fn}-tests-only`, [fn, "export", "--path", dirs.testsOnly], undefined, btyTestsOnly);
      const moduleChanged = await call(`${fn}-bty-ci-changed`, [fn, "export", "--path", dirs.moduleChanged], undefined, bty, changedModule);
      const passed = [cold, noChange, pythonOnly, testsOnly, moduleChanged].every((r) => r.code === 0);
      if (passed) console.log(`    ${describeFiles(dirs.cold)}`);
      rebuilds.push({
        medium, cold: cold.seconds, noChange: noChange.seconds, pythonOnly: pythonOnly.seconds, testsOnly: testsOnly.seconds,
        moduleChanged: moduleChanged.seconds, passed,
        changed: passed ? changedFiles(dirs.cold, dirs.pythonOnly) : [],
        changedByTests: passed ? changedFiles(dirs.cold, dirs.testsOnly) : [],
      });
      return passed ? dirs : undefined;
    };
    const netboot = async () => {
      trio = (await series("netboot-pc", "build-netboot-pc"))?.cold;
    };
    for (const job of jobs) {
      if (job === "netboot-pc") await netboot();
      if (job === "pxe") {
        if (!trio) await netboot();
        const efiDir = join(out, "ipxe");
        await call("build-ipxe", ["build-ipxe", "export", "--path", efiDir]);
        for (const firmware of ["bios", "uefi"]) {
          await call(`test-pxe-${firmware}`, ["test-pxe", "--firmware", firmware, ...(trio ? ["--trio", trio] : []), "--ipxe", efiDir]);
        }
      }
      if (job === "usbboot-pc") {
        const dirs = await series("usbboot-pc", "build-usbboot-pc");
        if (dirs) {
          const iso = readdirSync(dirs.pythonOnly).find((f) => f.endsWith(".iso"))!;
          await call("test-usb-grow", ["test-usb-grow", "--iso", join(dirs.pythonOnly, iso), "export", "--path", join(out, "usb-grow-bundle")]);
        }
      }
      if (job === "ramboot-init") await series("ramboot-init", "build-ramboot-init");
      if (job === "all-checks") {
        // The drop-in's checks job: the bundle it exports, uploads and hands on.
        const dir = join(out, "run");
        // No Raspberry Pi server is reachable: the Raspberry Pi OS look-alike the payload tier makes.
        const rpios = rpiosLookalike().path;
        const rpiosSha256 = createHash("sha256").update(readFileSync(rpios)).digest("hex");
        // Every job at once on two cores under TCG: longer than one build's 40 minutes.
        const r = await call("all-checks-bundle", ["all-checks-bundle", "--rpi-image", rpios, "--rpi-image-checksum", rpiosSha256, "export", "--path", dir], 150 * 60_000);
        if (r.code === 0) {
          const report = readFileSync(join(dir, "report.md"), "utf8");
          console.log(`    report: ${join(dir, "report.md")}\n${report}`);
          for (const group of readdirSync(join(dir, "gathered"))) console.log(`    gathered/${group}: ${describeFiles(join(dir, "gathered", group))}`);
        }
      }
    }
  } finally {
    await engineDown();
  }
  // The job column as wide as its longest name (build-usbboot-pc-python-only).
  const jobWidth = Math.max(3, ...outcomes.map((o) => o.job.length));
  console.log(`\n  ${"job".padEnd(jobWidth)} ${"result".padEnd(40)} ${"seconds".padStart(7)}`);
  for (const o of outcomes) console.log(`  ${o.job.padEnd(jobWidth)} ${o.result.slice(0, 40).padEnd(40)} ${o.seconds.toFixed(0).padStart(7)}`);
  if (rebuilds.length) {
    const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)} %`;
    console.log(
      "\n  medium         cold s   no change s (of cold)   Python-only s (of cold)   tests-only s (of cold)   bty-ci changed s (of cold)   " +
        "files changed by the Python-only change; by the tests-only change",
    );
    for (const b of rebuilds) {
      if (!b.passed) {
        console.log(`  ${b.medium.padEnd(13)} a call failed (see the table above)`);
        continue;
      }
      console.log(
        `  ${b.medium.padEnd(13)} ${b.cold.toFixed(0).padStart(6)}   ${b.noChange.toFixed(0).padStart(6)} (${pct(b.noChange, b.cold)})`.padEnd(47) +
          `${b.pythonOnly.toFixed(0).padStart(6)} (${pct(b.pythonOnly, b.cold)})`.padEnd(26) +
          `${b.testsOnly.toFixed(0).padStart(6)} (${pct(b.testsOnly, b.cold)})`.padEnd(25) +
          `${b.moduleChanged.toFixed(0).padStart(6)} (${pct(b.moduleChanged, b.cold)})`.padEnd(29) +
          `${b.changed.length ? b.changed.join(", ") : "none"}; ${b.changedByTests.length ? b.changedByTests.join(", ") : "none"}`,
      );
    }
  }
}
