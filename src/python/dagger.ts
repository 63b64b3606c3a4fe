/**
 * The Dagger side of bty's Python jobs: lint (pre-commit with each hook
 * repository's definitions read from its own `.pre-commit-hooks.yaml` at the
 * rev bty pins, every hook installed from the Python package index; D1), the
 * test matrix, mypy, flash integration, wheel and sdist, and the docs.
 */
import { type Container, type Directory, dag } from "@dagger.io/dagger";

import { APT, CACHE, LINT, PATHS, type PythonLeg } from "../config.js";
import { type JobInputs, jobContainer } from "../containers.js";
import {
  buildWheelSteps,
  DIST_DIR,
  DOCS_OUTPUT,
  docsSteps,
  flashIntegrationSteps,
  lintSteps,
  testSteps,
  typecheckSteps,
} from "./plan.js";
import {
  checkManifests,
  type HookRepository,
  hookRepositories,
  MISSING_PRE_COMMIT_CONFIG,
  PreCommitConfigError,
} from "./pre-commit.js";

/** One leg of the matrix: uv sync, ruff check, ruff format --check, pytest. */
export function testContainer(inputs: JobInputs, leg: PythonLeg): Container {
  return jobContainer(inputs, { leg, steps: testSteps });
}

/** mypy on the 3.12 leg, as bty runs it. */
export function typecheckContainer(inputs: JobInputs): Container {
  return jobContainer(inputs, { steps: typecheckSteps });
}

/**
 * `pytest -m integration` as root on loop devices. The only privileged job:
 * it needs /dev/loop*, /dev/fuse, mount and partition re-reads.
 */
export function flashIntegrationContainer(inputs: JobInputs): Container {
  return jobContainer(inputs, { apt: APT.flashIntegration, steps: flashIntegrationSteps, privileged: true });
}

/** `uv build`: wheel, sdist and SHA256SUMS. */
export function buildWheelDirectory(inputs: JobInputs): Directory {
  return jobContainer(inputs, { steps: buildWheelSteps }).directory(`${PATHS.source}/${DIST_DIR}`);
}

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

/** The site (`html/`), `bty.pdf` and SHA256SUMS. */
export function docsDirectory(inputs: JobInputs): Directory {
  return jobContainer(inputs, {
    apt: APT.docs,
    tools: (ctr) =>
      ctr
        .withEnvVariable("TEXMFVAR", PATHS.texmfVar)
        .withMountedCache(PATHS.texmfVar, dag.cacheVolume(CACHE.texmfVar)),
    steps: docsSteps,
  }).directory(`${PATHS.source}/${DOCS_OUTPUT.bundle}`);
}
