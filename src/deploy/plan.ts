/**
 * bty's deploy-integration job as data (pure): the images bty's compose
 * stack runs, made from this checkout (bty-web) and from the pinned sdists
 * of its sidecars (withcache, nbdmux), and the commands that run bty's own
 * compose lifecycle test on them with a podman of the job's own. The Dagger
 * side (dagger.ts) and the payload tier run these same lists.
 */
import { DEPLOY_SIDECARS, type SidecarName, TOOLS } from "../config.js";
import { DEPLOY_INTEGRATION_TESTS, type Layout, syncStep } from "../python/plan.js";
import type { Step } from "../steps.js";

/**
 * Where bty's rendered compose file and its test look for each image: the
 * test rewrites bty-web's tag from the checkout's version to `latest`
 * (bty's CI runs it before that version is published); the sidecars are
 * `latest` in bty.deploy's template.
 */
export const STACK_IMAGE_REFS = {
  "bty-web": "ghcr.io/safl/bty-web:latest",
  withcache: "ghcr.io/safl/withcache:latest",
  nbdmux: "ghcr.io/safl/nbdmux:latest",
} as const;

/** An image of the stack: `bty-web` or a sidecar. */
export type StackImage = keyof typeof STACK_IMAGE_REFS;

/** What the test stack runs on: images built here (default) or the published ones, as bty's job does. */
export const STACK_IMAGES = ["built", "published"] as const;
export type StackImages = (typeof STACK_IMAGES)[number];

/** `--images` as given, checked before any container. */
export function checkStackImages(images: string): StackImages {
  if (!(STACK_IMAGES as readonly string[]).includes(images)) {
    throw new Error(`unknown --images "${images}": use "built" (this checkout's bty-web, the pinned sidecar sdists) or "published" (bty's ghcr.io latest images)`);
  }
  return images as StackImages;
}

/**
 * A skip bty's own test causes, whatever the environment: the check allows
 * exactly this test with exactly this reason. bty 0.77.2's
 * test_trio_ramboot_e2e_image_native_kernel starts its mock artifact server
 * on 8899 (a fixture) and then skips because 8899 is in use; bty's main
 * branch fixed it (the body no longer checks 8899).
 */
export const BTY_SELF_SKIPS: Readonly<Record<string, string>> = {
  test_trio_ramboot_e2e_image_native_kernel: "ports already in use: [8899]",
};

/**
 * What of the checkout the job runs: bty's test file, the deploy module
 * that renders the compose stack, and bty-web's Dockerfile (built images only).
 */
export const DEPLOY_INPUTS = {
  tests: DEPLOY_INTEGRATION_TESTS,
  deployModule: "src/bty/deploy.py",
  webDockerfile: "docker/Dockerfile",
} as const;

/** Refuse a checkout the job cannot run on, naming what is missing; before any container. */
export function checkDeployInputs(has: Record<keyof typeof DEPLOY_INPUTS, boolean>, images: StackImages): void {
  const needed = (Object.keys(DEPLOY_INPUTS) as (keyof typeof DEPLOY_INPUTS)[]).filter(
    (key) => key !== "webDockerfile" || images === "built",
  );
  const missing = needed.filter((key) => !has[key]).map((key) => DEPLOY_INPUTS[key]);
  if (missing.length > 0) {
    throw new Error(
      `the checkout has no ${missing.join(", ")}: deploy-integration runs bty's own compose lifecycle test on its own deploy module; ` +
        "pass --source with a bty checkout that has them",
    );
  }
}

/** Where things go in the deploy job's container (or the payload's scratch root). */
export interface DeployPaths {
  /** podman's state (storage, run, config): a tmpfs in the container. */
  podmanState: string;
  /** pytest's JUnit report, judged for skips. */
  junit: string;
  /** Image tarballs by stack image; none when the stack pulls the published images. */
  tarballs: Partial<Record<StackImage, string>>;
}

const uvRun = (...argv: string[]): string[] => ["uv", "run", "--no-sync", ...argv];

/** `--image REF=TARBALL` for podman-env.sh, one per given tarball, in stack order. */
export function imageArgs(tarballs: DeployPaths["tarballs"]): string[] {
  return (Object.keys(STACK_IMAGE_REFS) as StackImage[]).flatMap((name) =>
    tarballs[name] ? ["--image", `${STACK_IMAGE_REFS[name]}=${tarballs[name]}`] : [],
  );
}

/**
 * bty's deploy-integration: its environment (uv sync with every extra and
 * the dev group), podman-compose on PATH, then bty's selection (`-m
 * integration … -k "not quadlet"`) in ci/deploy/podman-env.sh, and every
 * skip judged: a skip proves nothing, so only BTY_SELF_SKIPS pass.
 */
export function deployIntegrationSteps(layout: Layout, paths: DeployPaths): Step[] {
  const allow = Object.entries(BTY_SELF_SKIPS).flatMap(([test, reason]) => ["--allow", `${test}=${reason}`]);
  return [
    syncStep(layout),
    {
      label: "podman-compose",
      argv: ["uv", "tool", "install", "--python", layout.python, `podman-compose==${TOOLS.podmanCompose}`],
    },
    {
      label: "pytest deploy integration",
      argv: [
        "bash", `${layout.ciDir}/deploy/podman-env.sh`, "--state", paths.podmanState, ...imageArgs(paths.tarballs), "--",
        ...uvRun("pytest", "-m", "integration", DEPLOY_INTEGRATION_TESTS, "-v", "-k", "not quadlet", "-rs", "--junitxml", paths.junit),
      ],
      privileged: true,
    },
    {
      label: "no silent skips",
      argv: ["python3", `${layout.ciDir}/pytest-skips.py`, paths.junit, ...allow],
    },
  ];
}

/** The sdist file of a sidecar at its pinned version, as the package index names it. */
export function sidecarSdist(name: SidecarName): string {
  return `${name}-${DEPLOY_SIDECARS[name].version}.tar.gz`;
}

/**
 * A sidecar's source as its own image build uses it: the pinned sdist from
 * the package index (it ships deploy/Containerfile and everything that
 * file copies, identical to the release tag), checked against its pinned
 * sha256 and unpacked: `<work>/sdist/` holds the download, `<work>/src/`
 * the build context.
 */
export function sidecarSourceSteps(name: SidecarName, work: string): Step[] {
  const { version, sha256 } = DEPLOY_SIDECARS[name];
  const sdist = sidecarSdist(name);
  return [
    {
      label: `download ${sdist}`,
      argv: ["pip", "download", "--no-deps", "--no-binary", ":all:", "--dest", `${work}/sdist`, `${name}==${version}`],
    },
    {
      label: `sha256 ${sdist}`,
      argv: ["sh", "-c", `cd ${work}/sdist && echo "${sha256}  ${sdist}" | sha256sum --check --strict`],
    },
    {
      label: `unpack ${sdist}`,
      argv: ["sh", "-c", `mkdir -p ${work}/src && tar -xzf ${work}/sdist/${sdist} -C ${work}/src --strip-components=1`],
    },
  ];
}
