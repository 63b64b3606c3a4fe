/**
 * The package-index side of a release, for real: a real package index
 * server from PyPI (pypiserver, with htpasswd auth) on 127.0.0.1, asked by
 * ci/release/index-versions.py (the check-not-published gate) and uploaded
 * to with `uv publish` using the same command lines as the Dagger functions.
 * Trusted publishing (OIDC) cannot run here (it needs GitHub's token
 * endpoint and PyPI's exchange); its command line is covered by the unit
 * and module tiers.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { indexGate } from "../../src/release/flow.js";
import { indexVersionsArgv, parseIndexAnswer, uvPublishArgv } from "../../src/release/pypi.js";
import { CACHE_DIR, CI_DIR, scratch, uvBin } from "./host.js";
import { btyDist, HOST_RELEASE_LAYOUT, type ProgramRun, runProgram } from "./release/fixture.js";
import { freePort, type Pypiserver, startPypiserver } from "./release/pypiserver.js";

const VERSION = "0.77.2";
const FILES = [`bty_lab-${VERSION}-py3-none-any.whl`, `bty_lab-${VERSION}.tar.gz`];
const TOKEN = `pypi-fake${Math.random().toString(36).slice(2)}SECRET`;
let server: Pypiserver;
let packages: string;
let simple: string;
let upload: string;
let dist: string;
let uv: string;
const runs: ProgramRun[] = [];

beforeAll(async () => {
  uv = join(uvBin(), "uv");
  const root = scratch("pypi");
  server = await startPypiserver(root, TOKEN);
  ({ packages, simple, upload } = server);
  dist = join(root, "dist");
  mkdirSync(dist);
  for (const f of FILES) copyFileSync(join(btyDist(VERSION), f), join(dist, f));
}, 300_000);

afterAll(() => {
  server?.stop();
});

const ask = async (requireAbsent = false, indexUrl = simple) => {
  const r = await runProgram(indexVersionsArgv({ python: "python3", ciDir: CI_DIR, version: VERSION, indexUrl, requireAbsent }), {});
  runs.push(r);
  return r;
};

const publish = async (token: string) => {
  const argv = uvPublishArgv({ files: FILES.map((f) => join(dist, f)), checkUrl: simple, publishUrl: upload, auth: "token" });
  const r = await runProgram([uv, ...argv.slice(1)], { UV_PUBLISH_TOKEN: token, UV_CACHE_DIR: join(CACHE_DIR, "uv-cache") });
  runs.push(r);
  return r;
};

describe("package index gate and upload against a real pypiserver", () => {
  it("a project the index does not know yet is not published (not an error)", async () => {
    const r = await ask(true);
    expect(r.code, r.stderr).toBe(0);
    expect(parseIndexAnswer(r.stdout)).toMatchObject({ project: "bty-lab", version: VERSION, files: null });
    expect(indexGate(parseIndexAnswer(r.stdout).files, FILES, VERSION)).toBe("publish");
  });

  it("an unreachable index is an error, never 'not published'", async () => {
    const r = await ask(true, `http://127.0.0.1:${await freePort()}/simple/`);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("never counts as 'not published'");
  });

  it("a wrong token is refused by the index and nothing is uploaded", async () => {
    const r = await publish("pypi-wrong-token");
    expect(r.code).not.toBe(0);
    expect(readdirSync(packages)).toEqual([]);
  });

  it("uv publish uploads wheel and sdist; the gate then refuses the version", async () => {
    const r = await publish(TOKEN);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(packages).sort()).toEqual(FILES);
    const gate = await ask(true);
    expect(gate.code).toBe(1);
    expect(gate.stderr).toContain(`already has bty-lab ${VERSION}`);
    expect(() => indexGate(parseIndexAnswer(gate.stdout).files, FILES, VERSION)).toThrow(/bump \[project\] version/);
  });

  it("a re-run skips what the index has (skip-existing) and finishes a partial upload", async () => {
    const again = await publish(TOKEN);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/already exists|skipping/i);
    rmSync(join(packages, FILES[1]!));
    const partial = parseIndexAnswer((await ask()).stdout).files;
    expect(partial).toEqual([FILES[0]]);
    expect(indexGate(partial, FILES, VERSION)).toBe("finish");
    const finish = await publish(TOKEN);
    expect(finish.code, finish.stdout + finish.stderr).toBe(0);
    expect(readdirSync(packages).sort()).toEqual(FILES);
  });

  it("no log of any run holds the token", () => {
    expect(runs.length).toBeGreaterThan(6);
    for (const r of runs) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });
});

// --help of both release programs, and ruff on index-versions.py: test/unit/ci-programs.test.ts and
// test/payload/ci-scripts.test.ts; index-versions.py's usage errors: test/unit/ci/test_index_versions.py.
describe("the release programs as programs", () => {
  it("release.ts: no command or an unknown one exits 2", async () => {
    const program = [...HOST_RELEASE_LAYOUT.runner, join(CI_DIR, "release", "release.ts")];
    expect((await runProgram(program, {})).code).toBe(2);
    const bad = await runProgram([...program, "frobnicate"], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "frobnicate"');
  });
});
