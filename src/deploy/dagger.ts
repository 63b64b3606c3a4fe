/**
 * The Dagger side of bty's deploy-integration: bty-web from this checkout
 * (bty's own Dockerfile, wheel and iPXE seed, as publish-docker builds it),
 * the sidecars from their pinned sdists (their own deploy/Containerfile),
 * and bty's compose lifecycle test on those images with a podman of the
 * job's own in a privileged container.
 */
import type { Container, Directory, File } from "@dagger.io/dagger";

import { APT, type SidecarName } from "../config.js";
import { type JobInputs, jobContainer, pythonToolContainer, runSteps } from "../containers.js";
import { localImage } from "../release/dagger/images.js";
import {
  checkDeployInputs,
  DEPLOY_INPUTS,
  deployIntegrationSteps,
  type DeployPaths,
  type StackImage,
  type StackImages,
  sidecarSourceSteps,
} from "./plan.js";

/** checkDeployInputs on the checkout as given. */
export async function checkDeploySource(source: Directory, images: StackImages): Promise<void> {
  const has = await Promise.all(Object.values(DEPLOY_INPUTS).map((path) => source.exists(path)));
  const keys = Object.keys(DEPLOY_INPUTS) as (keyof typeof DEPLOY_INPUTS)[];
  checkDeployInputs(Object.fromEntries(keys.map((key, i) => [key, has[i]!])) as Record<keyof typeof DEPLOY_INPUTS, boolean>, images);
}

/** Where the job's container keeps podman's state (a tmpfs: overlay storage cannot sit on the container's overlayfs). */
const PODMAN_STATE = "/var/lib/bty-ci-podman";
/** Where the image tarballs are mounted. */
const IMAGES_DIR = "/opt/bty-ci/images";
const JUNIT = "/tmp/bty-ci-deploy-junit.xml";

/** A sidecar's image: its sdist's deploy/Containerfile, built in the sdist's root as its release workflow does. */
export function sidecarImage(inputs: JobInputs, name: SidecarName): Container {
  const work = `/tmp/${name}`;
  const source: Directory = runSteps(pythonToolContainer(inputs), sidecarSourceSteps(name, work)).directory(`${work}/src`);
  return source.dockerBuild({ dockerfile: "deploy/Containerfile" });
}

/** What the stack's bty-web is built from. */
export interface WebImageInputs {
  wheel: File;
  ipxeSeed: File;
  version: string;
}

/** The images of the stack as tarballs, by stack image. */
export function stackTarballs(inputs: JobInputs, web: WebImageInputs): Record<StackImage, File> {
  return {
    "bty-web": localImage("web", inputs.source, web).asTarball(),
    withcache: sidecarImage(inputs, "withcache").asTarball(),
    nbdmux: sidecarImage(inputs, "nbdmux").asTarball(),
  };
}

/**
 * bty's deploy-integration test on `images` (built here: tarballs by stack
 * image; "published": none, podman-compose pulls bty's `latest` images as
 * bty's job does).
 */
export function deployIntegrationContainer(inputs: JobInputs, images: Record<StackImage, File> | "published"): Container {
  const tarballs: DeployPaths["tarballs"] = {};
  const files: Partial<Record<StackImage, File>> = images === "published" ? {} : images;
  for (const name of Object.keys(files) as StackImage[]) tarballs[name] = `${IMAGES_DIR}/${name}.tar`;
  return jobContainer(inputs, {
    apt: APT.deployIntegration,
    tools: (ctr) =>
      (Object.entries(files) as [StackImage, File][])
        .reduce((c, [name, file]) => c.withMountedFile(tarballs[name]!, file), ctr)
        .withMountedTemp(PODMAN_STATE),
    steps: (layout) => deployIntegrationSteps(layout, { podmanState: PODMAN_STATE, junit: JUNIT, tarballs }),
  });
}
