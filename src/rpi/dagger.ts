/**
 * The Dagger side of bty's build-usbboot-rpi: Raspberry Pi OS Lite (the
 * pinned download, checked by the engine as it fetches, or a file the
 * caller gives), bty's checkout and wheel, ci/rpi/rpios-build.py as root in
 * a privileged container, and the output verified before it is returned.
 */
import { type Container, dag, type Directory, type File, type Platform } from "@dagger.io/dagger";

import { APT, PATHS, PRIMARY_LEG, PYTHON_MATRIX, RPI } from "../config.js";
import { type JobInputs, withAptPackages, withCiScripts, withStep } from "../containers.js";
import { pythonImageRef } from "../python/plan.js";
import { RPI_SCRIPT, rpiBuildSteps, type RpiLayout } from "./plan.js";

/** Refuse a checkout without bty's Raspberry Pi build (its cijoe script, which the build reads). */
export async function requireRpiScript(source: Directory): Promise<void> {
  if (!(await source.exists(RPI_SCRIPT))) {
    throw new Error(`the checkout has no ${RPI_SCRIPT}: build-usbboot-rpi follows bty's own script; pass --source with a bty checkout that has it`);
  }
}

const RPI_LAYOUT: RpiLayout = {
  ciDir: PATHS.ciScripts,
  image: "/opt/bty-ci/rpios/base.img.xz",
  source: PATHS.source,
  wheelDir: "/opt/bty-ci/rpios/dist",
  out: "/opt/bty-ci/rpios/out",
};
const CA_CERT = "/run/bty-ci/extra-ca.crt";

/** What one build is made of. */
export interface RpiInputs {
  job: JobInputs;
  version: string;
  /** Directory holding bty's wheel (build-wheel's output). */
  dist: Directory;
  /** The Raspberry Pi OS image and the sha256 it must have. */
  image: File;
  sha256: string;
  /** The build container's platform; "" is the engine's own. */
  platform: string;
  extraCaCerts?: File;
}

/** The pinned Raspberry Pi OS download, refused by the engine unless it has the pinned sha256. */
export function pinnedRpiImage(): File {
  return dag.http(RPI.image.url, { checksum: `sha256:${RPI.image.sha256}` });
}

/** The build container with every step run: its output directory holds the image, its .sha256 and the build manifest. */
export function rpiContainer(inputs: RpiInputs): Container {
  const { job } = inputs;
  let ctr = dag
    .container(inputs.platform ? { platform: inputs.platform as Platform } : {})
    .from(pythonImageRef(job.pythonImage, PYTHON_MATRIX[PRIMARY_LEG]))
    .with(withCiScripts);
  ctr = withAptPackages(ctr, job, APT.rpi)
    .withMountedFile(RPI_LAYOUT.image, inputs.image)
    .withMountedDirectory(RPI_LAYOUT.wheelDir, inputs.dist)
    .withDirectory(PATHS.source, job.source)
    .withWorkdir(PATHS.source);
  if (inputs.extraCaCerts) ctr = ctr.withMountedFile(CA_CERT, inputs.extraCaCerts);
  const steps = rpiBuildSteps(RPI_LAYOUT, inputs.version, inputs.sha256, {
    debianMirror: job.debianMirror || undefined,
    pipIndex: job.pythonIndex || undefined,
    caCert: inputs.extraCaCerts ? CA_CERT : undefined,
  });
  return steps.reduce((c, step) => withStep(c, step), ctr);
}

/** The release files: image, .sha256 and build manifest. */
export function rpiDirectory(inputs: RpiInputs): Directory {
  return rpiContainer(inputs).directory(RPI_LAYOUT.out);
}
