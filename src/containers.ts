/**
 * The Dagger side every job shares: base containers with pinned images,
 * named caches and bty-ci's scripts, and the one runner that turns Steps
 * (steps.ts) into container execs.
 */
import { CacheSharingMode, type Container, type Directory, dag, ReturnType } from "@dagger.io/dagger";

import { CACHE, PATHS, PRIMARY_LEG, PYTHON_MATRIX, type PythonLeg, TOOLS } from "./config.js";
import { type Layout, pythonImageRef, UV_ENV } from "./python/plan.js";
import type { Step } from "./steps.js";

/** What every job is built from: the checkout plus the caller's overrides. */
export interface JobInputs {
  source: Directory;
  /** Python image template with `{version}`. */
  pythonImage: string;
  /** Package index URL for pip/uv; "" keeps the tools' default. */
  pythonIndex: string;
  /** Debian mirror base URL; "" keeps the image's. */
  debianMirror: string;
}

/** The Layout of the job containers, for the shared step lists. */
export function containerLayout(inputs: JobInputs): Layout {
  return {
    ciDir: PATHS.ciScripts,
    python: "/usr/local/bin/python3",
    customIndex: inputs.pythonIndex !== "",
  };
}

// Set explicitly rather than appended, so the container PATH never depends
// on what a base image happens to define.
export const CONTAINER_PATH = `${PATHS.toolBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/**
 * A pinned Python image for `leg` with uv installed, uv/pip caches mounted and
 * bty-ci's `ci/` scripts at PATHS.ciScripts; no source yet, so tool layers
 * stay cached when bty's code changes.
 */
function pythonBase(inputs: JobInputs, leg: PythonLeg): Container {
  return withUvTooling(dag.container().from(pythonImageRef(inputs.pythonImage, PYTHON_MATRIX[leg])), inputs);
}

/**
 * uv (pip-installed at its pinned version), the uv/pip caches and bty-ci's
 * scripts on `base`: a Python image, or a Debian image with its python3-pip.
 */
export function withUvTooling(base: Container, inputs: JobInputs): Container {
  let ctr = base
    .withEnvVariable("PATH", CONTAINER_PATH)
    .withEnvVariable("UV_TOOL_BIN_DIR", PATHS.toolBin)
    .withEnvVariable("UV_CACHE_DIR", PATHS.uvCache)
    .withEnvVariable("PIP_CACHE_DIR", PATHS.pipCache)
    .withEnvVariable("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    .withEnvVariable("PIP_ROOT_USER_ACTION", "ignore");
  for (const [name, value] of Object.entries(UV_ENV)) ctr = ctr.withEnvVariable(name, value);
  if (inputs.pythonIndex) {
    ctr = ctr
      .withEnvVariable("PIP_INDEX_URL", inputs.pythonIndex)
      .withEnvVariable("UV_DEFAULT_INDEX", inputs.pythonIndex);
  }
  return ctr
    .withMountedCache(PATHS.pipCache, dag.cacheVolume(CACHE.pip))
    .withMountedCache(PATHS.uvCache, dag.cacheVolume(CACHE.uv))
    .withExec(["pip", "install", `uv==${TOOLS.uv}`])
    .with(withCiScripts);
}

/** The primary leg's Python image with uv, pip and bty-ci's scripts, for work outside the checkout. */
export function pythonToolContainer(inputs: JobInputs): Container {
  return pythonBase(inputs, PRIMARY_LEG);
}

/**
 * bty-ci's `ci/` programs made again file by file, for the live media builds
 * (D70). Dagger v0.21.8 keys `currentModule().source()` by the module's whole
 * context directory, which every commit in a local checkout of bty-ci changes
 * (and every bty-ci release a caller moves to); it keys `Directory.file` by
 * the file's bytes. Made from those files, the directory changes only when a
 * program does, so live-build's stages after it keep their cache. It costs a
 * query per file on every call, so the other jobs copy `ci/` whole
 * (withCiScripts).
 */
export async function ciScriptsByContent(): Promise<Directory> {
  const ci = dag.currentModule().source().directory("ci");
  // glob walks in name order (the same chain, so the same key, every call) and
  // lists directories too, with a trailing "/": withFile makes those itself.
  const files = (await ci.glob("**")).filter((path) => !path.endsWith("/"));
  const made = files.reduce((dir, path) => dir.withFile(path, ci.file(path)), dag.directory());
  // Synced, the SDK passes it on by its ID; unsynced, it would ask for every
  // file's ID again each time a stage copies the directory in.
  return made.sync();
}

/** bty-ci's own `ci/` programs at PATHS.ciScripts. */
export function withCiScripts(ctr: Container): Container {
  return ctr.withDirectory(PATHS.ciScripts, dag.currentModule().source().directory("ci"));
}

/** apt's cache directories, mounted from cache volumes for the install only. */
export const APT_CACHE_MOUNTS = ["/var/cache/apt/archives", "/var/lib/apt/lists"] as const;

/**
 * Install Debian packages through ci/apt-install.sh (needs withCiScripts
 * first) with cached archives and lists, mounted for the install only.
 */
export function withAptPackages(
  ctr: Container,
  inputs: JobInputs,
  packages: readonly string[],
  /** Cache volumes of the image's Debian suite (default: the Python images' bookworm). */
  caches: { aptArchives: string; aptLists: string } = CACHE,
): Container {
  const mirror = inputs.debianMirror ? ["--mirror", inputs.debianMirror] : [];
  // apt takes an exclusive lock in both directories: jobs running at once
  // (all-checks) would fail on it, so the engine serializes their use.
  const locked = { sharing: CacheSharingMode.Locked };
  const [archives, lists] = APT_CACHE_MOUNTS;
  return (
    ctr
      .withMountedCache(archives, dag.cacheVolume(caches.aptArchives), locked)
      .withMountedCache(lists, dag.cacheVolume(caches.aptLists), locked)
      .withExec(["bash", `${PATHS.ciScripts}/apt-install.sh`, ...mirror, ...packages])
      // A locked mount stays locked while any later exec of this container
      // runs, and a service runs for as long as its clients: test-pxe's QEMU
      // container and its server both held them, so the engine never started
      // the server (seen on a real engine). And in all-checks a long job
      // would keep every other job's apt waiting.
      .withoutMount(archives)
      .withoutMount(lists)
  );
}

/**
 * One step as a container exec: its working directory and environment for
 * that exec only, root capabilities only where it (or its job) needs them.
 * `expectAny` keeps a failing exec's container for its exit code and output
 * (a step that writes a debug bundle).
 */
export function withStep(ctr: Container, step: Step, opts: { privileged?: boolean; expectAny?: boolean } = {}): Container {
  let c = step.cwd ? ctr.withWorkdir(`${PATHS.source}/${step.cwd}`) : ctr;
  for (const [name, value] of Object.entries(step.env ?? {})) c = c.withEnvVariable(name, value);
  c = c.withExec(step.argv, {
    ...(step.privileged || opts.privileged ? { insecureRootCapabilities: true } : {}),
    ...(opts.expectAny ? { expect: ReturnType.Any } : {}),
  });
  for (const name of Object.keys(step.env ?? {})) c = c.withoutEnvVariable(name);
  return step.cwd ? c.withWorkdir(PATHS.source) : c;
}

/** Append one exec per step (withStep). */
export function runSteps(ctr: Container, steps: Step[], opts: { privileged?: boolean } = {}): Container {
  return steps.reduce((acc, step) => withStep(acc, step, opts), ctr);
}

/** What distinguishes one job from another. */
export interface JobSpec {
  /** Matrix leg whose image runs the job (default: the 3.12 leg, as bty). */
  leg?: PythonLeg;
  /** A base of the job's own instead of a leg's image (withUvTooling on it). */
  base?: Container;
  /** Debian packages the job needs on top of the image. */
  apt?: readonly string[];
  /** Further tool setup (env, caches) before the checkout is copied in. */
  tools?: (ctr: Container) => Container;
  /** The job's commands (a domain's plan.ts). */
  steps: (layout: Layout) => Step[];
  /** Give the steps all root capabilities (loop devices, mounts). */
  privileged?: boolean;
}

/**
 * A job container: pinned base, apt packages and tool setup first, then the
 * checkout (so tool layers stay cached when bty's code changes), then the
 * job's steps as execs.
 */
export function jobContainer(inputs: JobInputs, spec: JobSpec): Container {
  let ctr = spec.base ?? (spec.leg ? pythonBase(inputs, spec.leg) : pythonToolContainer(inputs));
  if (spec.apt) ctr = withAptPackages(ctr, inputs, spec.apt);
  if (spec.tools) ctr = spec.tools(ctr);
  ctr = ctr.withDirectory(PATHS.source, inputs.source).withWorkdir(PATHS.source);
  return runSteps(ctr, spec.steps(containerLayout(inputs)), { privileged: spec.privileged });
}
