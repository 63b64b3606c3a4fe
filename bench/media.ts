/**
 * Live-media benchmark on the host (long: a cold live-build is 8+ minutes on
 * 2 cores). For each variant: the cold build, stage by stage, with the argv
 * the Dagger function runs (src/media/plan.ts); then what a Python-only
 * change to bty reruns under the engine's cache: install-bty, finish and
 * (usbboot-pc) bty's ISO finishing and the ISO checks, as long as bty's
 * wheel-install hook made the same files outside /opt (checked here: if they
 * differ, the base squashfs would be rebuilt and the bench says so). What a
 * run with no change costs is the engine's to measure (`--engine`,
 * bench/engine.ts): on the host there is no cache to look up.
 *
 * The engine keeps each stage's file system as a layer; on the host the
 * root file system after `rootfs` is kept as a copy instead (not timed).
 *
 * benchSideBySide: bty-ci's cold netboot-pc build next to bty's own path
 * (one `lb build` with bty's wheel-install hook in place and bty's /opt
 * inside the squashfs), in one run on the same machine, with the same
 * mirror and offline inputs.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { type MediaLayout, type MediaVariant, mediaStages, prepareStage } from "../src/media/plan.js";
import type { Step } from "../src/steps.js";
import { btyCheckout, CI_DIR, HOST_CA, R8125_BUNDLE, scratch, uvBin } from "../test/payload/host.js";


function run(argv: string[], log: string): number {
  const start = performance.now();
  appendFileSync(log, `\n$ ${argv.join(" ")}\n`);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", maxBuffer: 1 << 28 });
  appendFileSync(log, `${r.stdout}${r.stderr}`);
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status} (log ${log}):\n${r.stderr.slice(-3000)}`);
  return (performance.now() - start) / 1000;
}

const stage = (stages: Step[], label: string) => stages.find((s) => s.label === label)!;

/** sha256 of a file's bytes: what the engine keys the binary stage's input on (Directory.file). */
function fileDigest(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** A comment appended to the first (in name order) of the .py files under bty/dir that `pick` keeps; returns its path there. */
function commentAdded(bty: string, dir: string, pick: (path: string) => boolean, comment: string): string {
  const file = readdirSync(join(bty, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".py") && pick(f))
    .sort()[0]!;
  appendFileSync(join(bty, dir, file), `\n# bty-ci bench: ${comment}\n`);
  return file;
}

/** A Python-only change: a comment appended to one module of bty's package. */
export const pythonOnlyChange = (bty: string) => commentAdded(bty, "src", () => true, "a Python-only change");

/**
 * A change to bty's tests only (the commonest pull request besides code): a
 * comment appended to the first of its test modules. The wheel holds none of
 * tests/, so the media should rebuild nothing after the wheel.
 */
export const testsOnlyChange = (bty: string) => commentAdded(bty, "tests", (f) => /^test_[^/]*$/.test(f), "a change to the tests only");

export interface MediaBench {
  variant: MediaVariant;
  cold: Record<string, number>;
  pythonOnly: Record<string, number>;
  baseReused: boolean;
  sizes: Record<string, number>;
  /** The ISO made after the Python-only change (usbboot-pc), for the USB grow bench. */
  iso?: string;
}

/** bty's checkout and version, a scratch root with its log, and the offline inputs both benches pass. */
function benchInputs(name: string) {
  const bty = btyCheckout();
  const version = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(bty, "pyproject.toml"), "utf8"))![1]!;
  const root = scratch(name);
  const log = join(root, "bench.log");
  const r8125Repo = existsSync(R8125_BUNDLE) ? join(root, "r8125.git") : undefined;
  if (r8125Repo) run(["git", "clone", "-q", "--bare", R8125_BUNDLE, r8125Repo], log);
  return { bty, version, root, log, opts: { caCert: HOST_CA, r8125Repo } };
}

export async function benchMedia(variant: MediaVariant): Promise<MediaBench> {
  const { bty, version, root, log, opts } = benchInputs(`bench-media-${variant}`);
  const work = join(root, "build");
  const layout: MediaLayout = { ciDir: CI_DIR, source: bty, work, out: join(root, "out") };
  const dist = join(root, "dist");

  const cold: Record<string, number> = {};
  const coldStart = performance.now();
  cold["uv build"] = run([join(uvBin(), "uv"), "build", "--wheel", "--out-dir", dist, bty], log);
  const stages = mediaStages(layout, variant, version, dist, opts);
  for (const label of ["prepare", "rootfs"]) cold[label] = run(stage(stages, label).argv, log);
  // The engine's layer after rootfs, kept aside (untimed).
  const rootfsCopy = join(root, "rootfs-copy");
  run(["cp", "-a", "--reflink=auto", work, rootfsCopy], log);
  for (const s of stages.slice(2)) cold[s.label] = run(s.argv, log);
  cold.total = (performance.now() - coldStart) / 1000;
  const sizes = Object.fromEntries(readdirSync(layout.out).map((f) => [f, statSync(join(layout.out, f)).size]));
  const outsideBefore = fileDigest(join(work, "bty-outside.tar"));

  // Python-only change: the engine reruns install-bty on the rootfs layer...
  const changed = pythonOnlyChange(bty);
  appendFileSync(log, `\nchanged ${changed}\n`);
  const pythonOnly: Record<string, number> = {};
  const pyStart = performance.now();
  run(["rm", "-rf", dist], log);
  pythonOnly["uv build"] = run([join(uvBin(), "uv"), "build", "--wheel", "--out-dir", dist, bty], log);
  const again = { ...layout, work: rootfsCopy, out: join(root, "out-python-only") };
  const againStages = mediaStages(again, variant, version, dist, opts);
  pythonOnly["install bty"] = run(stage(againStages, "install bty").argv, log);
  const baseReused = fileDigest(join(rootfsCopy, "bty-outside.tar")) === outsideBefore;
  if (baseReused) {
    // ...and, on the (cached) binary layer with the new /opt layer, finish
    // (the append; usbboot-pc: the ISO made again) and bty's ISO finishing.
    run(["rm", "-rf", join(work, "bty-layer"), join(work, "pip-freeze.txt")], log);
    run(["mv", join(rootfsCopy, "bty-layer"), join(work, "bty-layer")], log);
    run(["mv", join(rootfsCopy, "pip-freeze.txt"), join(work, "pip-freeze.txt")], log);
    const onBinary = mediaStages({ ...layout, out: again.out }, variant, version, dist, opts);
    for (const s of onBinary.slice(onBinary.findIndex((x) => x.label === "finish"))) pythonOnly[s.label] = run(s.argv, log);
  } else {
    // The hook's files outside /opt changed: seal, binary and finish rerun on the new layer.
    for (const s of againStages.slice(3)) pythonOnly[s.label] = run(s.argv, log);
  }
  pythonOnly.total = (performance.now() - pyStart) / 1000;
  run(["rm", "-rf", rootfsCopy], log);
  // The ISO made after the Python-only change: the one the USB bench boots.
  const iso = readdirSync(again.out).find((f) => f.endsWith(".iso"));
  return { variant, cold, pythonOnly, baseReused, sizes, iso: iso && join(again.out, iso) };
}

export function printMediaBench(b: MediaBench): void {
  const fmt = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(", ");
  console.log(`\n${b.variant} (host):`);
  console.log(`  cold:                ${fmt(b.cold)}`);
  console.log(`  Python-only change:  ${fmt(b.pythonOnly)}`);
  console.log(`  = ${((100 * b.pythonOnly.total!) / b.cold.total!).toFixed(1)} % of cold; base squashfs reused: ${b.baseReused}`);
  for (const [name, size] of Object.entries(b.sizes)) console.log(`  ${name}: ${size} bytes`);
}

/** bty's wheel-install hook, which bty-ci's prepare holds out of `lb chroot`. */
const INSTALL_HOOK = "0500-bty-install.hook.chroot";

/**
 * Cold netboot-pc, bty-ci's stages first, then bty's own path: bty-ci's
 * prepare (the same mirror, CA, r8125 redirect and `lb config`) with its two
 * departures undone (the hook back in place, /opt no longer excluded from
 * the squashfs), bty's wheel where bty_wheel_stage.py stages it, and one
 * `lb build`, as live_build.py runs it. Run second, bty's path gets any
 * warmth the first left in the mirror.
 */
export function benchSideBySide(): { btyCi: Record<string, number>; bty: Record<string, number> } {
  const { bty, version, root, log, opts } = benchInputs("bench-side-by-side");
  // One wheel for both (untimed): each path starts from build-wheel's output.
  const dist = join(root, "dist");
  run([join(uvBin(), "uv"), "build", "--wheel", "--out-dir", dist, bty], log);
  const wheel = readdirSync(dist).find((f) => f.endsWith(".whl"))!;

  const btyCi: Record<string, number> = {};
  const ciLayout: MediaLayout = { ciDir: CI_DIR, source: bty, work: join(root, "bty-ci"), out: join(root, "bty-ci-out") };
  let start = performance.now();
  for (const s of mediaStages(ciLayout, "netboot-pc", version, dist, opts)) btyCi[s.label] = run(s.argv, log);
  btyCi.total = (performance.now() - start) / 1000;

  const own: Record<string, number> = {};
  const ownLayout: MediaLayout = { ciDir: CI_DIR, source: bty, work: join(root, "bty"), out: join(root, "bty-out") };
  const lbDir = join(ownLayout.work, "lb");
  start = performance.now();
  own["prepare (lb config)"] = run(prepareStage(ownLayout, "netboot-pc", opts).argv, log);
  renameSync(join(ownLayout.work, "held-hooks", INSTALL_HOOK), join(lbDir, "config/hooks/normal", INSTALL_HOOK));
  const excludes = join(lbDir, "config/rootfs/excludes");
  writeFileSync(excludes, readFileSync(excludes, "utf8").split("\n").filter((l) => l !== "opt").join("\n"));
  mkdirSync(join(lbDir, "config/includes.chroot/opt/bty"), { recursive: true });
  copyFileSync(join(dist, wheel), join(lbDir, "config/includes.chroot/opt/bty", wheel));
  own["lb build"] = run(["sh", "-c", 'cd "$1" && BTY_VARIANT=netboot-pc lb build', "sh", lbDir], log);
  own.total = (performance.now() - start) / 1000;
  // The same image in substance: bty where its hook puts it.
  run(["python3", join(CI_DIR, "media-verify.py"), "squashfs", join(lbDir, "binary/live/filesystem.squashfs"), "--path", "/opt/bty/venv/bin/bty"], log);
  return { btyCi, bty: own };
}

export function printSideBySide(r: { btyCi: Record<string, number>; bty: Record<string, number> }): void {
  const fmt = (x: Record<string, number>) => Object.entries(x).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(", ");
  console.log("\nnetboot-pc cold, side by side (host, one run, same mirror and offline inputs; bty-ci first):");
  console.log(`  bty-ci's stages:  ${fmt(r.btyCi)}`);
  console.log(`  bty's own path:   ${fmt(r.bty)}`);
  console.log(`  = ${(r.btyCi.total! / r.bty.total!).toFixed(2)}x bty's own cold time (bty-ci's includes its finish: checksums, build manifest, verification)`);
}
