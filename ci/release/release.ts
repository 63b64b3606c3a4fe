/**
 * bty-ci's release program: assembles the release assets and carries the
 * GitHub side of a release out (tag, release, uploads, read-back check).
 * The Dagger functions run it in a pinned Node image with tsx; the payload
 * tests run the very same file on the host against a local server that
 * speaks GitHub's documented API. Decisions (what to upload, skip, replace)
 * come from src/release/, which the unit tests cover.
 *
 * The GitHub token is read from the GITHUB_TOKEN environment variable only
 * (a Dagger secret variable), never from the command line, and never logged.
 *
 * Exit codes: 0 done, 1 the remote side failed (re-run to finish), 2 bad
 * input (nothing was sent).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { Octokit } from "@octokit/rest";
import Bottleneck from "bottleneck";

import { assetGroups, missingAssets, RELEASE_TOML, ReleaseAssetError, SIDECAR_SUFFIX, sidecarPlan } from "../../src/release/assets.js";
import { buildManifest, parseReleaseToml, renderReleaseToml } from "../../src/release/manifest.js";
import { type LocalAsset, manifestLast, planUploads, type RemoteAsset, verifyRelease } from "../../src/release/upload-plan.js";
import { assertTagMatchesVersion, isPrerelease, ReleaseInputError } from "../../src/release/version.js";

const USAGE = `usage: release.ts <command> [options]

commands:
  assemble        --version V --tag vV --gathered DIR --out DIR [--released ISO-8601]
                  DIR/<group>/ holds each build's output; writes every asset, the
                  missing .sha256 sidecars and release.toml flat into --out.
  github-release  --repo OWNER/NAME --tag vV --dir DIR [--api-url URL] [--commit SHA]
                  creates or completes the release of the tag with DIR's files,
                  then reads it back and verifies it against DIR/release.toml.
  github-tag      --repo OWNER/NAME --tag vV --commit SHA [--api-url URL]
                  creates the tag on SHA unless the remote already has it.
  github-tag-sha  --repo OWNER/NAME --tag vV [--api-url URL]
                  prints the commit the remote tag points at, or "none".

options for github-*:
  --api-url URL         REST API root (default the public GitHub API; GHES: https://HOST/api/v3)
  --retries N           retries of a failed request (default 4)
  --retry-base-ms MS    backoff unit (default 1000; retry k waits k^2 units)
  --write-interval-ms MS  pause between write requests (default 1000, GitHub's advice)
env: GITHUB_TOKEN (required for github-*)`;

class UsageError extends Error {}

const log = (msg: string) => console.log(`release: ${msg}`);

/** sha256 of a file, streamed (a squashfs is most of a GiB). */
async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

// ---------------------------------------------------------------- assemble

async function assemble(opts: { version: string; tag: string; gathered: string; out: string; released?: string }) {
  assertTagMatchesVersion(opts.tag, opts.version);
  const groups = assetGroups(opts.version);
  const present: Record<string, string[]> = {};
  for (const g of groups) present[g.group] = await readdir(join(opts.gathered, g.group)).catch(() => []);
  const missing = missingAssets(groups, present);
  if (missing.length > 0) {
    throw new ReleaseAssetError(`missing assets (build them first): ${missing.join(", ")}`);
  }
  const stats: Record<string, { size: number; sha256: string }> = {};
  const digests: Record<string, string> = {};
  const sidecarTexts: Record<string, string> = {};
  const names = new Set<string>();
  for (const g of groups) {
    for (const name of [...g.files, ...g.sidecars]) {
      if (names.has(name)) throw new ReleaseAssetError(`two groups release ${name}`);
      names.add(name);
      const path = join(opts.gathered, g.group, name);
      const info = await stat(path);
      if (!info.isFile()) throw new ReleaseAssetError(`${g.group}/${name} is not a regular file`);
      if (g.sidecars.includes(name)) sidecarTexts[name] = await readFile(path, "utf8");
      else {
        digests[name] = await sha256File(path);
        stats[name] = { size: info.size, sha256: digests[name] };
      }
      await copyFile(path, join(opts.out, name));
    }
  }
  for (const sidecar of sidecarPlan(groups, sidecarTexts, digests)) {
    await writeFile(join(opts.out, sidecar.name), sidecar.text);
  }
  const released = opts.released ? new Date(opts.released) : new Date();
  if (Number.isNaN(released.getTime())) throw new UsageError(`--released "${opts.released}" is not a date`);
  const text = renderReleaseToml(buildManifest(opts.tag, opts.version, released, groups, stats));
  await writeFile(join(opts.out, RELEASE_TOML), text);
  console.log(text);
  log(`assembled ${(await readdir(opts.out)).length} assets in ${opts.out}`);
}

// ---------------------------------------------------------------- GitHub

interface GitHubOpts {
  repo: string;
  apiUrl: string;
  retries: number;
  retryBaseMs: number;
  writeIntervalMs: number;
}

function client(opts: GitHubOpts) {
  const token = process.env.GITHUB_TOKEN;
  if (!token) throw new UsageError("GITHUB_TOKEN is not set: pass the token as a secret environment variable");
  const RetryingOctokit = Octokit.plugin(retry, throttling);
  const onLimit = (kind: string) => (retryAfter: number, options: { method?: string; url?: string }, _o: unknown, retryCount: number) => {
    log(`${kind} on ${options.method} ${options.url}: retry ${retryCount + 1}/${opts.retries} in ${retryAfter}s`);
    return retryCount < opts.retries;
  };
  return new RetryingOctokit({
    auth: token,
    baseUrl: opts.apiUrl,
    userAgent: "bty-ci-release",
    // Failed requests are reported by this program itself, with what happens next.
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log(`warning: ${m}`), error: () => {} },
    retry: { retries: opts.retries, retryAfterBaseValue: opts.retryBaseMs },
    throttle: {
      retryAfterBaseValue: opts.retryBaseMs,
      write: new Bottleneck.Group({ maxConcurrent: 1, minTime: opts.writeIntervalMs }),
      onRateLimit: onLimit("rate limit"),
      onSecondaryRateLimit: onLimit("secondary rate limit"),
    },
  });
}

type Client = ReturnType<typeof client>;

function splitRepo(repo: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(repo);
  if (!m) throw new UsageError(`--repo "${repo}" is not OWNER/NAME`);
  return { owner: m[1]!, repo: m[2]! };
}

const status = (err: unknown): number | undefined => (err as { status?: number }).status;

/** The commit a remote tag points at (annotated tags dereferenced), or null. */
async function tagSha(gh: Client, repo: { owner: string; repo: string }, tag: string): Promise<string | null> {
  try {
    const { data } = await gh.rest.git.getRef({ ...repo, ref: `tags/${tag}` });
    if (data.object.type === "tag") {
      const annotated = await gh.rest.git.getTag({ ...repo, tag_sha: data.object.sha });
      return annotated.data.object.sha;
    }
    return data.object.sha;
  } catch (err) {
    if (status(err) === 404) return null;
    throw err;
  }
}

async function githubTag(gh: Client, repo: { owner: string; repo: string }, tag: string, commit: string) {
  const existing = await tagSha(gh, repo, tag);
  if (existing !== null) {
    // As bty: every push to main runs this; without a version bump the tag
    // exists, and that is not an error.
    log(`tag ${tag} already exists (on ${existing}); nothing to do`);
    return;
  }
  await gh.rest.git.createRef({ ...repo, ref: `refs/tags/${tag}`, sha: commit });
  log(`created tag ${tag} on ${commit}`);
}

type Release = Awaited<ReturnType<Client["rest"]["repos"]["getRelease"]>>["data"];

/** The release of `tag`, drafts included (the by-tag endpoint does not return drafts). */
async function findRelease(gh: Client, repo: { owner: string; repo: string }, tag: string): Promise<Release | null> {
  const releases = await gh.paginate(gh.rest.repos.listReleases, { ...repo, per_page: 100 });
  const matches = releases.filter((r) => r.tag_name === tag);
  if (matches.length > 1) throw new Error(`${matches.length} releases carry tag ${tag}: delete the extra ones by hand`);
  return (matches[0] as Release | undefined) ?? null;
}

async function remoteAssets(gh: Client, repo: { owner: string; repo: string }, releaseId: number): Promise<RemoteAsset[]> {
  const assets = await gh.paginate(gh.rest.repos.listReleaseAssets, { ...repo, release_id: releaseId, per_page: 100 });
  return assets.map((a) => ({ id: a.id, name: a.name, size: a.size, digest: a.digest ?? null, state: a.state }));
}

async function upload(gh: Client, release: Release, dir: string, asset: LocalAsset) {
  await gh.request({
    method: "POST",
    url: release.upload_url,
    name: asset.name,
    data: await readFile(join(dir, asset.name)),
    headers: { "content-type": "application/octet-stream", "content-length": asset.size },
  });
}

async function githubRelease(gh: Client, repo: { owner: string; repo: string }, tag: string, dir: string, commit?: string) {
  const manifestText = await readFile(join(dir, RELEASE_TOML), "utf8");
  const manifest = parseReleaseToml(manifestText);
  if (manifest.tag !== tag) throw new ReleaseInputError(`${RELEASE_TOML} is for ${manifest.tag}, not ${tag}`);
  const local: LocalAsset[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const info = await stat(join(dir, name));
    local.push({ name, size: info.size, sha256: await sha256File(join(dir, name)) });
  }
  for (const a of manifest.artifacts) {
    const l = local.find((x) => x.name === a.name);
    if (!l || l.sha256 !== a.sha256 || l.size !== a.size) {
      throw new ReleaseInputError(`${a.name} in ${dir} does not match ${RELEASE_TOML}: assemble again`);
    }
  }
  const manifestNames = new Set(manifest.artifacts.map((a) => a.name));
  const strays = local.filter((l) => !manifestNames.has(l.name) && !l.name.endsWith(SIDECAR_SUFFIX) && l.name !== RELEASE_TOML);
  if (strays.length > 0) throw new ReleaseInputError(`not in ${RELEASE_TOML}: ${strays.map((s) => s.name).join(", ")}`);
  if (commit !== undefined) {
    const sha = await tagSha(gh, repo, tag);
    if (sha !== commit) throw new ReleaseInputError(`tag ${tag} is on ${sha ?? "nothing"}, not on the checked-out ${commit}`);
  }

  let release = await findRelease(gh, repo, tag);
  if (release === null) {
    // A draft until every asset is verified, so nobody downloads a half release.
    release = (
      await gh.rest.repos.createRelease({
        ...repo,
        tag_name: tag,
        name: tag,
        generate_release_notes: true,
        draft: true,
        prerelease: isPrerelease(manifest.version),
      })
    ).data as Release;
    log(`created draft release ${release.id} for ${tag} with generated notes`);
  } else {
    log(`release ${release.id} for ${tag} exists (${release.draft ? "draft" : "published"}); completing it`);
  }

  const ordered = manifestLast(local, RELEASE_TOML);
  for (const action of planUploads(ordered, await remoteAssets(gh, repo, release.id))) {
    const asset = ordered.find((a) => a.name === action.name);
    switch (action.kind) {
      case "skip":
        log(`skip ${action.name}: already uploaded with the same digest`);
        break;
      case "delete":
        log(`delete ${action.name}: not part of this release`);
        await gh.rest.repos.deleteReleaseAsset({ ...repo, asset_id: action.id });
        break;
      case "replace":
        log(`replace ${action.name}: ${action.reason}`);
        await gh.rest.repos.deleteReleaseAsset({ ...repo, asset_id: action.id });
        await uploadOnce(gh, repo, release, dir, asset!);
        break;
      case "upload":
        await uploadOnce(gh, repo, release, dir, asset!);
        break;
    }
  }

  const problems = verifyRelease(local, await remoteAssets(gh, repo, release.id));
  if (problems.length > 0) throw new Error(`release ${tag} does not match its manifest: ${problems.join("; ")}`);
  if (release.draft) {
    await gh.rest.repos.updateRelease({ ...repo, release_id: release.id, draft: false });
    log(`published release ${tag}`);
  }
  const final = (await gh.rest.repos.getReleaseByTag({ ...repo, tag })).data;
  const finalProblems = verifyRelease(local, await remoteAssets(gh, repo, final.id));
  if (final.draft || finalProblems.length > 0) {
    throw new Error(`release ${tag} read back wrong: ${final.draft ? "still a draft; " : ""}${finalProblems.join("; ")}`);
  }
  log(`verified release ${tag}: ${local.length} assets match ${RELEASE_TOML} (${manifest.artifacts.length} artifacts)`);
}

/**
 * Upload one asset. A dropped connection is retried by the retry plugin;
 * when the first attempt left a half asset of that name behind, GitHub
 * answers 422 already_exists: remove that half asset and upload once more.
 */
async function uploadOnce(gh: Client, repo: { owner: string; repo: string }, release: Release, dir: string, asset: LocalAsset) {
  log(`upload ${asset.name} (${asset.size} bytes)`);
  try {
    await upload(gh, release, dir, asset);
  } catch (err) {
    if (status(err) !== 422) throw err;
    const stale = (await remoteAssets(gh, repo, release.id)).find((r) => r.name === asset.name);
    if (!stale) throw err;
    log(`replace ${asset.name}: an earlier attempt left it in state ${stale.state}`);
    await gh.rest.repos.deleteReleaseAsset({ ...repo, asset_id: stale.id });
    await upload(gh, release, dir, asset);
  }
}

// ---------------------------------------------------------------- main

function intOption(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer`);
  return n;
}

function required(values: Record<string, unknown>, ...names: string[]): void {
  const missing = names.filter((n) => typeof values[n] !== "string" || values[n] === "");
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((n) => `--${n}`).join(", ")}`);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  try {
    const { values } = parseArgs({
      args: rest,
      options: Object.fromEntries(
        ["version", "tag", "gathered", "out", "released", "repo", "dir", "api-url", "commit", "retries", "retry-base-ms", "write-interval-ms"].map(
          (n) => [n, { type: "string" as const }],
        ),
      ),
      strict: true,
    });
    const v = values as Record<string, string | undefined>;
    if (command === "assemble") {
      required(v, "version", "tag", "gathered", "out");
      await mkdir(v.out!, { recursive: true });
      await assemble({ version: v.version!, tag: v.tag!, gathered: v.gathered!, out: v.out!, released: v.released });
      return 0;
    }
    if (!["github-release", "github-tag", "github-tag-sha"].includes(command)) throw new UsageError(`unknown command "${command}"`);
    required(v, "repo", "tag");
    const opts: GitHubOpts = {
      repo: v.repo!,
      apiUrl: (v["api-url"] ?? "https://api.github.com").replace(/\/+$/, ""),
      retries: intOption(v.retries, 4, "--retries"),
      retryBaseMs: intOption(v["retry-base-ms"], 1000, "--retry-base-ms"),
      writeIntervalMs: intOption(v["write-interval-ms"], 1000, "--write-interval-ms"),
    };
    const repo = splitRepo(opts.repo);
    const gh = client(opts);
    if (command === "github-tag-sha") {
      console.log((await tagSha(gh, repo, v.tag!)) ?? "none");
    } else if (command === "github-tag") {
      required(v, "commit");
      await githubTag(gh, repo, v.tag!, v.commit!);
    } else {
      required(v, "dir");
      await githubRelease(gh, repo, v.tag!, v.dir!, v.commit);
    }
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof UsageError || err instanceof ReleaseInputError || err instanceof ReleaseAssetError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`release: ${message}\n(nothing was sent; see --help)`);
      return 2;
    }
    console.error(`release: failed: ${message}\nRe-run the same command: finished steps are detected and kept.`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
