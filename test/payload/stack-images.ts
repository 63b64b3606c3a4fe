/**
 * The container images of bty's deploy stack, built here with docker and
 * saved as tarballs the way the Dagger side hands them to its jobs: bty-web
 * and bty-tftp from bty's own recipes, staged as `localImage` stages them,
 * and the sidecars from their pinned sdists (the job's own download and
 * check steps). Shared by the deploy and quadlet payload tests.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import type { SidecarName } from "../../src/config.js";
import { sidecarSourceSteps } from "../../src/deploy/plan.js";
import { DIST_DIR } from "../../src/python/plan.js";
import { IMAGE_RECIPES, type ImageKind, recipeBuildArgs, wheelName } from "../../src/release/image-plan.js";
import { REPO, runHostSteps } from "./host.js";
import { DOCKER, docker } from "./registry.js";

/** Every base image bty's Dockerfiles and the sidecars' Containerfiles name (stand-ins: base-images.sh). */
const BASE_IMAGES = ["debian:bookworm-slim", "python:3.13-slim-bookworm", "python:3.12-slim", "ubuntu:26.04"];

/** Make the base-image stand-ins unless docker has them all (once per machine). */
export function ensureBaseImages(): void {
  if (BASE_IMAGES.every((image) => spawnSync(DOCKER, ["image", "inspect", image], { stdio: "ignore" }).status === 0)) return;
  const r = spawnSync("bash", [join(REPO, "test/payload/base-images.sh"), "--arch", "amd64", "--ca-bundle", "/etc/ssl/certs/ca-certificates.crt"], {
    encoding: "utf8",
    env: { ...process.env, DOCKER },
  });
  if (r.status !== 0) throw new Error(`base-images.sh failed:\n${r.stderr}`);
}

/** Build `context` with docker as `tag` and save it as `tarball`. */
export async function buildAndSave(tag: string, context: string, dockerfile: string, tarball: string, buildArgs: string[] = []): Promise<void> {
  await docker(["build", "--quiet", "-f", join(context, dockerfile), ...buildArgs, "-t", tag, context]);
  await docker(["save", "-o", tarball, tag]);
}

/**
 * One of bty's images from `checkout` (its wheel already built under dist/),
 * a random iPXE seed, as `<prefix>/<name>:test`; staged under `work`.
 */
export async function btyImage(kind: ImageKind, at: { checkout: string; version: string; work: string; prefix: string; tarball: string }): Promise<void> {
  const recipe = IMAGE_RECIPES[kind];
  const context = join(at.work, `context-${recipe.name}`);
  for (const [from, to] of Object.entries(recipe.context)) cpSync(join(at.checkout, from), join(context, to), { recursive: true });
  if (recipe.wheelDir) cpSync(join(at.checkout, DIST_DIR, wheelName(at.version)), join(context, recipe.wheelDir, wheelName(at.version)));
  mkdirSync(dirname(join(context, recipe.seed.path)), { recursive: true });
  writeFileSync(join(context, recipe.seed.path), randomBytes(4096));
  const args = recipeBuildArgs(recipe, at.version).flatMap((a) => ["--build-arg", `${a.name}=${a.value}`]);
  await buildAndSave(`${at.prefix}/${recipe.name}:test`, context, recipe.dockerfile, at.tarball, args);
}

/** A sidecar from its pinned sdist (the job's own steps, under `<work>/<name>`), as `<prefix>/<name>:test`. */
export async function sidecarImage(name: SidecarName, at: { work: string; prefix: string; tarball: string }): Promise<void> {
  const dir = join(at.work, name);
  mkdirSync(dir);
  await runHostSteps(sidecarSourceSteps(name, dir), dir, { logName: `sidecar-${name}` });
  await buildAndSave(`${at.prefix}/${name}:test`, join(dir, "src"), "deploy/Containerfile", at.tarball);
}
