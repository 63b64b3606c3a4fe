/**
 * Measured numbers for the README and issue notes (never asserted in tests):
 *   1. wall time of the unit + module tiers;
 *   2. payload wall time of bty's test matrix, cold caches vs warm caches,
 *      on every matrix Python this machine has;
 *   3. the iPXE compile (build-ipxe's steps on the vendored pinned tree), cold,
 *      and again in the same tree after a change of bty's embed script (what a
 *      cached build directory would save).
 *   4. with --media[=variant,...]: each live-media build cold and after a
 *      Python-only change (bench/media.ts; 10+ minutes per variant, root,
 *      trixie's live-build: ci/install-live-build.sh); with --side-by-side,
 *      netboot-pc cold through bty-ci's stages and through bty's own
 *      `lb build`, in one run.
 *   5. with --usb[=ISO]: the USB grow run (stage, boot, wizard, grow,
 *      poweroff, assert) of the payload tier (root; its budget is 4
 *      minutes under TCG), on bty's real usbboot-pc ISO when given or built
 *      by --media=usbboot-pc in the same run, else on the mimic ISO.
 *   6. with --pxe[=TRIO_DIR]: test-pxe's chain per firmware (bench/pxe.ts):
 *      QEMU start to the trio's kernel booting, and with a netboot-pc trio
 *      directory the full chain through `bty: flash complete; rebooting`.
 *   7. with --engine[=job,...]: the heavy jobs on a real Dagger engine
 *      (bench/engine.ts; root, the shared engine scripts): build-netboot-pc,
 *      test-pxe on both firmwares, build-usbboot-pc + test-usb-grow,
 *      build-ramboot-init (each medium cold, again with no change, after
 *      a Python-only change, and from a copy of this module changed outside
 *      ci/), all-checks --format markdown.
 * Usage: npm run bench [-- --skip-matrix] [-- --skip-ipxe] [-- --media[=netboot-pc,ramboot-init,usbboot-pc]] [-- --side-by-side]
 *                      [-- --usb[=ISO]] [-- --pxe[=TRIO_DIR]]
 *                      [-- --engine[=netboot-pc,pxe,usbboot-pc,ramboot-init,all-checks]]
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

import { IPXE, PYTHON_MATRIX, type PythonLeg } from "../src/config.js";
import { ipxeArtifactName, ipxeSteps } from "../src/ipxe/plan.js";
import { MEDIA_VARIANTS } from "../src/media/plan.js";
import { testSteps } from "../src/python/plan.js";
import { btyCheckout, CI_DIR, hostEnv, hostLayout, hostPython, IPXE_TARBALL, REPO, runHostSteps, scratch } from "../test/payload/host.js";
import { benchEngine, ENGINE_JOBS } from "./engine.js";
import { choiceFlag } from "./flags.js";
import { benchMedia, benchSideBySide, type MediaBench, printMediaBench, printSideBySide } from "./media.js";
import { benchPxe } from "./pxe.js";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function timeFastTiers(): number {
  const start = performance.now();
  const r = spawnSync("npx", ["vitest", "run", "--project", "unit", "--project", "module"], {
    cwd: REPO,
    stdio: "ignore",
  });
  if (r.status !== 0) throw new Error("unit/module tiers failed; run `npm run test:fast`");
  return performance.now() - start;
}

interface LegTime {
  /** `uv sync` alone: what the uv cache volume saves. */
  sync: number;
  /** The whole leg: sync, ruff, format check, pytest. */
  total: number;
}

/** One pass over every available leg with the given cache root; returns ms per leg. */
async function matrixPass(cacheRoot: string, legs: [PythonLeg, string][]): Promise<Map<PythonLeg, LegTime>> {
  const env = hostEnv({ UV_CACHE_DIR: join(cacheRoot, "uv-cache") });
  const times = new Map<PythonLeg, LegTime>();
  for (const [leg, python] of legs) {
    const start = performance.now();
    const runs = await runHostSteps(testSteps(hostLayout(python)), btyCheckout(), { env, logName: `bench-${leg}` });
    times.set(leg, { sync: runs[0]!.seconds * 1000, total: performance.now() - start });
  }
  return times;
}

/**
 * The USB grow payload test's own measurement (it prints a `bench:` line): on
 * bty's real usbboot-pc ISO when one is given (or built by this run's
 * --media=usbboot-pc), else on the payload tier's mimic ISO.
 */
function benchUsbGrow(iso?: string): string {
  const r = spawnSync(
    "npx",
    ["vitest", "run", "--project", "payload", "test/payload/usb.test.ts", "-t", iso ? "real usbboot-pc ISO" : "mimic usbboot-pc ISO.*within 4 minutes"],
    { cwd: REPO, encoding: "utf8", env: iso ? { ...process.env, BTY_CI_USBBOOT_ISO: resolve(iso) } : process.env },
  );
  const line = /bench: USB grow[^\n]*/.exec(`${r.stdout}${r.stderr}`)?.[0];
  if (r.status !== 0 || !line) throw new Error(`USB grow payload test failed:\n${r.stdout}\n${r.stderr}`);
  return line.replace(/^bench: /, "");
}

/** build-ipxe's steps on the vendored tree: cold, then after an embed-script change in the same tree. */
async function ipxeCompile(): Promise<void> {
  const tarball = IPXE_TARBALL;
  if (!existsSync(tarball)) {
    console.log(`\niPXE compile: skipped, no ${tarball} (set BTY_CI_VENDOR_DIR)`);
    return;
  }
  const checkout = btyCheckout();
  const version = /^version = "(.+)"$/m.exec(readFileSync(join(checkout, "pyproject.toml"), "utf8"))![1]!;
  const work = scratch("bench-ipxe");
  const tree = join(work, "ipxe");
  mkdirSync(tree);
  spawnSync("tar", ["-xzf", tarball, "-C", tree, "--strip-components=1"], { stdio: "inherit" });
  const layout = { ciDir: CI_DIR, python: "python3", checkout, ipxeTree: tree, outDir: join(work, "out"), buildLog: join(work, "build.log") };
  const cold = await runHostSteps(ipxeSteps(layout, IPXE, version), checkout, { logName: "bench-ipxe" });
  const size = statSync(join(layout.outDir, ipxeArtifactName(version))).size;
  appendFileSync(join(checkout, "bty-media/auxiliary/ipxe-embed.ipxe"), "# bench: changed\n");
  const rebuilt = await runHostSteps(ipxeSteps(layout, IPXE, version), checkout, { logName: "bench-ipxe" });
  console.log(
    `\niPXE compile (make -j ${IPXE.makeJobs}, ${size} bytes): cold ${seconds(cold[0]!.seconds * 1000)}, ` +
      `same tree after an embed change ${seconds(rebuilt[0]!.seconds * 1000)}; verify ${seconds(cold[1]!.seconds * 1000)}`,
  );
}

async function main() {
  console.log(`unit + module tiers: ${seconds(timeFastTiers())}`);
  if (!process.argv.includes("--skip-ipxe")) await ipxeCompile();
  const built: MediaBench[] = [];
  for (const variant of choiceFlag(process.argv, "media", MEDIA_VARIANTS)) {
    built.push(await benchMedia(variant));
    printMediaBench(built.at(-1)!);
  }
  if (process.argv.includes("--side-by-side")) printSideBySide(benchSideBySide());
  const usb = process.argv.find((a) => a === "--usb" || a.startsWith("--usb="));
  if (usb) console.log(benchUsbGrow(usb.startsWith("--usb=") ? usb.slice("--usb=".length) : built.find((b) => b.iso)?.iso));
  const pxe = process.argv.find((a) => a === "--pxe" || a.startsWith("--pxe="));
  if (pxe) await benchPxe(pxe.startsWith("--pxe=") ? pxe.slice("--pxe=".length) : undefined);
  const onEngine = choiceFlag(process.argv, "engine", ENGINE_JOBS);
  if (onEngine.length) await benchEngine(onEngine);
  if (process.argv.includes("--skip-matrix")) return;

  const legs = (Object.keys(PYTHON_MATRIX) as PythonLeg[])
    .map((leg) => [leg, hostPython(leg)] as const)
    .filter((pair): pair is [PythonLeg, string] => pair[1] !== undefined);
  const missing = Object.keys(PYTHON_MATRIX).filter((leg) => !legs.some(([l]) => l === leg));
  const cacheRoot = scratch("bench-cache");
  const cold = await matrixPass(cacheRoot, legs);
  const warm = await matrixPass(cacheRoot, legs);

  console.log(
    "\nbty test matrix payload, fresh checkout each leg; pass 1 starts from an empty uv cache\n" +
      "(later legs reuse it, as legs share the cache volume), pass 2 runs warm:",
  );
  const row = (cells: string[]) => console.log(cells.map((c) => c.padEnd(12)).join(""));
  row(["leg", "sync pass1", "sync pass2", "leg pass1", "leg pass2"]);
  for (const [leg] of legs) {
    const c = cold.get(leg)!;
    const w = warm.get(leg)!;
    row([leg, seconds(c.sync), seconds(w.sync), seconds(c.total), seconds(w.total)]);
  }
  const sum = (m: Map<PythonLeg, LegTime>, k: keyof LegTime) => [...m.values()].reduce((a, t) => a + t[k], 0);
  row(["total", seconds(sum(cold, "sync")), seconds(sum(warm, "sync")), seconds(sum(cold, "total")), seconds(sum(warm, "total"))]);
  console.log("(bty's pytest run dominates a leg; the uv cache volume saves the sync)");
  if (missing.length) console.log(`(no interpreter here for: ${missing.join(", ")})`);
}

await main();
