/** bty's documentation job (spec §3.15): Sphinx HTML + LaTeX PDF. */
import { type Directory, dag } from "@dagger.io/dagger";

import { APT, CACHE, PATHS, PRIMARY_LEG } from "./config.js";
import { containerLayout, type JobInputs, pythonBase, runSteps, withAptPackages, withSource } from "./containers.js";
import { DOCS_OUTPUT, docsSteps } from "./steps.js";

/** The site (`html/`), `bty.pdf` and SHA256SUMS. */
export function docsDirectory(inputs: JobInputs): Directory {
  const tools = withAptPackages(pythonBase(inputs, PRIMARY_LEG), inputs, APT.docs)
    .withEnvVariable("TEXMFVAR", PATHS.texmfVar)
    .withMountedCache(PATHS.texmfVar, dag.cacheVolume(CACHE.texmfVar));
  return runSteps(withSource(tools, inputs), docsSteps(containerLayout(inputs))).directory(
    `${PATHS.source}/${DOCS_OUTPUT.bundle}`,
  );
}
