/**
 * The Dagger side of bty's deploy-integration: bty-web from this checkout
 * (bty's own Dockerfile, wheel and iPXE seed, as publish-docker builds it),
 * the sidecars from their pinned sdists (their own deploy/Containerfile),
 * and bty's compose lifecycle test on those images with a podman of the
 * job's own in a privileged container.
 */
import { type Container, dag, type Directory, type File } from "@dagger.io/dagger";

import { JobFailure } from "../checks/report.js";
import { APT, MEDIA_CACHE, PATHS, QUADLET, type SidecarName } from "../config.js";
import {
  CONTAINER_PATH,
  containerLayout,
  type JobInputs,
  jobContainer,
  pythonToolContainer,
  runSteps,
  withAptPackages,
  withStep,
  withUvTooling,
} from "../containers.js";
import { UV_ENV } from "../python/plan.js";
import { localImage } from "../release/dagger/images.js";
import {
  checkDeployInputs,
  DEPLOY_INPUTS,
  deployIntegrationSteps,
  type DeployPaths,
  checkQuadletInputs,
  QUADLET_IMAGES,
  QUADLET_INPUTS,
  quadletImageRefs,
  quadletPinnedVersion,
  type QuadletImage,
  quadletIntegrationSteps,
  type QuadletPaths,
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

// ---- deploy-quadlet-integration ------------------------------------------------

/**
 * The refs the quadlet test's units pull, from the checkout's own test
 * (the version it pins); a checkout without what the job runs is refused
 * first, naming what is missing.
 */
export async function quadletRefs(source: Directory, images: StackImages): Promise<Record<QuadletImage, string>> {
  const keys = Object.keys(QUADLET_INPUTS) as (keyof typeof QUADLET_INPUTS)[];
  const has = await Promise.all(keys.map((key) => source.exists(QUADLET_INPUTS[key])));
  checkQuadletInputs(Object.fromEntries(keys.map((key, i) => [key, has[i]!])) as Record<keyof typeof QUADLET_INPUTS, boolean>, images);
  return quadletImageRefs(quadletPinnedVersion(await source.file(QUADLET_INPUTS.tests).contents()));
}

/** Where the quadlet job keeps its image tarballs, its record and pytest's report. */
const QUADLET_DIR = "/var/lib/bty-ci/quadlet";
const QUADLET_OUT = `${QUADLET_DIR}/out`;

/** The quadlet paths inside the job container; its own root (`/`) is what systemd boots. */
function quadletPaths(refs: Record<QuadletImage, string>): QuadletPaths {
  return {
    root: "/",
    bundle: `${QUADLET_OUT}/bundle`,
    junit: `${QUADLET_OUT}/junit.xml`,
    tarballs: Object.fromEntries(QUADLET_IMAGES.map((image) => [image, `${QUADLET_DIR}/images/${image}.tar`])) as Record<QuadletImage, string>,
    refs,
    binds: [QUADLET_OUT],
    workdir: PATHS.source,
    // The job container's PATH (uv, podman-compose in the tool bin); uv's
    // cache volume is a mount the namespace's root does not show.
    env: { ...UV_ENV, PATH: CONTAINER_PATH, UV_CACHE_DIR: "/tmp/bty-ci-uv-cache" },
    timeoutSeconds: QUADLET.timeoutSeconds,
  };
}

/**
 * The job container: Debian trixie (the root systemd boots) with the root's
 * packages, pip's uv and bty-ci's scripts; trixie's apt caches.
 */
function quadletBase(inputs: JobInputs): Container {
  const withInstaller = dag
    .container()
    .from(QUADLET.image)
    // Only the installer, so a change to other ci/ scripts keeps the apt layer.
    .withFile(`${PATHS.ciScripts}/apt-install.sh`, dag.currentModule().source().file("ci/apt-install.sh"));
  const withPackages = withAptPackages(withInstaller, inputs, [...QUADLET.packages, ...QUADLET.jobPackages], MEDIA_CACHE)
    // Debian's Python is externally managed; uv goes to /usr/local as in the Python images.
    .withEnvVariable("PIP_BREAK_SYSTEM_PACKAGES", "1");
  return withUvTooling(withPackages, inputs);
}

/** The images the quadlet test deploys, as tarballs: this checkout's (built) or the published ones, pulled by the engine. */
export function quadletTarballs(
  inputs: JobInputs,
  refs: Record<QuadletImage, string>,
  built: WebImageInputs | "published",
): Record<QuadletImage, File> {
  if (built === "published") {
    return Object.fromEntries(QUADLET_IMAGES.map((image) => [image, dag.container().from(refs[image]).asTarball()])) as Record<QuadletImage, File>;
  }
  return {
    "bty-web": localImage("web", inputs.source, built).asTarball(),
    withcache: sidecarImage(inputs, "withcache").asTarball(),
    nbdmux: sidecarImage(inputs, "nbdmux").asTarball(),
    "bty-tftp": localImage("tftp", inputs.source, built).asTarball(),
  };
}

/** Lines of the failing step's output a failure shows (the whole record is in its bundle). */
const FAILURE_TAIL_LINES = 120;

/**
 * bty's quadlet lifecycle test on `tarballs`: setup steps as plain execs,
 * then from the test on, a failure throws a JobFailure carrying the run's
 * record (units, systemctl status, journals), which all-checks-bundle
 * exports.
 */
export async function runQuadletIntegration(inputs: JobInputs, refs: Record<QuadletImage, string>, tarballs: Record<QuadletImage, File>): Promise<void> {
  const paths = quadletPaths(refs);
  const steps = quadletIntegrationSteps({ ...containerLayout(inputs), python: QUADLET.python }, paths);
  const test = steps.findIndex((step) => step.writesBundle);
  let ctr = jobContainer(inputs, {
    base: quadletBase(inputs),
    tools: (c) => QUADLET_IMAGES.reduce((acc, image) => acc.withMountedFile(paths.tarballs[image], tarballs[image]), c).withDirectory(QUADLET_OUT, dag.directory()),
    steps: () => steps.slice(0, test),
  });
  for (const step of steps.slice(test)) {
    ctr = withStep(ctr, step, { expectAny: true });
    const code = await ctr.exitCode();
    if (code !== 0) {
      const out = [await ctr.stdout(), await ctr.stderr()].map((s) => s.trim()).filter(Boolean).join("\n").split("\n").slice(-FAILURE_TAIL_LINES).join("\n");
      const failed = `deploy-quadlet-integration failed (${step.label}: exit ${code})`;
      // quadlet-run.sh stopped before systemd ran (bad arguments, no cgroup v2): the output is all there is.
      const bundle = ctr.directory(QUADLET_OUT);
      const recorded = (await bundle.exists("bundle/status")) || (await bundle.exists("bundle/error"));
      if (!recorded) throw new Error(`${failed}\n${out}`);
      throw new JobFailure(`${failed}; its record (units, systemctl status, journals) is the check's debug bundle\n${out}`, ctr.directory(paths.bundle));
    }
  }
}
