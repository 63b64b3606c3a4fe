/**
 * The release functions' bodies, over the facade's own build functions (so
 * the release gathers exactly what the checks built). The facade validates
 * nothing here twice: each body checks its input before any build or send.
 */
import { dag, type Directory, type File, type GitRef, type Secret } from "@dagger.io/dagger";

import { type AssetGroup, assetGroups, RELEASE_TOML } from "../assets.js";
import {
  assertCredentials,
  assertOnMain,
  formatOutcomes,
  formatPlan,
  indexGate,
  notPublishedVerdict,
  type PublishStep,
  outcomesAsResults,
  runInOrder,
  type StepOutcome,
} from "../flow.js";
import { assertUploadsReachIndex, serviceHostName } from "../endpoint.js";
import {
  askIndex,
  assembleAssets,
  createTag,
  type GitHubEndpoint,
  type IndexEndpoint,
  type PublishCredentials,
  publishGithubRelease,
  receivedFiles,
  remoteTagCommit,
  uvPublish,
} from "./jobs.js";
import { assertChecksPassed, assertReceivedAsBuilt, parseRunReport } from "../verdict.js";
import { ALL_CHECKS } from "../../checks/plan.js";
import { assertGitHubTarget } from "../program.js";
import { PROJECT_PAGE_PREFIX, projectPage } from "../pypi.js";
import type { JobInputs } from "../../containers.js";
import { ipxeArtifactName } from "../../ipxe/plan.js";
import { ChecksFailed, lastMeaningfulLine, renderReport, REPORT_FORMATS, type RunReport, toRunReport } from "../../checks/report.js";
import { assertTagMatchesVersion, assertTagOnCommit, ReleaseInputError, tagOf } from "../version.js";

/** test-usb-ventoy's Ventoy release: unpacked, or the tarball's checksum (all-checks runs it). */
export interface VentoyInput {
  ventoy?: Directory;
  ventoyChecksum: string;
}

/** What the release needs from the facade: the build function of every asset group, all-checks and the image publishers. */
export interface Builders extends Record<AssetGroup["builtBy"], () => Promise<Directory>> {
  allChecks(format?: string, failOnError?: boolean, ventoy?: Directory, ventoyChecksum?: string): Promise<string>;
  publishDocker(tag: string, revision: string, registryUser?: string, registryToken?: Secret, ipxeSeed?: File, dist?: Directory): Promise<string[]>;
  publishTftp(tag: string, revision: string, registryUser?: string, registryToken?: Secret, ipxeSeed?: File): Promise<string[]>;
}

/** Refuse a GitHub target no container could reach, before anything is built or sent. */
function assertGitHubEndpoint(target: GitHubEndpoint): void {
  assertGitHubTarget(target);
  if (target.service) serviceHostName("--api-url", "--api-service", target.apiUrl);
}

/** bty's check-not-published: the tag is v<version> and the index does not have it. */
export async function checkNotPublished(inputs: JobInputs, version: string, tag: string, index: IndexEndpoint): Promise<string> {
  assertTagMatchesVersion(tag, version);
  if (index.service) serviceHostName("--index", "--index-service", index.url);
  return notPublishedVerdict(await askIndex(inputs, version, index), version, distFiles(version));
}

/**
 * The checks' verdict from all-checks' report: the report is read, must be
 * all-checks' for `version` with every check present and passed; returns its
 * one-line verdict.
 */
async function reportVerdict(report: File, version: string): Promise<{ verdict: string; report: RunReport }> {
  const parsed = parseRunReport(await report.contents());
  return { verdict: assertChecksPassed(parsed, ALL_CHECKS, version), report: parsed };
}

/** The checks' verdict a tag-release goes by: all-checks' report when given, else all-checks run here. */
export interface TagVerdict {
  /** all-checks' report.json of this commit's run (all-checks-bundle). */
  report?: File;
  ventoy: VentoyInput;
}

/**
 * bty's tag-release: on main, once every check passed, tag v<version> on
 * the checked-out commit. Returns at once when the remote has the tag; goes
 * by the checks' report when given (the run that just passed them), and
 * runs all-checks only without one.
 */
export async function tagRelease(b: Builders, version: string, token: Secret, head: GitRef, target: GitHubEndpoint, checks: TagVerdict): Promise<string> {
  const tag = tagOf(version);
  assertGitHubEndpoint(target);
  assertOnMain(await head.ref());
  const commit = await head.commit();
  const existing = await remoteTagCommit(token, target, tag);
  if (existing !== null) return `${tag} already exists (on ${existing}); nothing to do`;
  const verdict = checks.report
    ? (await reportVerdict(checks.report, version)).verdict
    : lastMeaningfulLine(await b.allChecks("text", true, checks.ventoy.ventoy, checks.ventoy.ventoyChecksum));
  return `${verdict}\n${await createTag(token, target, tag, commit)}`;
}

/**
 * Refuse a hand-off before any upload: `report` must be all-checks' green
 * report of `version`, and every released file of `groups` under `received`
 * (`<group>/<file>`) must have the sha256 the report's building job wrote.
 */
export async function verifyHandOff(inputs: JobInputs, report: File, version: string, groups: AssetGroup[], received: Directory): Promise<string> {
  const { verdict, report: parsed } = await reportVerdict(report, version);
  return `${verdict}; ${assertReceivedAsBuilt(parsed, groups, await receivedFiles(inputs, received))}`;
}

/**
 * The image publishers' hand-off check: the iPXE seed (and bty-web's dist)
 * against all-checks' report, before any image is built or pushed.
 */
export async function verifyImageHandOff(
  inputs: JobInputs,
  fn: string,
  o: { report: File; version: string; ipxeSeed?: File; dist?: Directory; needsDist: boolean },
): Promise<string> {
  if (!o.ipxeSeed || (o.needsDist && !o.dist)) {
    throw new ReleaseInputError(handOffNeedsFiles(fn, o.needsDist ? "--ipxe-seed FILE --dist DIR" : "--ipxe-seed FILE"));
  }
  const groups = groupsNamed(o.version, o.needsDist ? ["bty-ipxe-x86_64", "dist"] : ["bty-ipxe-x86_64"]);
  const ipxe = groups.find((g) => g.group === "bty-ipxe-x86_64")!;
  let received = dag.directory().withFile(`${ipxe.group}/${ipxe.files[0]}`, o.ipxeSeed);
  if (o.needsDist) received = received.withDirectory("dist", o.dist!);
  return verifyHandOff(inputs, o.report, o.version, groups, received);
}

/** The asset groups named `names`, of `version`. */
export function groupsNamed(version: string, names: string[]): AssetGroup[] {
  return assetGroups(version).filter((g) => names.includes(g.group));
}

/** Each asset group's Directory: from `gathered/<group>/` when given, else built by its function. */
async function gatherGroups(b: Builders, groups: AssetGroup[], gathered?: Directory): Promise<{ group: AssetGroup; dir: Directory }[]> {
  return Promise.all(groups.map(async (group) => ({ group, dir: gathered ? gathered.directory(group.group) : await b[group.builtBy]() })));
}

/** Check the tag is on the checked-out commit; returns the commit. */
async function tagOnHead(token: Secret, target: GitHubEndpoint, tag: string, head: GitRef): Promise<string> {
  const commit = await head.commit();
  assertTagOnCommit(tag, await remoteTagCommit(token, target, tag), commit);
  return commit;
}

/**
 * bty's attach-to-release: every asset, sidecars and release.toml, uploaded
 * resumably and verified. With a report, the gathered files are checked
 * against it first, and none is uploaded unless all match.
 */
export async function attachToRelease(
  b: Builders,
  inputs: JobInputs,
  o: { version: string; tag: string; token: Secret; head: GitRef; target: GitHubEndpoint; gathered?: Directory; report?: File },
): Promise<string> {
  assertTagMatchesVersion(o.tag, o.version);
  assertGitHubEndpoint(o.target);
  if (o.report && !o.gathered) throw new ReleaseInputError(handOffNeedsFiles("attach-to-release", "--gathered DIR (<group>/<file>)"));
  if (o.report) await verifyHandOff(inputs, o.report, o.version, assetGroups(o.version), o.gathered!);
  const commit = await tagOnHead(o.token, o.target, o.tag, o.head);
  const assets = assembleAssets(await gatherGroups(b, assetGroups(o.version), o.gathered), o.version, o.tag);
  return publishGithubRelease(o.token, o.target, o.tag, assets, commit);
}

/** The error of a --report without the files it verifies. */
export function handOffNeedsFiles(fn: string, flag: string): string {
  return `${fn} --report verifies the files the checks handed on: pass them too with ${flag}, from the run that wrote the report`;
}

/** The wheel and sdist of a version, as the dist group names them. */
function distFiles(version: string): string[] {
  return assetGroups(version).find((g) => g.group === "dist")!.files;
}

/** Token, or both OIDC request values; refuses anything else. */
export function publishCredentials(token?: Secret, oidcRequestToken?: Secret, oidcRequestUrl?: Secret): PublishCredentials {
  if (token) return { kind: "token", token };
  if (oidcRequestToken && oidcRequestUrl) return { kind: "trusted-publishing", requestToken: oidcRequestToken, requestUrl: oidcRequestUrl };
  throw new ReleaseInputError(
    "publish-pypi needs --token env:PYPI_TOKEN, or for trusted publishing both --oidc-request-token " +
      "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN and --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL",
  );
}

/** bty's publish-pypi: wheel + sdist, skip-existing against the index the gate asks. */
export async function publishPypi(
  b: Builders,
  inputs: JobInputs,
  o: { version: string; tag: string; creds: PublishCredentials; index: IndexEndpoint; publishUrl: string; dist?: Directory; report?: File },
): Promise<string> {
  assertTagMatchesVersion(o.tag, o.version);
  if (o.index.service) assertUploadsReachIndex(o.index.url, o.publishUrl);
  if (o.report && !o.dist) throw new ReleaseInputError(handOffNeedsFiles("publish-pypi", "--dist DIR"));
  if (o.report) await verifyHandOff(inputs, o.report, o.version, groupsNamed(o.version, ["dist"]), dag.directory().withDirectory("dist", o.dist!));
  const answer = await askIndex(inputs, o.version, o.index);
  const files = distFiles(o.version);
  await uvPublish(inputs, o.dist ?? (await b.buildWheel()), files, o.index, answer.index, o.publishUrl, o.creds);
  return (
    `published ${files.join(", ")} to the index behind ${answer.index} (files it already had were skipped)\n` +
    `${PROJECT_PAGE_PREFIX}${projectPage(answer.index)}`
  );
}

/** Everything `publish` takes. */
export interface PublishOptions {
  version: string;
  tag: string;
  head: GitRef;
  target: GitHubEndpoint;
  githubToken?: Secret;
  registryUser: string;
  registryToken?: Secret;
  pypiToken?: Secret;
  oidcRequestToken?: Secret;
  oidcRequestUrl?: Secret;
  index: IndexEndpoint;
  publishUrl: string;
  dryRun: boolean;
  /** Report format: text, markdown (for $GITHUB_STEP_SUMMARY) or json. */
  format: string;
  /** Fail when a step failed; false returns the report anyway (its status says so). */
  failOnError: boolean;
  /** test-usb-ventoy's Ventoy release, for the checks the flow runs. */
  ventoy: VentoyInput;
}

/**
 * The publish report in `format`: text is the step lines (after the dry-run
 * plan); markdown and json are the run report of all-checks' shape, one job
 * per step (the dry-run plan as a fenced block before it, or a `plan` field).
 */
export function renderPublishReport(tag: string, outcomes: StepOutcome[], text: string, plan: string | undefined, format: string): string {
  if (format === "text") return plan ? `${plan}\n\n${text}` : text;
  const report = toRunReport(`publish ${tag}`, outcomesAsResults(outcomes));
  const rendered = renderReport(report, format);
  if (!plan) return rendered;
  if (format === "json") return JSON.stringify({ ...JSON.parse(rendered), plan }, null, 2);
  return `\`\`\`text\n${plan}\n\`\`\`\n\n${rendered}`;
}

/**
 * The whole tag flow: gate, every check, release, images, PyPI last. A dry
 * run builds and checks everything and sends nothing: it returns the plan
 * and the manifest. A failure reports which steps completed.
 */
export async function publish(b: Builders, inputs: JobInputs, o: PublishOptions): Promise<string> {
  // Refused before anything is built or sent.
  if (!(REPORT_FORMATS as readonly string[]).includes(o.format)) {
    throw new ReleaseInputError(`unknown --format "${o.format}": use one of ${REPORT_FORMATS.join(", ")}`);
  }
  assertTagMatchesVersion(o.tag, o.version);
  assertGitHubEndpoint(o.target);
  if (o.index.service) assertUploadsReachIndex(o.index.url, o.publishUrl);
  if (!o.dryRun) {
    assertCredentials({
      githubToken: !!o.githubToken,
      registryUser: o.registryUser !== "",
      registryToken: !!o.registryToken,
      pypiToken: !!o.pypiToken,
      oidc: !!o.oidcRequestToken && !!o.oidcRequestUrl,
    });
  }
  const creds = o.dryRun ? undefined : publishCredentials(o.pypiToken, o.oidcRequestToken, o.oidcRequestUrl);
  const files = distFiles(o.version);
  let commit = "";
  let pypiMode: "publish" | "finish" = "publish";
  let assets: Directory | undefined;
  const groups = assetGroups(o.version);
  const notes: Partial<Record<PublishStep, string>> = {};

  const steps: Record<PublishStep, () => Promise<string>> = {
    gate: async () => {
      commit = await o.head.commit();
      if (o.githubToken) assertTagOnCommit(o.tag, await remoteTagCommit(o.githubToken, o.target, o.tag), commit);
      else notes.gate = "tag-on-commit not checked: no --github-token";
      pypiMode = indexGate((await askIndex(inputs, o.version, o.index)).files, files, o.version);
      return `${o.tag} = v${o.version} on ${commit}; index: ${pypiMode === "publish" ? "not published" : "partly published (finishing)"}`;
    },
    // all-checks' own last line, e.g. "all 20 checks passed"; on failure the
    // failed checks by name first (the step's one-line reason), then the table.
    checks: async () => {
      try {
        return lastMeaningfulLine(await b.allChecks("text", true, o.ventoy.ventoy, o.ventoy.ventoyChecksum));
      } catch (err) {
        if (err instanceof ChecksFailed) throw new Error(`${err.summary}${err.message}`);
        throw err;
      }
    },
    release: async () => {
      const gathered = await gatherGroups(b, groups);
      assets = assembleAssets(gathered, o.version, o.tag);
      if (o.dryRun) {
        notes.release = `would upload: ${(await assets.entries()).sort().join(", ")}\n\n${await assets.file(RELEASE_TOML).contents()}`;
        return "assets built and assembled (dry run: not uploaded)";
      }
      await publishGithubRelease(o.githubToken!, o.target, o.tag, assets, commit);
      return `GitHub release ${o.tag} complete and verified against ${RELEASE_TOML}`;
    },
    images: async () => {
      const dist = await b.buildWheel();
      const seed = (await b.buildIpxe()).file(ipxeArtifactName(o.version));
      if (o.dryRun) {
        notes.images = `would publish bty-web and bty-tftp ${o.version} (+ latest for a final release) with revision ${commit}`;
        return "images not built (dry run)";
      }
      const web = await b.publishDocker(o.tag, commit, o.registryUser, o.registryToken, seed, dist);
      const tftp = await b.publishTftp(o.tag, commit, o.registryUser, o.registryToken, seed);
      return [...web, ...tftp].join(", ");
    },
    pypi: async () => {
      if (o.dryRun) {
        notes.pypi = `would ${pypiMode} ${files.join(", ")} with uv publish (skip-existing)`;
        return "not published (dry run)";
      }
      const out = await publishPypi(b, inputs, { version: o.version, tag: o.tag, creds: creds!, index: o.index, publishUrl: o.publishUrl, dist: await b.buildWheel() });
      // The step's line; the project page line is for the drop-in's pypi environment.
      return out.split("\n")[0]!;
    },
  };
  const { ok, outcomes } = await runInOrder(steps);
  const text = formatOutcomes(o.tag, outcomes);
  const plan = o.dryRun ? formatPlan(o.tag, notes) : undefined;
  const report = renderPublishReport(o.tag, outcomes, text, plan, o.format);
  if (!ok && o.failOnError) throw new Error(o.format === "text" ? text : `${text}\n\n${report}`);
  return report;
}
