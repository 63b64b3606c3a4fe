/**
 * The package-index side of a release, as command lines
 * shared by the Dagger functions and the payload tests: asking the index
 * (ci/release/index-versions.py, through pip's index) and `uv publish`.
 * Credentials never appear here: uv reads them from secret variables.
 */
import { z } from "zod";

import { BTY_RELEASE } from "../config.js";
import { lastMeaningfulLine } from "../checks/report.js";
import { ReleaseInputError } from "./version.js";

/** bty's distribution name on the index. */
export const PROJECT = BTY_RELEASE.project;

/** Ask the index which files it has for `version` (prints JSON; exit 3 when unreachable). */
export function indexVersionsArgv(o: { python: string; ciDir: string; version: string; indexUrl: string; requireAbsent: boolean }): string[] {
  return [
    o.python, `${o.ciDir}/release/index-versions.py`, "--project", PROJECT, "--version", o.version,
    ...(o.indexUrl ? ["--index-url", o.indexUrl] : []),
    ...(o.requireAbsent ? ["--require-absent"] : []),
  ];
}

const answerSchema = z.object({
  project: z.string(),
  version: z.string(),
  index: z.string().url(),
  files: z.array(z.string()).nullable(),
});

export type IndexAnswer = z.infer<typeof answerSchema>;

/** Parse index-versions.py's answer. */
export function parseIndexAnswer(stdout: string): IndexAnswer {
  const line = lastMeaningfulLine(stdout);
  try {
    return answerSchema.parse(JSON.parse(line));
  } catch {
    throw new Error(`index-versions.py gave no answer: "${line}"`);
  }
}

/** How uv authenticates to the index. */
export type PublishAuth = "token" | "trusted-publishing";

/**
 * `uv publish` of the wheel and sdist. `--check-url` (the index the gate
 * asked) makes it skip files the index already has with the same digest,
 * so a re-run after a partial upload finishes it.
 */
export function uvPublishArgv(o: { files: string[]; checkUrl: string; publishUrl: string; auth: PublishAuth }): string[] {
  if (o.files.length === 0) throw new ReleaseInputError("nothing to publish: no wheel or sdist");
  return [
    "uv", "publish", "--no-progress",
    "--trusted-publishing", o.auth === "trusted-publishing" ? "always" : "never",
    "--check-url", o.checkUrl,
    ...(o.publishUrl ? ["--publish-url", o.publishUrl] : []),
    ...o.files,
  ];
}

/** The secret environment variables uv reads, per way of authenticating. */
export const PUBLISH_SECRET_ENV = {
  token: "UV_PUBLISH_TOKEN",
  oidcRequestToken: "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
  oidcRequestUrl: "ACTIONS_ID_TOKEN_REQUEST_URL",
} as const;

/** How publish-pypi's last line starts; the drop-in reads the pypi environment's URL from it. */
export const PROJECT_PAGE_PREFIX = "project page: ";

/**
 * bty-lab's page on the index behind a simple-index URL, in PyPI's layout
 * (`<root>/simple/` → `<root>/project/bty-lab/`); an index whose URL does not
 * end in `simple/` is its own page.
 */
export function projectPage(simpleIndex: string): string {
  const m = /^(.*\/)simple\/?$/.exec(simpleIndex);
  return m ? `${m[1]}project/${PROJECT}/` : simpleIndex;
}
