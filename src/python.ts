/** bty's Python-side jobs as Dagger containers; lint is in lint.ts. */
import type { Container, Directory } from "@dagger.io/dagger";

import { APT, PATHS, type PythonLeg } from "./config.js";
import { type JobInputs, jobContainer } from "./containers.js";
import {
  buildWheelSteps,
  DIST_DIR,
  flashIntegrationSteps,
  testSteps,
  typecheckSteps,
} from "./steps.js";

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
