/** The bty checkout handed to bty-ci, checked before any job runs. */
import type { Directory } from "@dagger.io/dagger";

import { MISSING_PYPROJECT, parsePyproject, ProjectError, type ProjectInfo } from "./project.js";

/** Read and validate the checkout's pyproject.toml before any job runs. */
export async function readProject(source: Directory): Promise<ProjectInfo> {
  if (!(await source.exists("pyproject.toml"))) throw new ProjectError(MISSING_PYPROJECT);
  return parsePyproject(await source.file("pyproject.toml").contents());
}

