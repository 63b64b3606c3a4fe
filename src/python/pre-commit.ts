/**
 * Reading bty's `.pre-commit-config.yaml` for lint (decision D1):
 * which hook repositories it pins at which revs, and the name under which
 * each repository's manifest (its `.pre-commit-hooks.yaml` at that rev)
 * reaches ci/localize-pre-commit.py. Pure functions, unit-tested.
 */
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** A remote hook repository of the config at the rev it pins. */
export interface HookRepository {
  /** `repo:` as written in the config (what the engine's git fetches). */
  url: string;
  /** `rev:` as written in the config (tag, commit or branch). */
  rev: string;
  /** `<owner>.<repo>@<rev>.yaml`: the file name of its manifest. */
  manifest: string;
}

export class PreCommitConfigError extends Error {
  override name = "PreCommitConfigError";
}

/** The message for a checkout without a pre-commit config. */
export const MISSING_PRE_COMMIT_CONFIG =
  "no .pre-commit-config.yaml at the root of the source directory: lint runs the " +
  "checkout's own pre-commit hook set; run bty-ci on a bty checkout (`--source <path-to-bty>`)";

// Entries `repo: local` and `repo: meta` have their hooks in the config itself.
const CONFIG_ONLY = new Set(["local", "meta"]);

const configSchema = z.object(
  {
    repos: z.array(
      z.object(
        { repo: z.string({ error: "`repo:` must be a string" }), rev: z.unknown().optional() },
        { error: "every entry of `repos:` must be a mapping with a `repo:` key" },
      ),
      { error: "no top-level `repos:` list" },
    ),
  },
  { error: "the top level is not a mapping" },
);

// scheme://[user@]host[:port]/owner/name[.git][/] or git@host:owner/name[.git]
// (what ci/localize-pre-commit.py accepts too).
const REPO_URL = /^(?:(?:https?|git|ssh):\/\/(?:[^@/]+@)?[^/:]+(?::\d+)?\/|git@[^:]+:)([^/]+)\/([^/]+?)(?:\.git)?\/?$/;

// A rev has to be usable as part of a file name.
const REV = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** `<owner>.<repo>@<rev>.yaml` (owner and repo in lower case, as GitHub compares them). */
export function manifestFileName(url: string, rev: string): string {
  const match = REPO_URL.exec(url.trim());
  if (!match) {
    throw new PreCommitConfigError(
      `.pre-commit-config.yaml: hook repository "${url}" is not a URL like ` +
        "https://<host>/<owner>/<repo>: fix the `repo:` entry",
    );
  }
  if (!REV.test(rev)) {
    throw new PreCommitConfigError(
      `.pre-commit-config.yaml: ${url} has rev "${rev}"; pin it to a release tag like ` +
        "v1.2.3 (`pre-commit autoupdate`)",
    );
  }
  return `${match[1]!.toLowerCase()}.${match[2]!.toLowerCase()}@${rev}.yaml`;
}

/**
 * The remote hook repositories of a pre-commit config, once each (in the
 * config's order), or a PreCommitConfigError that says what to fix.
 */
export function hookRepositories(text: string): HookRepository[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new PreCommitConfigError(`.pre-commit-config.yaml is not valid YAML (${reason}): fix the syntax`);
  }
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) {
    // A failed parse has at least one issue.
    throw new PreCommitConfigError(`.pre-commit-config.yaml: ${parsed.error.issues[0]!.message}`);
  }
  const repos = new Map<string, HookRepository>();
  for (const { repo: url, rev } of parsed.data.repos) {
    if (CONFIG_ONLY.has(url)) continue;
    if (rev === undefined) {
      throw new PreCommitConfigError(`.pre-commit-config.yaml: ${url} has no \`rev:\`; pin it to a release tag`);
    }
    if (typeof rev !== "string") {
      throw new PreCommitConfigError(`.pre-commit-config.yaml: ${url} has rev ${String(rev)}, not a string: quote it`);
    }
    const manifest = manifestFileName(url, rev);
    if (!repos.has(manifest)) repos.set(manifest, { url, rev, manifest });
  }
  return [...repos.values()];
}

/**
 * Throws, naming the files, when a directory given with `--hook-manifests`
 * (its `entries`) lacks a manifest that `repos` need.
 */
export function checkManifests(repos: HookRepository[], entries: string[]): void {
  const have = new Set(entries);
  const missing = repos.filter((r) => !have.has(r.manifest));
  if (missing.length === 0) return;
  throw new PreCommitConfigError(
    `--hook-manifests lacks ${missing.map((r) => r.manifest).join(", ")}: add each ` +
      "repository's .pre-commit-hooks.yaml at that rev under that name, or leave " +
      "--hook-manifests out to fetch them with git",
  );
}
