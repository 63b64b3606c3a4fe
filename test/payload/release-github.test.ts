/**
 * The GitHub side of a release, for real: ci/release/release.ts (the program
 * the Dagger functions run) against a local server speaking GitHub's
 * documented REST API, every request and response validated against
 * GitHub's own OpenAPI description, with injected faults. Each case ends,
 * after one re-run at most, with a complete release that matches its
 * manifest and has no duplicates. Against a local server speaking GitHub's
 * documented API, not against GitHub.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { parse } from "smol-toml";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

import { RELEASE } from "../../src/config.js";
import { assembleArgv, githubReleaseArgv, githubTagArgv, githubTagShaArgv } from "../../src/release/program.js";
import { REPO, scratch } from "./host.js";
import { type FakeGitHub, startFakeGitHub } from "./release/github-fake.js";
import { gatheredTree, HOST_RELEASE_LAYOUT as L, type ProgramRun, runProgram } from "./release/fixture.js";

const VERSION = "0.77.2";
const TAG = `v${VERSION}`;
const COMMIT = "f3cab0c3012fbb4dc6f0b2ed30d506bc9c2506bd";
const TOKEN = `ghp_fake${Math.random().toString(36).slice(2)}SECRET`;
// Fast backoff for tests; the program's defaults are 1 s units and 1 s between writes.
const FAST = ["--retry-base-ms", "20", "--write-interval-ms", "0"];

let assets: string;
let fake: FakeGitHub | undefined;
const runs: ProgramRun[] = [];

beforeAll(async () => {
  const gathered = gatheredTree(VERSION);
  assets = join(scratch("assets"), "out");
  const r = await runProgram(assembleArgv(L, { version: VERSION, tag: TAG, gathered, out: assets }), {});
  runs.push(r);
  expect(r.code, r.stderr).toBe(0);
}, 300_000);

afterEach(async () => {
  if (!fake) return;
  const server = fake;
  fake = undefined;
  await server.stop();
  // Every request and response of every case kept to GitHub's description.
  expect(server.violations).toEqual([]);
});

async function release(extra: string[] = [], onSpawn?: (kill: () => void) => void): Promise<ProgramRun> {
  const argv = [...githubReleaseArgv(L, { repo: `${gh.owner}/${gh.repo}`, apiUrl: gh.apiUrl }, { tag: TAG, dir: assets }), ...FAST, ...extra];
  const r = await runProgram(argv, { GITHUB_TOKEN: TOKEN }, onSpawn);
  runs.push(r);
  return r;
}

/** The server of the running case. */
let gh: FakeGitHub;

async function fresh(): Promise<FakeGitHub> {
  fake = gh = await startFakeGitHub({ token: TOKEN });
  gh.refs.set(TAG, COMMIT);
  return gh;
}

const uploadsOf = () => gh.log.filter((l) => l.op.endsWith("/assets") && l.method === "POST" && l.status === 201);

/** The release as the server holds it equals the assembled directory: every file once, same bytes. */
function expectComplete(): void {
  const rels = gh.releases.filter((r) => r.tag_name === TAG);
  expect(rels).toHaveLength(1);
  const rel = rels[0]!;
  expect(rel.draft).toBe(false);
  const local = readdirSync(assets).sort();
  expect(rel.assets.map((a) => a.name).sort()).toEqual(local);
  for (const a of rel.assets) {
    const bytes = readFileSync(join(assets, a.name));
    const hex = spawnSync("sha256sum", [join(assets, a.name)], { encoding: "utf8" }).stdout.split(" ")[0];
    expect(a, a.name).toMatchObject({ state: "uploaded", size: bytes.length, digest: `sha256:${hex}` });
  }
}

describe("assembled assets (real files, parsed back)", () => {
  it("release.toml lists every non-sidecar asset with its real size and sha256; sidecars check with sha256sum -c", () => {
    const names = readdirSync(assets).sort();
    const manifest = parse(readFileSync(join(assets, "release.toml"), "utf8")) as {
      version: string; tag: string; released: string; artifacts: { name: string; size: number; sha256: string }[];
    };
    expect(manifest).toMatchObject({ version: VERSION, tag: TAG });
    expect(manifest.released).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(manifest.artifacts.map((a) => a.name)).toEqual([
      `bty-ipxe-x86_64-v${VERSION}.efi`,
      `bty-netboot-pc-x86_64-v${VERSION}.initrd`,
      `bty-netboot-pc-x86_64-v${VERSION}.squashfs`,
      `bty-netboot-pc-x86_64-v${VERSION}.vmlinuz`,
      `bty-ramboot-init-x86_64-v${VERSION}.initrd`,
      `bty-ramboot-init-x86_64-v${VERSION}.vmlinuz`,
      `bty-usbboot-pc-x86_64-v${VERSION}.iso`,
      `bty-usbboot-rpi-arm64-v${VERSION}.img.gz`,
      `bty_lab-${VERSION}-py3-none-any.whl`,
      `bty_lab-${VERSION}.tar.gz`,
      "bty.pdf",
    ]);
    for (const a of manifest.artifacts) {
      const out = spawnSync("sha256sum", [join(assets, a.name)], { encoding: "utf8" }).stdout;
      expect(out.split(" ")[0], a.name).toBe(a.sha256);
      expect(readFileSync(join(assets, a.name)).length).toBe(a.size);
    }
    const sidecars = names.filter((n) => n.endsWith(".sha256"));
    expect(sidecars.sort()).toEqual([
      `bty-ipxe-x86_64-v${VERSION}.efi.sha256`,
      `bty-netboot-pc-x86_64-v${VERSION}.sha256`,
      `bty-ramboot-init-x86_64-v${VERSION}.sha256`,
      `bty-usbboot-pc-x86_64-v${VERSION}.iso.sha256`,
      `bty-usbboot-rpi-arm64-v${VERSION}.img.gz.sha256`,
      `bty.pdf.sha256`,
      `bty_lab-${VERSION}-py3-none-any.whl.sha256`,
      `bty_lab-${VERSION}.tar.gz.sha256`,
    ]);
    const check = spawnSync("sha256sum", ["-c", "--strict", ...sidecars], { cwd: assets, encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout.trim().split("\n")).toHaveLength(11);
  });

  it("refuses a gathered tree with a missing asset or a wrong sidecar, naming the file", async () => {
    const gathered = gatheredTree(VERSION);
    spawnSync("rm", [join(gathered, "docs-pdf", "bty.pdf")]);
    const out = join(scratch("assets"), "out");
    const r = await runProgram(assembleArgv(L, { version: VERSION, tag: TAG, gathered, out }), {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("docs-pdf/bty.pdf");
    const g2 = gatheredTree(VERSION);
    writeFileSync(join(g2, "bty-usbboot-pc-x86_64-iso", `bty-usbboot-pc-x86_64-v${VERSION}.iso`), "tampered");
    const r2 = await runProgram(assembleArgv(L, { version: VERSION, tag: TAG, gathered: g2, out: join(scratch("assets"), "out") }), {});
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`bty-usbboot-pc-x86_64-v${VERSION}.iso.sha256`);
    const r3 = await runProgram(assembleArgv(L, { version: VERSION, tag: "v0.77.3", gathered: g2, out: join(scratch("assets"), "out") }), {});
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain("does not match");
  }, 120_000);
});

describe("GitHub release against a local server speaking GitHub's documented API", () => {
  it("creates the release as a draft, uploads everything, publishes it; a re-run changes nothing", async () => {
    await fresh();
    const r = await release();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectComplete();
    const created = gh.log.find((l) => l.op === "POST /repos/{owner}/{repo}/releases");
    expect(created?.status).toBe(201);
    expect(gh.releases[0]?.body).toContain("generated notes");
    expect(uploadsOf()).toHaveLength(readdirSync(assets).length);
    // release.toml, the file scripts read, is uploaded last.
    expect(uploadsOf().at(-1)?.path).toContain("name=release.toml");
    const before = gh.log.length;
    const again = await release();
    expect(again.code, again.stderr).toBe(0);
    const rerun = gh.log.slice(before);
    expect(rerun.filter((l) => l.method !== "GET")).toEqual([]);
    expect(again.stdout).toContain("skip release.toml: already uploaded with the same digest");
    expectComplete();
  });

  it("5xx answers are retried with backoff and the run completes", async () => {
    await fresh();
    gh.faults.push(
      { op: "GET /repos/{owner}/{repo}/releases", kind: "http-502", times: 2 },
      { op: "POST /repos/{owner}/{repo}/releases/{release_id}/assets", kind: "http-500", times: 1, name: "bty.pdf" },
    );
    const r = await release();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(gh.log.filter((l) => l.fault).map((l) => l.status)).toEqual([502, 502, 500]);
    expectComplete();
  });

  it("a connection dropped mid-upload leaves a half asset; it is replaced and the run completes", async () => {
    await fresh();
    const name = `bty-netboot-pc-x86_64-v${VERSION}.squashfs`;
    gh.faults.push({ op: "POST /repos/{owner}/{repo}/releases/{release_id}/assets", kind: "drop-mid-upload", times: 1, name });
    const r = await release();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(gh.log.some((l) => l.fault === "drop-mid-upload")).toBe(true);
    expect(r.stdout).toContain(`replace ${name}: an earlier attempt left it in state open`);
    expectComplete();
  });

  it("secondary rate limits (403 and 429 with retry-after) are waited out", async () => {
    await fresh();
    gh.faults.push(
      { op: "POST /repos/{owner}/{repo}/releases", kind: "secondary-403", times: 1 },
      { op: "POST /repos/{owner}/{repo}/releases/{release_id}/assets", kind: "secondary-429", times: 2 },
    );
    const r = await release();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("secondary rate limit on POST");
    expect(gh.log.filter((l) => l.fault).map((l) => l.status)).toEqual([403, 429, 429]);
    expectComplete();
  });

  it("a crash between two uploads leaves a draft nobody sees; one re-run completes it without duplicates", async () => {
    await fresh();
    let kill: () => void = () => {};
    gh.onUploaded = (_a, count) => count === 3 && kill();
    const crashed = await release([], (k) => (kill = k));
    expect(crashed.signal).toBe("SIGKILL");
    gh.onUploaded = undefined;
    expect(gh.releases[0]?.draft).toBe(true);
    expect(gh.releases[0]?.assets).toHaveLength(3);
    const r = await release();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/^release: skip /gm)).toHaveLength(3);
    expect(gh.log.filter((l) => l.op === "POST /repos/{owner}/{repo}/releases")).toHaveLength(1);
    expectComplete();
  });

  it("an asset already present with another digest is replaced; a stray asset is removed", async () => {
    await fresh();
    const rel = gh.seedRelease(TAG);
    gh.seedAsset(rel, "bty.pdf", Buffer.from("an older pdf"));
    gh.seedAsset(rel, "catalog.toml", Buffer.from("version = 1\n"));
    const r = await release();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/replace bty\.pdf: digest sha256:[0-9a-f]{64} differs/);
    expect(r.stdout).toContain("delete catalog.toml: not part of this release");
    expectComplete();
  });

  it("refuses a tag that is not on the checked-out commit, and a missing token, before writing anything", async () => {
    await fresh();
    const wrong = await release(["--commit", "0".repeat(40)]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`tag ${TAG} is on ${COMMIT}`);
    const noToken = await runProgram(githubReleaseArgv(L, { repo: "safl/bty", apiUrl: gh.apiUrl }, { tag: TAG, dir: assets }), { GITHUB_TOKEN: "" });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain("GITHUB_TOKEN is not set");
    expect(gh.log.filter((l) => l.method !== "GET")).toEqual([]);
  });

  it("tag: created on the commit once; a second run is a no-op; the tag's commit reads back", async () => {
    await fresh();
    gh.refs.clear();
    const target = { repo: "safl/bty", apiUrl: gh.apiUrl };
    const none = await runProgram([...githubTagShaArgv(L, target, { tag: TAG }), ...FAST], { GITHUB_TOKEN: TOKEN });
    expect(none.stdout.trim()).toBe("none");
    const first = await runProgram([...githubTagArgv(L, target, { tag: TAG, commit: COMMIT }), ...FAST], { GITHUB_TOKEN: TOKEN });
    expect(first.code, first.stderr).toBe(0);
    const second = await runProgram([...githubTagArgv(L, target, { tag: TAG, commit: COMMIT }), ...FAST], { GITHUB_TOKEN: TOKEN });
    expect(second.stdout).toContain("already exists");
    expect(gh.log.filter((l) => l.method === "POST")).toHaveLength(1);
    const sha = await runProgram([...githubTagShaArgv(L, target, { tag: TAG }), ...FAST], { GITHUB_TOKEN: TOKEN });
    expect(sha.stdout.trim()).toBe(COMMIT);
    runs.push(none, first, second, sha);
  });

});

describe("the local server's validation is not vacuous", () => {
  it("flags a request body, a query parameter and a response that GitHub's description rejects", async () => {
    await fresh();
    const headers = { authorization: `token ${TOKEN}`, "content-type": "application/json" };
    await fetch(`${gh.apiUrl}/repos/safl/bty/releases`, { method: "POST", headers, body: JSON.stringify({ tag_name: 7, draft: "yes" }) });
    await fetch(`${gh.apiUrl}/repos/safl/bty/releases?per_page=many&color=red`, { headers });
    const rel = gh.seedRelease(TAG);
    gh.seedAsset(rel, "x.bin", Buffer.from("x")).state = "broken" as never;
    await fetch(`${gh.apiUrl}/repos/safl/bty/releases/${rel.id}/assets`, { headers });
    await fetch(`${gh.apiUrl}/repos/safl/bty/branches`, { headers });
    const found = gh.violations.splice(0);
    expect(found.some((v) => v.startsWith("POST /repos/{owner}/{repo}/releases request body:") && v.includes("/tag_name must be string"))).toBe(true);
    expect(found.some((v) => v.includes("/draft must be boolean"))).toBe(true);
    expect(found).toContain("GET /repos/{owner}/{repo}/releases: undocumented query parameter color");
    expect(found.some((v) => v.startsWith("GET /repos/{owner}/{repo}/releases parameter per_page:"))).toBe(true);
    expect(found.some((v) => v.startsWith("GET /repos/{owner}/{repo}/releases/{release_id}/assets response 200:") && v.includes("/0/state must be equal to one of the allowed values"))).toBe(true);
    expect(found).toContain("undocumented or unexpected request GET /api/repos/safl/bty/branches");
  });
});

describe("the program as its container runs it", () => {
  it("installs from ci/release's lockfile alone (npm ci) and releases from the container layout", async () => {
    // The Node container's layout: package.json + lock at the root, the program's sources beside (RELEASE.programSources).
    const root = scratch("program");
    for (const f of ["package.json", "package-lock.json"]) copyFileSync(join(REPO, "ci/release", f), join(root, f));
    for (const dir of RELEASE.programSources.directories) {
      cpSync(join(REPO, dir), join(root, dir), { recursive: true, filter: (p) => !p.includes("node_modules") });
    }
    for (const file of RELEASE.programSources.files) cpSync(join(REPO, file), join(root, file));
    const npm = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, encoding: "utf8" });
    expect(npm.status, npm.stderr).toBe(0);
    await fresh();
    const layout = { runner: ["node", "--import", "tsx"], ciDir: join(root, "ci") };
    const argv = [...githubReleaseArgv(layout, { repo: "safl/bty", apiUrl: gh.apiUrl }, { tag: TAG, dir: assets, commit: COMMIT }), ...FAST];
    const r = await runProgram(argv, { GITHUB_TOKEN: TOKEN }, undefined, root);
    runs.push(r);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectComplete();
  }, 300_000);
});

describe("secrets", () => {
  it("no log line and no exported file of any run holds the token", () => {
    expect(runs.length).toBeGreaterThan(8);
    for (const r of runs) expect(r.stdout + r.stderr).not.toContain(TOKEN);
    const grep = spawnSync("grep", ["-rlF", TOKEN, assets], { encoding: "utf8" });
    expect(grep.status).toBe(1);
  });
});
