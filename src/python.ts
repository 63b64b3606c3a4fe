/** bty's Python-side jobs (spec §3.2–3.4, 3.7) as Dagger containers. */
import { type Container, type Directory, dag } from "@dagger.io/dagger";

import { APT, CACHE, PATHS, type PythonLeg } from "./config.js";
import { type JobInputs, jobContainer } from "./containers.js";
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
  return jobContainer(inputs, {
    apt: APT.lint,
    tools: (ctr) =>
      ctr
        // The checkout may keep the caller's uid; git must not refuse it as "dubious".
        .withEnvVariable("GIT_CONFIG_COUNT", "1")
        .withEnvVariable("GIT_CONFIG_KEY_0", "safe.directory")
        .withEnvVariable("GIT_CONFIG_VALUE_0", "*")
        .withEnvVariable("PRE_COMMIT_HOME", PATHS.preCommitHome)
        .withMountedCache(PATHS.preCommitHome, dag.cacheVolume(CACHE.preCommit)),
    steps: lintSteps,
  });
}

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
