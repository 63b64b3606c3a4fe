/**
 * bty's deploy-integration job as data (pure): the images bty's compose
 * stack runs, made from this checkout (bty-web) and from the pinned sdists
 * of its sidecars (withcache, nbdmux), and the commands that run bty's own
 * compose lifecycle test on them with a podman of the job's own. The Dagger
 * side (dagger.ts) and the payload tier run these same lists.
 */
import { DEPLOY_SIDECARS, type SidecarName, TFTP_IMAGE_REPOSITORY, TOOLS, WEB_IMAGE_REPOSITORY } from "../config.js";
import { IMAGE_RECIPES } from "../release/image-plan.js";
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

/**
 * podman-compose at its pinned version, on PATH: podman 5's `podman
 * compose` runs it (bty's jobs pip-install it unpinned).
 */
function podmanComposeStep(layout: Layout): Step {
  return {
    label: "podman-compose",
    argv: ["uv", "tool", "install", "--python", layout.python, `podman-compose==${TOOLS.podmanCompose}`],
  };
}

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
    podmanComposeStep(layout),
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

// ---- deploy-quadlet-integration ------------------------------------------------

/** bty's quadlet lifecycle test, alone, as bty's job selects it. */
const QUADLET_TEST_NAME = "test_deploy_purge_redeploy_quadlet_lifecycle";
const QUADLET_TEST = `${DEPLOY_INTEGRATION_TESTS}::${QUADLET_TEST_NAME}`;

/** The images of the four Quadlet units bty's deploy writes, in unit order. */
export const QUADLET_IMAGES = ["bty-web", "withcache", "nbdmux", "bty-tftp"] as const;
export type QuadletImage = (typeof QUADLET_IMAGES)[number];

/**
 * What of the checkout the quadlet job runs: the test file, the deploy
 * module, and (built images only) the recipes of bty-web and bty-tftp.
 */
export const QUADLET_INPUTS = {
  tests: DEPLOY_INTEGRATION_TESTS,
  deployModule: DEPLOY_INPUTS.deployModule,
  webDockerfile: IMAGE_RECIPES.web.dockerfile,
  tftpContainerfile: `deploy/tftp/${IMAGE_RECIPES.tftp.dockerfile}`,
} as const;

/** Refuse a checkout the quadlet job cannot run on, naming what is missing; before any container. */
export function checkQuadletInputs(has: Record<keyof typeof QUADLET_INPUTS, boolean>, images: StackImages): void {
  const recipes: (keyof typeof QUADLET_INPUTS)[] = ["webDockerfile", "tftpContainerfile"];
  const missing = (Object.keys(QUADLET_INPUTS) as (keyof typeof QUADLET_INPUTS)[])
    .filter((key) => images === "built" || !recipes.includes(key))
    .filter((key) => !has[key])
    .map((key) => QUADLET_INPUTS[key]);
  if (missing.length > 0) {
    throw new Error(
      `the checkout has no ${missing.join(", ")}: deploy-quadlet-integration runs bty's own quadlet lifecycle test on its own deploy module` +
        (images === "built" ? " and images built from its recipes" : "") +
        "; pass --source with a bty checkout that has them",
    );
  }
}

/**
 * The version bty's quadlet test deploys bty-web and bty-tftp at: the test
 * pins bty.__version__ (bty 0.77.2: "0.65.2", the release whose units it
 * guards), so the units name that tag whatever the checkout's version. Read
 * from the test's own source so that a bty that moves the pin moves the
 * tags bty-ci serves with it.
 */
export function quadletPinnedVersion(testSource: string): string {
  const start = testSource.indexOf(`def ${QUADLET_TEST_NAME}(`);
  if (start < 0) {
    throw new Error(`${DEPLOY_INTEGRATION_TESTS} has no ${QUADLET_TEST_NAME}: deploy-quadlet-integration runs that test; pass --source with a bty checkout that has it (bty 0.77.2 or newer)`);
  }
  // The test's body: after its signature (which may span lines, its closing
  // parenthesis in column 0), up to the next line that starts in column 0
  // (a decorator, another def or class, module code).
  const end = /\n(?=[^\s#\n])/g;
  end.lastIndex = testSource.indexOf("\n", signatureEnd(testSource, start));
  const next = end.exec(testSource);
  const body = testSource.slice(start, next ? next.index : undefined);
  // A statement of its own, not a comment.
  const pin = /^\s*monkeypatch\.setattr\(\s*bty\s*,\s*["']__version__["']\s*,\s*["']([^"']+)["']/m.exec(body);
  if (!pin) {
    throw new Error(
      `${QUADLET_TEST_NAME} no longer pins bty.__version__ (monkeypatch.setattr(bty, "__version__", ...)): ` +
        "bty-ci cannot tell which tag its units deploy; teach quadletPinnedVersion in src/deploy/plan.ts where the test now takes it",
    );
  }
  return pin[1]!;
}

/** Where a Python `def` starting at `start` closes its parameter list. */
function signatureEnd(source: string, start: number): number {
  let depth = 0;
  for (let i = source.indexOf("(", start); i >= 0 && i < source.length; i++) {
    if (source[i] === "(") depth++;
    if (source[i] === ")" && --depth === 0) return i;
  }
  return source.length;
}

/** Where bty's quadlet units look for each image: bty's two at the test's pinned version, the sidecars `latest`. */
export function quadletImageRefs(pinned: string): Record<QuadletImage, string> {
  return {
    "bty-web": `${WEB_IMAGE_REPOSITORY}:${pinned}`,
    withcache: STACK_IMAGE_REFS.withcache,
    nbdmux: STACK_IMAGE_REFS.nbdmux,
    "bty-tftp": `${TFTP_IMAGE_REPOSITORY}:${pinned}`,
  };
}

/** Where things are for ci/deploy/quadlet-run.sh (the job container, or the payload's scratch root). */
export interface QuadletPaths {
  /** The Debian trixie root systemd boots: `/` in the job container. */
  root: string;
  /** The run's record (units, systemctl status, journals), exported on failure. */
  bundle: string;
  /** pytest's JUnit report, judged for skips; under one of `binds`, so it outlives the namespace. */
  junit: string;
  /** Image tarballs by Quadlet image, served under `refs` by the registry inside. */
  tarballs: Record<QuadletImage, string>;
  refs: Record<QuadletImage, string>;
  /** Directories bound read-write into the namespace. */
  binds: string[];
  /** The checkout, where the test runs. */
  workdir: string;
  /** The test's environment inside (PATH with uv and podman-compose, uv's settings). */
  env: Record<string, string>;
  timeoutSeconds: number;
}

/**
 * bty's quadlet test in quadlet-run.sh (systemd as PID 1, rootful podman,
 * the images from the registry inside), then its report judged: a skip
 * (a port taken, /etc/containers/systemd missing) proves nothing.
 */
export function quadletTestSteps(layout: Layout, paths: QuadletPaths): Step[] {
  return [
    {
      label: "pytest quadlet integration",
      writesBundle: true,
      argv: [
        "bash", `${layout.ciDir}/deploy/quadlet-run.sh`, "--root", paths.root, "--bundle", paths.bundle,
        "--timeout", String(paths.timeoutSeconds),
        ...QUADLET_IMAGES.flatMap((image) => ["--image", `${paths.refs[image]}=${paths.tarballs[image]}`]),
        ...paths.binds.flatMap((dir) => ["--bind", dir]),
        "--workdir", paths.workdir,
        ...Object.entries(paths.env).flatMap(([name, value]) => ["--env", `${name}=${value}`]),
        "--", ...uvRun("pytest", "-m", "integration", QUADLET_TEST, "-v", "-rs", "--junitxml", paths.junit),
      ],
      privileged: true,
    },
    {
      label: "no silent skips",
      argv: ["python3", `${layout.ciDir}/pytest-skips.py`, paths.junit],
    },
  ];
}

/** The whole job: bty's environment, podman-compose (as bty's job installs it), then quadletTestSteps. */
export function quadletIntegrationSteps(layout: Layout, paths: QuadletPaths): Step[] {
  return [syncStep(layout), podmanComposeStep(layout), ...quadletTestSteps(layout, paths)];
}
