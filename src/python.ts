/** bty's Python-side jobs (spec §3.2–3.4, 3.7) as Dagger containers. */
import { type Container, type Directory, dag } from "@dagger.io/dagger";

import { APT, CACHE, PATHS, PRIMARY_LEG, type PythonLeg } from "./config.js";
import {
  containerLayout,
  type JobInputs,
  pythonBase,
  runSteps,
  withAptPackages,
  withSource,
} from "./containers.js";
import {
  buildWheelSteps,
  DIST_DIR,
  flashIntegrationSteps,
  lintSteps,
  testSteps,
  typecheckSteps,
} from "./steps.js";

/** pre-commit with bty's hook set, hooks installed from the package index. */
export function lintContainer(inputs: JobInputs): Container {
  const tools = withAptPackages(pythonBase(inputs, PRIMARY_LEG), inputs, APT.lint)
    // The checkout may keep the caller's uid; git must not refuse it as "dubious".
    .withEnvVariable("GIT_CONFIG_COUNT", "1")
    .withEnvVariable("GIT_CONFIG_KEY_0", "safe.directory")
    .withEnvVariable("GIT_CONFIG_VALUE_0", "*")
    .withEnvVariable("PRE_COMMIT_HOME", PATHS.preCommitHome)
    .withMountedCache(PATHS.preCommitHome, dag.cacheVolume(CACHE.preCommit));
  return runSteps(withSource(tools, inputs), lintSteps(containerLayout(inputs)));
}

/** One leg of the matrix: uv sync, ruff check, ruff format --check, pytest. */
export function testContainer(inputs: JobInputs, leg: PythonLeg): Container {
  return runSteps(withSource(pythonBase(inputs, leg), inputs), testSteps(containerLayout(inputs)));
}

/** mypy on the 3.12 leg, as bty runs it. */
export function typecheckContainer(inputs: JobInputs): Container {
  return runSteps(
    withSource(pythonBase(inputs, PRIMARY_LEG), inputs),
    typecheckSteps(containerLayout(inputs)),
  );
}

/**
 * `pytest -m integration` as root on loop devices. The only privileged job:
 * it needs /dev/loop*, /dev/fuse, mount and partition re-reads.
 */
export function flashIntegrationContainer(inputs: JobInputs): Container {
  const tools = withAptPackages(pythonBase(inputs, PRIMARY_LEG), inputs, APT.flashIntegration);
  return runSteps(withSource(tools, inputs), flashIntegrationSteps(containerLayout(inputs)), {
    privileged: true,
  });
}

/** `uv build`: wheel, sdist and SHA256SUMS. */
export function buildWheelDirectory(inputs: JobInputs): Directory {
  return runSteps(
    withSource(pythonBase(inputs, PRIMARY_LEG), inputs),
    buildWheelSteps(containerLayout(inputs)),
  ).directory(`${PATHS.source}/${DIST_DIR}`);
}
