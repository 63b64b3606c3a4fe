/** bty's documentation job: Sphinx HTML + LaTeX PDF. */
import { type Directory, dag } from "@dagger.io/dagger";

import { APT, CACHE, PATHS } from "./config.js";
import { type JobInputs, jobContainer } from "./containers.js";
import { DOCS_OUTPUT, docsSteps } from "./steps.js";

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
