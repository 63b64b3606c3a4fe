/** bty's custom iPXE build as a Dagger container. */
import { type Directory, dag } from "@dagger.io/dagger";

import { IPXE, PATHS, PRIMARY_LEG, PYTHON_MATRIX } from "../config.js";
import { containerLayout, type JobInputs, runSteps, withAptPackages, withCiScripts } from "../containers.js";
import { pythonImageRef } from "../python/plan.js";
import { checkIpxeInputs, IPXE_INPUTS, IPXE_MAKEFILE, type IpxeLayout, ipxeSteps } from "./plan.js";

/** The iPXE tree at the pinned commit, fetched by the engine's git (no .git kept). */
export function pinnedIpxeSource(): Directory {
  return dag.git(IPXE.gitUrl).commit(IPXE.commit).tree({ discardGitDir: true });
}

/** Check bty's inputs (and an override's Makefile) before any container runs. */
export async function checkIpxeSources(source: Directory, ipxeSource?: Directory): Promise<void> {
  checkIpxeInputs({
    mediaDir: await source.exists(IPXE_INPUTS.mediaDir),
    embed: await source.exists(IPXE_INPUTS.embed),
    generalH: await source.exists(IPXE_INPUTS.generalH),
    ipxeMakefile: ipxeSource ? await ipxeSource.exists(IPXE_MAKEFILE) : undefined,
  });
}

/** Paths inside the build container. */
export function ipxeContainerLayout(inputs: JobInputs): IpxeLayout {
  return {
    ciDir: PATHS.ciScripts,
    python: containerLayout(inputs).python,
    checkout: PATHS.source,
    ipxeTree: IPXE.sourceDir,
    outDir: IPXE.outDir,
    buildLog: "/tmp/ipxe-build.log",
  };
}

/**
 * `bty-ipxe-x86_64-v<version>.efi` and its `.sha256`, built from `ipxeTree`
 * in the 3.12 leg's image. Only bty's two input files are copied in, so a
 * change elsewhere in the checkout does not rebuild iPXE.
 */
export function ipxeDirectory(inputs: JobInputs, ipxeTree: Directory, version: string): Directory {
  const ctr = withAptPackages(
    dag.container().from(pythonImageRef(inputs.pythonImage, PYTHON_MATRIX[PRIMARY_LEG])).with(withCiScripts),
    inputs,
    IPXE.apt,
  )
    .withDirectory(IPXE.sourceDir, ipxeTree)
    .withFile(`${PATHS.source}/${IPXE_INPUTS.embed}`, inputs.source.file(IPXE_INPUTS.embed))
    .withFile(`${PATHS.source}/${IPXE_INPUTS.generalH}`, inputs.source.file(IPXE_INPUTS.generalH));
  return runSteps(ctr, ipxeSteps(ipxeContainerLayout(inputs), IPXE, version)).directory(IPXE.outDir);
}
