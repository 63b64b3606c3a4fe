/**
 * Lint (decision D1): bty's pre-commit hook set, with each hook
 * repository's definitions read from its own `.pre-commit-hooks.yaml` at the
 * rev bty pins, and every hook installed from the Python package index.
 */
import { type Container, type Directory, dag } from "@dagger.io/dagger";

import { APT, CACHE, LINT, PATHS } from "./config.js";
import { type JobInputs, jobContainer } from "./containers.js";
import {
  checkManifests,
  type HookRepository,
  hookRepositories,
  MISSING_PRE_COMMIT_CONFIG,
  PreCommitConfigError,
} from "./pre-commit.js";
import { lintSteps } from "./steps.js";

/** The remote hook repositories of the checkout's pre-commit config. */
async function readHookRepositories(source: Directory): Promise<HookRepository[]> {
  if (!(await source.exists(LINT.config))) throw new PreCommitConfigError(MISSING_PRE_COMMIT_CONFIG);
  return hookRepositories(await source.file(LINT.config).contents());
}

/**
 * Each repository's manifest at its rev, fetched with the engine's git as
 * pre-commit itself would, gathered under the names the localizer expects.
 */
function fetchHookManifests(repos: HookRepository[]): Directory {
  return repos.reduce(
    (dir, repo) => dir.withFile(repo.manifest, dag.git(repo.url).ref(repo.rev).tree().file(LINT.manifestFile)),
    dag.directory(),
  );
}

/**
 * The hook manifests for the checkout's config: `given` (air-gapped callers)
 * once it is checked to have them all, else fetched with git.
 */
async function hookManifests(source: Directory, given?: Directory): Promise<Directory> {
  const repos = await readHookRepositories(source);
  if (!given) return fetchHookManifests(repos);
  checkManifests(repos, await given.entries());
  return given;
}

/** pre-commit with bty's hook set, hooks installed from the package index. */
export async function lintContainer(inputs: JobInputs, given?: Directory): Promise<Container> {
  const manifests = await hookManifests(inputs.source, given);
  return jobContainer(inputs, {
    apt: APT.lint,
    tools: (ctr) =>
      ctr
        // The checkout may keep the caller's uid; git must not refuse it as "dubious".
        .withEnvVariable("GIT_CONFIG_COUNT", "1")
        .withEnvVariable("GIT_CONFIG_KEY_0", "safe.directory")
        .withEnvVariable("GIT_CONFIG_VALUE_0", "*")
        .withEnvVariable("PRE_COMMIT_HOME", PATHS.preCommitHome)
        .withMountedCache(PATHS.preCommitHome, dag.cacheVolume(CACHE.preCommit))
        .withDirectory(LINT.manifestsDir, manifests),
    steps: (layout) => lintSteps(layout, LINT.manifestsDir),
  });
}
