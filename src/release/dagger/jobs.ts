/**
 * The Dagger side of releasing: containers that run bty-ci's release
 * programs. Secrets reach them only as secret variables; every exec that
 * talks to the outside carries a per-call nonce so the engine never answers
 * it from its cache (a cached "uploaded" would be a lie).
 */
import { CacheSharingMode, type Container, dag, type Directory, ReturnType, type Secret, type Service } from "@dagger.io/dagger";

import { CACHE, PATHS, PRIMARY_LEG, PYTHON_MATRIX, RELEASE, TOOLS } from "../../config.js";
import type { JobInputs } from "../../containers.js";
import { pythonImageRef } from "../../python/plan.js";
import { parseSha256Sums } from "../../sha256.js";
import { type AssetGroup } from "../assets.js";
import { serviceHostName } from "../endpoint.js";
import {
  assembleArgv,
  GITHUB_TOKEN_ENV,
  type GitHubTarget,
  githubReleaseArgv,
  githubTagArgv,
  githubTagShaArgv,
  type ReleaseLayout,
} from "../program.js";
import { type ReceivedFile, receivedSumsArgv } from "../verdict.js";
import { type IndexAnswer, indexVersionsArgv, parseIndexAnswer, PUBLISH_SECRET_ENV, uvPublishArgv } from "../pypi.js";

/** Where the release program is in its container. */
export const CONTAINER_RELEASE_LAYOUT: ReleaseLayout = {
  runner: ["node", "--import", "tsx"],
  ciDir: `${RELEASE.programRoot}/ci`,
};

const GATHERED = "/release/gathered";
const ASSETS = "/release/assets";
const DIST = "/release/dist";

/** A value that differs on every call: keeps outside-effect execs out of the engine's cache. */
function nonce(): string {
  return `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/**
 * The pinned Node image with the release program, the pure rules it
 * imports (RELEASE.programSources) and their exact dependencies (npm ci of
 * ci/release/package-lock.json).
 */
export function releaseProgramContainer(): Container {
  const mod = dag.currentModule().source();
  const root = RELEASE.programRoot;
  return dag
    .container()
    .from(RELEASE.nodeImage)
    .withEnvVariable("npm_config_cache", "/cache/npm")
    .withEnvVariable("npm_config_update_notifier", "false")
    .withMountedCache("/cache/npm", dag.cacheVolume(RELEASE.npmCache), { sharing: CacheSharingMode.Shared })
    .withWorkdir(root)
    .withFile(`${root}/package.json`, mod.file("ci/release/package.json"))
    .withFile(`${root}/package-lock.json`, mod.file("ci/release/package-lock.json"))
    .withExec(["npm", "ci", "--no-audit", "--no-fund"])
    .with((ctr) => RELEASE.programSources.directories.reduce(
      (c, dir) => c.withDirectory(`${root}/${dir}`, mod.directory(dir), { exclude: ["node_modules"] }),
      ctr,
    ))
    .with((ctr) => RELEASE.programSources.files.reduce((c, file) => c.withFile(`${root}/${file}`, mod.file(file)), ctr));
}

/** Every group's Directory laid out as `gathered/<group>/`, then assembled flat with release.toml. */
export function assembleAssets(groups: { group: AssetGroup; dir: Directory }[], version: string, tag: string): Directory {
  let ctr = releaseProgramContainer();
  for (const { group, dir } of groups) ctr = ctr.withDirectory(`${GATHERED}/${group.group}`, dir, { include: [...group.files, ...group.sidecars] });
  return ctr
    .withExec(assembleArgv(CONTAINER_RELEASE_LAYOUT, { version, tag, gathered: GATHERED, out: ASSETS }))
    .directory(ASSETS);
}

/** A GitHub target, with the Service that reaches its API when the engine cannot by itself. */
export interface GitHubEndpoint extends GitHubTarget {
  service?: Service;
}

/** A package index URL (empty: pip's), with the Service that reaches it when the engine cannot by itself. */
export interface IndexEndpoint {
  url: string;
  service?: Service;
}

/** `ctr` with `service` (when given) bound under the host name `url` names (src/release/endpoint.ts). */
function reaching(ctr: Container, flag: string, serviceFlag: string, url: string, service: Service | undefined): Container {
  return service ? ctr.withServiceBinding(serviceHostName(flag, serviceFlag, url), service) : ctr;
}

/** The program container with the GitHub token as a secret variable, the API's service, and a fresh nonce. */
function githubContainer(token: Secret, target: GitHubEndpoint): Container {
  return reaching(releaseProgramContainer(), "--api-url", "--api-service", target.apiUrl, target.service)
    .withSecretVariable(GITHUB_TOKEN_ENV, token)
    .withEnvVariable("BTY_CI_NONCE", nonce());
}

/** The commit the remote tag is on, or null. */
export async function remoteTagCommit(token: Secret, target: GitHubEndpoint, tag: string): Promise<string | null> {
  const out = (await githubContainer(token, target).withExec(githubTagShaArgv(CONTAINER_RELEASE_LAYOUT, target, { tag })).stdout()).trim();
  return out === "none" ? null : out;
}

/** Create the tag on `commit` unless it exists; returns the program's log. */
export async function createTag(token: Secret, target: GitHubEndpoint, tag: string, commit: string): Promise<string> {
  return githubContainer(token, target).withExec(githubTagArgv(CONTAINER_RELEASE_LAYOUT, target, { tag, commit })).stdout();
}

/** Create or complete the release of `tag` with `assets`, verified against its release.toml. */
export async function publishGithubRelease(token: Secret, target: GitHubEndpoint, tag: string, assets: Directory, commit: string): Promise<string> {
  return githubContainer(token, target)
    .withDirectory(ASSETS, assets)
    .withExec(githubReleaseArgv(CONTAINER_RELEASE_LAYOUT, target, { tag, dir: ASSETS, commit }))
    .stdout();
}

/** A pinned Python container with bty-ci's ci/ scripts (the 3.12 leg's image), reaching `index`. */
function pythonToolContainer(inputs: JobInputs, index: IndexEndpoint): Container {
  let ctr = dag
    .container()
    .from(pythonImageRef(inputs.pythonImage, PYTHON_MATRIX[PRIMARY_LEG]))
    .withEnvVariable("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    .withEnvVariable("PIP_ROOT_USER_ACTION", "ignore");
  if (inputs.pythonIndex) ctr = ctr.withEnvVariable("PIP_INDEX_URL", inputs.pythonIndex);
  return reaching(ctr, "--index", "--index-service", index.url, index.service).withDirectory(
    PATHS.ciScripts,
    dag.currentModule().source().directory("ci"),
  );
}

/**
 * The sha256 of every file under `dir`, as a writing job received it
 * (`<group>/<name>`), computed in the pinned Python image: the digest the
 * upload is checked with is never one the hand-off itself carried.
 */
export async function receivedFiles(inputs: JobInputs, dir: Directory): Promise<ReceivedFile[]> {
  const received = "/release/received";
  const out = await dag
    .container()
    .from(pythonImageRef(inputs.pythonImage, PYTHON_MATRIX[PRIMARY_LEG]))
    .withDirectory(received, dir)
    .withExec(receivedSumsArgv(received))
    .stdout();
  return parseSha256Sums(out).map(({ name, sha256 }) => ({ path: name, sha256 }));
}

/** The index's files for `version` (null: project unknown); throws when the index cannot be asked. */
export async function askIndex(inputs: JobInputs, version: string, index: IndexEndpoint): Promise<IndexAnswer> {
  const ctr = pythonToolContainer(inputs, index)
    .withEnvVariable("BTY_CI_NONCE", nonce())
    .withExec(indexVersionsArgv({ python: "python3", ciDir: PATHS.ciScripts, version, indexUrl: index.url, requireAbsent: false }), {
      expect: ReturnType.Any,
    });
  const code = await ctr.exitCode();
  if (code !== 0) {
    throw new Error(`the package index could not be asked (exit ${code}): ${(await ctr.stderr()).trim()}`);
  }
  return parseIndexAnswer(await ctr.stdout());
}

/** How `uv publish` gets its credentials: a token, or GitHub's OIDC request pair (trusted publishing). */
export type PublishCredentials =
  | { kind: "token"; token: Secret }
  | { kind: "trusted-publishing"; requestToken: Secret; requestUrl: Secret };

/**
 * `uv publish` of the wheel and sdist in `dist`, skipping what `checkUrl`
 * (the index the gate asked) already has; `index`'s service, when given,
 * serves the uploads too (publish-url names its host: checked by the flows).
 */
export async function uvPublish(
  inputs: JobInputs,
  dist: Directory,
  files: string[],
  index: IndexEndpoint,
  checkUrl: string,
  publishUrl: string,
  creds: PublishCredentials,
): Promise<string> {
  let ctr = pythonToolContainer(inputs, index)
    .withEnvVariable("UV_CACHE_DIR", PATHS.uvCache)
    .withMountedCache(PATHS.uvCache, dag.cacheVolume(CACHE.uv))
    .withExec(["pip", "install", `uv==${TOOLS.uv}`])
    .withDirectory(DIST, dist, { include: files });
  if (creds.kind === "token") {
    ctr = ctr.withSecretVariable(PUBLISH_SECRET_ENV.token, creds.token);
  } else {
    // uv only tries trusted publishing on GitHub Actions, with the runner's OIDC request pair.
    ctr = ctr
      .withEnvVariable("GITHUB_ACTIONS", "true")
      .withSecretVariable(PUBLISH_SECRET_ENV.oidcRequestToken, creds.requestToken)
      .withSecretVariable(PUBLISH_SECRET_ENV.oidcRequestUrl, creds.requestUrl);
  }
  return ctr
    .withEnvVariable("BTY_CI_NONCE", nonce())
    .withExec(uvPublishArgv({ files: files.map((f) => `${DIST}/${f}`), checkUrl, publishUrl, auth: creds.kind }))
    .stdout();
}
