/**
 * The version and tag rules of a release: one version,
 * `[project] version` of pyproject.toml, tagged `v<version>`. Python versions
 * are PEP 440 (not semver: "1.0rc1" is valid PEP 440 and invalid semver), so
 * PyPA's grammar decides, through @renovatebot/pep440.
 */
import { clean, explain } from "@renovatebot/pep440";

/** Refusal of bad release input, raised before anything is built or sent. */
export class ReleaseInputError extends Error {
  override name = "ReleaseInputError";
}

/**
 * Check that `version` can be released: valid PEP 440, in its canonical
 * spelling (the one `uv build` writes into file names and the index stores),
 * and without a local segment (package indexes refuse `+local` uploads).
 */
export function assertReleasableVersion(version: string): void {
  const parsed = explain(version);
  if (parsed === null) {
    throw new ReleaseInputError(
      `version "${version}" is not a PEP 440 version: set [project] version in pyproject.toml ` +
        'to a release like "0.77.2" (or "0.78.0rc1")',
    );
  }
  const canonical = clean(version);
  if (canonical !== version) {
    throw new ReleaseInputError(
      `version "${version}" is not in canonical PEP 440 form: write "${canonical}" in pyproject.toml`,
    );
  }
  if (parsed.local) {
    throw new ReleaseInputError(
      `version "${version}" has a local segment (+…), which package indexes refuse: drop it`,
    );
  }
}

/** The tag of a version: `v` + the version (bty's tag-release). */
export function tagOf(version: string): string {
  assertReleasableVersion(version);
  return `v${version}`;
}

/** True when `version` is a pre-release (a, b, rc or dev): the GitHub release is marked so. */
export function isPrerelease(version: string): boolean {
  return explain(version)?.is_prerelease === true;
}

/**
 * The tag being released must be exactly `v<version of pyproject>`: a tag
 * from another commit or a hand-typed one must not publish this checkout.
 */
export function assertTagMatchesVersion(tag: string, version: string): void {
  const expected = tagOf(version);
  if (tag !== expected) {
    throw new ReleaseInputError(
      `tag "${tag}" does not match pyproject.toml's version ${version}: release tag ${expected}, ` +
        "or bump [project] version to the tag's version",
    );
  }
}

/** A 40-hex git commit id. */
const COMMIT = /^[0-9a-f]{40}$/;

/** The remote tag must point at the commit being released. */
export function assertTagOnCommit(tag: string, remoteSha: string | null, commit: string): void {
  if (!COMMIT.test(commit)) throw new ReleaseInputError(`"${commit}" is not a full git commit id`);
  if (remoteSha === null) {
    throw new ReleaseInputError(
      `tag ${tag} does not exist on the remote: run tag-release on main first (it creates it)`,
    );
  }
  if (remoteSha !== commit) {
    throw new ReleaseInputError(
      `tag ${tag} points at ${remoteSha}, not at the checked-out commit ${commit}: ` +
        `check out ${tag} (git checkout ${tag}) and run again`,
    );
  }
}
