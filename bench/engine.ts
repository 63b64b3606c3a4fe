/**
 * The heavy jobs on the real engine (`npm run bench -- --engine[=job,…]`):
 * what the engine tier cannot hold in `.ci/run`'s time. Each job runs through
 * the real `dagger` CLI against an engine started by the engine tier's harness
 * (test/engine/harness.ts) on bty's sdist tree, with the offline inputs this
 * machine needs (GitHub is unreachable: the vendored iPXE tree and r8125
 * repository, the host's CA bundle for the chroot's pip), and prints its
 * result and wall time. Jobs:
 *   netboot-pc   build-netboot-pc, exported and its sha256 manifest checked;
 *   pxe          test-pxe --firmware bios, then uefi, on that trio (built if
 *                not in this run) through `bty: flash complete; rebooting`;
 *   usbboot-pc   build-usbboot-pc, then test-usb-grow on its ISO;
 *   ramboot-init build-ramboot-init;
 *   all-checks   all-checks-bundle, exported as the drop-in's checks job does:
 *                its report.md (the job summary) and what it hands on; the
 *                Raspberry Pi image from the payload tier's look-alike.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

import { createHash } from "node:crypto";

import { BTY_TEST_VERSION, btySdist, HOOK_MANIFESTS, HOST_CA, IPXE_TARBALL, R8125_BUNDLE, REPO } from "../test/payload/host.js";
import { rpiosLookalike } from "../test/payload/rpios.js";
import { dagger, ENGINE_WORK, engineDown, engineUp, quadletJobLookAlike, stackBaseLookAlikes } from "../test/engine/harness.js";
import { MEDIA } from "../src/config.js";

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

export async function benchEngine(jobs: EngineJob[]): Promise<void> {
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

  const call = async (name: string, args: string[], timeoutMs?: number) => {
    const r = await dagger(`bench-${name}`, ["-m", module, "call", "--source", bty, "--hook-manifests", HOOK_MANIFESTS, ...offline, ...args], { timeoutMs });
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
    const netboot = async () => {
      const dir = join(out, "netboot-pc");
      const r = await call("build-netboot-pc", ["build-netboot-pc", "export", "--path", dir]);
      if (r.code === 0) {
        trio = dir;
        console.log(`    ${describeFiles(dir)}`);
      }
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
        const dir = join(out, "usbboot-pc");
        const r = await call("build-usbboot-pc", ["build-usbboot-pc", "export", "--path", dir]);
        if (r.code === 0) {
          console.log(`    ${describeFiles(dir)}`);
          const iso = readdirSync(dir).find((f) => f.endsWith(".iso"))!;
          await call("test-usb-grow", ["test-usb-grow", "--iso", join(dir, iso), "export", "--path", join(out, "usb-grow-bundle")]);
        }
      }
      if (job === "ramboot-init") {
        const dir = join(out, "ramboot-init");
        const r = await call("build-ramboot-init", ["build-ramboot-init", "export", "--path", dir]);
        if (r.code === 0) console.log(`    ${describeFiles(dir)}`);
      }
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
  console.log("\n  job                       result                                   seconds");
  for (const o of outcomes) console.log(`  ${o.job.padEnd(25)} ${o.result.slice(0, 40).padEnd(40)} ${o.seconds.toFixed(0).padStart(7)}`);
}
