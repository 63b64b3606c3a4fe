/**
 * The command lines of bty-ci's release programs (ci/release/), shared by
 * the Dagger functions and the payload tests so both run them the same way.
 * Tokens never appear here: the programs read them from secret environment
 * variables.
 */

/** How to start ci/release/release.ts on one side (container or host). */
export interface ReleaseLayout {
  /**
   * Command that runs a TypeScript file: `node --import tsx` (one process,
   * so a kill reaches the program itself; tsx resolved from the working directory).
   */
  runner: string[];
  /** Directory holding bty-ci's `ci/`. */
  ciDir: string;
}

/** The GitHub repository and API a release talks to. */
export interface GitHubTarget {
  /** OWNER/NAME. */
  repo: string;
  /** REST API root, e.g. https://api.github.com or https://HOST/api/v3. */
  apiUrl: string;
}

const program = (l: ReleaseLayout) => [...l.runner, `${l.ciDir}/release/release.ts`];

/** Gather → flat asset directory with sidecars and release.toml. */
export function assembleArgv(l: ReleaseLayout, o: { version: string; tag: string; gathered: string; out: string }): string[] {
  return [...program(l), "assemble", "--version", o.version, "--tag", o.tag, "--gathered", o.gathered, "--out", o.out];
}

/** Create or complete the GitHub release of `tag` from `dir`, verifying it at the end. */
export function githubReleaseArgv(l: ReleaseLayout, t: GitHubTarget, o: { tag: string; dir: string; commit?: string }): string[] {
  const commit = o.commit ? ["--commit", o.commit] : [];
  return [...program(l), "github-release", "--repo", t.repo, "--api-url", t.apiUrl, "--tag", o.tag, "--dir", o.dir, ...commit];
}

/** Create the tag on `commit` unless it exists. */
export function githubTagArgv(l: ReleaseLayout, t: GitHubTarget, o: { tag: string; commit: string }): string[] {
  return [...program(l), "github-tag", "--repo", t.repo, "--api-url", t.apiUrl, "--tag", o.tag, "--commit", o.commit];
}

/** Print the commit the remote tag is on, or "none". */
export function githubTagShaArgv(l: ReleaseLayout, t: GitHubTarget, o: { tag: string }): string[] {
  return [...program(l), "github-tag-sha", "--repo", t.repo, "--api-url", t.apiUrl, "--tag", o.tag];
}

/** The secret environment variable the GitHub token travels in. */
export const GITHUB_TOKEN_ENV = "GITHUB_TOKEN";

/** Refuse a malformed repository or API root before anything is built or sent. */
export function assertGitHubTarget(t: GitHubTarget): void {
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(t.repo)) {
    throw new Error(`--repo "${t.repo}" is not OWNER/NAME (e.g. safl/bty)`);
  }
  let url: URL;
  try {
    url = new URL(t.apiUrl);
  } catch {
    throw new Error(`--api-url "${t.apiUrl}" is not a URL: use https://api.github.com or https://HOST/api/v3`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`--api-url "${t.apiUrl}" must be http(s): use https://api.github.com or https://HOST/api/v3`);
  }
}
