/**
 * The files of a bty checkout that functions read before sending container
 * work (pyproject.toml for the version, .pre-commit-config.yaml for lint's
 * hook manifests), as an answer for the recording engine's `contents`.
 */
import type { Call } from "./engine.js";

export const PYPROJECT = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n';

/** No remote hook repository, so lint fetches no manifest (lint.test.ts covers them). */
export const PRE_COMMIT_CONFIG = "repos: []\n";

/** `contents` of the file a chain reads: the pre-commit config, else `pyproject`. */
export function checkoutContents(pyproject: string = PYPROJECT) {
  return ({ chain }: { chain: Call[] }): string =>
    chain.some((c) => c.field === "file" && c.args.path === ".pre-commit-config.yaml") ? PRE_COMMIT_CONFIG : pyproject;
}
