/**
 * Live-media benchmark (long: a cold live-build is 8+ minutes on 2 cores).
 * For each variant: the cold build, stage by stage, with the argv the Dagger
 * function runs (src/media/plan.ts); then what a Python-only change to bty
 * reruns under the engine's cache: install-bty and finish only, as long as
 * bty's wheel-install hook made the same files outside /opt (checked here:
 * if they differ, the base squashfs would be rebuilt and the bench says so).
 * A run with no change at all reruns no stage (every stage is a cache hit
 * keyed on unchanged inputs), so it costs only the engine's lookup.
 *
 * The engine keeps each stage's file system as a layer; on the host the
 * root file system after `rootfs` is kept as a copy instead (not timed).
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

import { type MediaLayout, type MediaVariant, mediaStages } from "../src/media/plan.js";
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

/** Hash of a directory tree's paths, link targets and contents (what the engine keys a copy on). */
function treeDigest(dir: string): string {
  const r = spawnSync("sh", ["-c", `cd '${dir}' && find . -printf '%p %y %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0r sha256sum`], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  return spawnSync("sha256sum", { input: r.stdout, encoding: "utf8" }).stdout.split(" ")[0]!;
}

/** A Python-only change: a comment appended to one module of bty's package. */
function pythonOnlyChange(bty: string): string {
  const pkg = join(bty, "src");
  const file = readdirSync(pkg, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".py"))
    .sort()[0]!;
  appendFileSync(join(pkg, file), "\n# bty-ci bench: a Python-only change\n");
  return file;
}

export interface MediaBench {
  variant: MediaVariant;
  cold: Record<string, number>;
  pythonOnly: Record<string, number>;
  baseReused: boolean;
  sizes: Record<string, number>;
  /** The cold build's ISO (usbboot-pc), kept for the USB grow bench. */
  iso?: string;
}

export async function benchMedia(variant: MediaVariant): Promise<MediaBench> {
  const bty = btyCheckout();
  const version = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(bty, "pyproject.toml"), "utf8"))![1]!;
  const root = scratch(`bench-media-${variant}`);
  const log = join(root, "bench.log");
  const work = join(root, "build");
  const layout: MediaLayout = { ciDir: CI_DIR, source: bty, work, out: join(root, "out") };
  const r8125Repo = existsSync(R8125_BUNDLE) ? join(root, "r8125.git") : undefined;
  if (r8125Repo) run(["git", "clone", "-q", "--bare", R8125_BUNDLE, r8125Repo], log);
  const dist = join(root, "dist");
  const opts = { caCert: HOST_CA, r8125Repo };

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
  const outsideBefore = treeDigest(join(work, "bty-outside"));

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
  const baseReused = treeDigest(join(rootfsCopy, "bty-outside")) === outsideBefore;
  if (baseReused && variant === "netboot-pc") {
    // ...and finish on the (cached) binary layer with the new /opt layer.
    run(["rm", "-rf", join(work, "bty-layer"), join(work, "pip-freeze.txt")], log);
    run(["mv", join(rootfsCopy, "bty-layer"), join(work, "bty-layer")], log);
    run(["mv", join(rootfsCopy, "pip-freeze.txt"), join(work, "pip-freeze.txt")], log);
    pythonOnly.finish = run(stage(mediaStages({ ...layout, out: again.out }, variant, version, dist, opts), "finish").argv, log);
  } else {
    // The squashfs holds bty (ISO, ramboot-init chroot) or the hook's other
    // files changed: seal, binary and finish rerun on the new layer.
    for (const s of againStages.slice(3)) pythonOnly[s.label] = run(s.argv, log);
  }
  pythonOnly.total = (performance.now() - pyStart) / 1000;
  run(["rm", "-rf", rootfsCopy], log);
  const iso = readdirSync(layout.out).find((f) => f.endsWith(".iso"));
  return { variant, cold, pythonOnly, baseReused, sizes, iso: iso && join(layout.out, iso) };
}

export function printMediaBench(b: MediaBench): void {
  const fmt = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(", ");
  console.log(`\n${b.variant}:`);
  console.log(`  cold:                ${fmt(b.cold)}`);
  console.log("  warm, no change:     no stage reruns (every stage's inputs unchanged: engine cache hits)");
  console.log(`  Python-only change:  ${fmt(b.pythonOnly)}`);
  console.log(`  = ${((100 * b.pythonOnly.total!) / b.cold.total!).toFixed(0)} % of cold; base squashfs reused: ${b.baseReused}`);
  for (const [name, size] of Object.entries(b.sizes)) console.log(`  ${name}: ${size} bytes`);
}
