/**
 * The Dagger side of the live-media builds: one container per stage of
 * ci/media-build.sh, so the engine caches each on its own inputs. The
 * Debian root file system (prepare + rootfs) sees only bty-media/ and
 * pyproject.toml, never the wheel or bty's Python code; the compressed base
 * squashfs (binary) sees the root file system plus what bty's wheel-install
 * hook made outside /opt (the /usr/local/bin/bty link), never bty's /opt,
 * which finish appends (for usbboot-pc, then the ISO made again with
 * live-build's own xorriso line, and bty's ISO finishing). A Python-only
 * change reruns install-bty and finish; binary is kept because what it is
 * given from install-bty is a file the engine keys by its content
 * (docs/media.md, "What the engine caches").
 */
import { CacheSharingMode, type Container, type Directory, type File, dag } from "@dagger.io/dagger";

import { readProject } from "../checkout/dagger.js";
import { MEDIA, MEDIA_CACHE, PATHS } from "../config.js";
import { ciScriptsByContent, type JobInputs, withStep } from "../containers.js";
import { buildWheelDirectory } from "../python/dagger.js";
import { wheelName } from "../release/image-plan.js";
import {
  binaryStage,
  checkTimeout,
  MISSING_MEDIA,
  finishStage,
  installBtyStage,
  type MediaLayout,
  type MediaOptions,
  type MediaVariant,
  prepareStage,
  rootfsStage,
  sealStage,
  usbIsoStages,
} from "./plan.js";

/** Paths inside the build container. */
export const MEDIA_PATHS = {
  source: "/src",
  work: "/build/scratch",
  out: "/build/out",
  wheel: "/build/wheel",
  caCert: "/run/bty-ci/extra-ca.crt",
  r8125: "/run/bty-ci/r8125",
} as const;

export const MEDIA_LAYOUT: MediaLayout = {
  ciDir: PATHS.ciScripts,
  source: MEDIA_PATHS.source,
  work: MEDIA_PATHS.work,
  out: MEDIA_PATHS.out,
};

/** What one media build is made from. */
export interface MediaInputs {
  source: Directory;
  /** bty-ci's `ci/` programs, made by content (ciScriptsByContent). */
  ci: Directory;
  /** bty's version (names the artifacts). */
  version: string;
  /** buildWheel's output (one bty_lab wheel inside). */
  wheel: Directory;
  /** Debian mirror for the container's apt and live-build; "" keeps the image's. */
  debianMirror: string;
  /** Package index for bty's wheel-install hook; "" keeps pip's default. */
  pythonIndex: string;
  /** Extra CA certificates for pip/git inside the chroot, during the build only. */
  extraCaCerts?: File;
  /** A git repository served to bty's r8125 hook instead of GitHub. */
  r8125Source?: Directory;
  /** Seconds each live-build stage may run. */
  timeoutSeconds: number;
}

/** Trixie with live-build and the verifiers' tools, apt archives in cache volumes. */
export function mediaBase(inputs: MediaInputs): Container {
  const mirror = inputs.debianMirror ? ["--mirror", inputs.debianMirror] : [];
  const locked = { sharing: CacheSharingMode.Locked };
  return dag
    .container()
    .from(MEDIA.image)
    .withMountedCache("/var/cache/apt/archives", dag.cacheVolume(MEDIA_CACHE.aptArchives), locked)
    .withMountedCache("/var/lib/apt/lists", dag.cacheVolume(MEDIA_CACHE.aptLists), locked)
    // Only the installer, so a change to other ci/ scripts keeps this layer.
    .withFile("/opt/bty-ci/apt-install.sh", inputs.ci.file("apt-install.sh"))
    .withExec(["bash", "/opt/bty-ci/apt-install.sh", ...mirror, ...MEDIA.packages])
    .withoutMount("/var/cache/apt/archives")
    .withoutMount("/var/lib/apt/lists")
    .withDirectory(PATHS.ciScripts, inputs.ci);
}

function options(inputs: MediaInputs): MediaOptions {
  return {
    caCert: inputs.extraCaCerts ? MEDIA_PATHS.caCert : undefined,
    r8125Repo: inputs.r8125Source ? MEDIA_PATHS.r8125 : undefined,
    // No --mirror: --debian-mirror is scheme://host[/prefix], which apt-install.sh
    // puts before each archive path of the container's apt sources; live-build
    // needs the archive itself (…/debian), and media-build.sh reads it from
    // those sources when given none.
    pipIndex: inputs.pythonIndex || undefined,
    timeoutSeconds: inputs.timeoutSeconds,
  };
}

/** Stages 1–2: the Debian root file system, independent of bty's wheel and Python code. */
export function rootfsContainer(inputs: MediaInputs, variant: MediaVariant): Container {
  const opts = options(inputs);
  const lbCache = `${MEDIA_PATHS.work}/lb/cache`;
  let ctr = mediaBase(inputs)
    .withDirectory(`${MEDIA_PATHS.source}/bty-media`, inputs.source.directory("bty-media"))
    .withFile(`${MEDIA_PATHS.source}/pyproject.toml`, inputs.source.file("pyproject.toml"));
  if (inputs.extraCaCerts) ctr = ctr.withFile(MEDIA_PATHS.caCert, inputs.extraCaCerts);
  if (inputs.r8125Source) ctr = ctr.withDirectory(MEDIA_PATHS.r8125, inputs.r8125Source);
  ctr = ctr.withMountedCache(lbCache, dag.cacheVolume(`${MEDIA_CACHE.liveBuild}-${variant}`), {
    sharing: CacheSharingMode.Locked,
  });
  ctr = withStep(ctr, prepareStage(MEDIA_LAYOUT, variant, opts));
  ctr = withStep(ctr, rootfsStage(MEDIA_LAYOUT, variant, opts));
  return ctr.withoutMount(lbCache);
}

/** Every stage of one variant; returns the directory of verified artifacts. */
export function mediaDirectory(inputs: MediaInputs, variant: MediaVariant): Directory {
  const opts = options(inputs);
  const { work } = MEDIA_PATHS;
  const rootfs = rootfsContainer(inputs, variant);
  // The wheel by content too (Directory.file): hatchling builds it byte for
  // byte the same from the same files, so a change that leaves it as it was
  // (bty's tests or docs, bty-ci outside ci/) keeps install-bty cached.
  const wheelFile = wheelName(inputs.version);
  const wheel = dag.directory().withFile(wheelFile, inputs.wheel.file(wheelFile));
  // The wheel and bty's layer are mounted, not copied: each stage only
  // reads them, and a copy into the stage's container costs a layer.
  const installed = withStep(
    rootfs.withMountedDirectory(MEDIA_PATHS.wheel, wheel),
    installBtyStage(MEDIA_LAYOUT, MEDIA_PATHS.wheel, opts),
  );
  // Every variant's base squashfs leaves /opt out: bty's /opt/bty joins in
  // finish (netboot-pc's squashfs, usbboot-pc's ISO made again around it;
  // ramboot-init publishes no squashfs), so lb binary is kept across a
  // change to bty's Python code. The rest of what the hook made comes as one
  // archive taken with Directory.file, which the engine (v0.21.8) keys by
  // the file's content; Container.file and Container.directory are keyed by
  // the install-bty exec that made them, which a new wheel always reruns.
  const outside = installed.directory(work).file("bty-outside.tar");
  let binary = rootfs.withFile(`${work}/bty-outside.tar`, outside);
  binary = withStep(binary, sealStage(MEDIA_LAYOUT, variant));
  binary = withStep(binary, binaryStage(MEDIA_LAYOUT, variant, opts));
  let finished = binary
    .withMountedDirectory(`${work}/bty-layer`, installed.directory(`${work}/bty-layer`))
    .withFile(`${work}/pip-freeze.txt`, installed.file(`${work}/pip-freeze.txt`));
  finished = withStep(finished, finishStage(MEDIA_LAYOUT, variant, inputs.version));
  if (variant === "usbboot-pc") {
    finished = finished.withDirectory(`${MEDIA_PATHS.source}/cijoe/scripts`, inputs.source.directory("cijoe/scripts"));
    for (const stage of usbIsoStages(MEDIA_LAYOUT, inputs.version)) finished = withStep(finished, stage);
  }
  return finished.directory(MEDIA_PATHS.out);
}

/** Optional arguments of the media functions. */
export interface MediaArgs {
  extraCaCerts?: File;
  r8125Source?: Directory;
  timeoutSeconds: number;
}

/** bty-media's live-build tree, checked before anything is built. */
export async function requireMediaTree(source: Directory): Promise<void> {
  if (!(await source.exists("bty-media/live-build/auto/config"))) throw new Error(MISSING_MEDIA);
}

/**
 * Build one variant: the checkout and arguments are checked first, the wheel
 * comes from the build-wheel job, the artifacts come back verified.
 */
export async function buildMedia(inputs: JobInputs, variant: MediaVariant, args: MediaArgs): Promise<Directory> {
  checkTimeout(args.timeoutSeconds);
  const { version } = await readProject(inputs.source);
  await requireMediaTree(inputs.source);
  return mediaDirectory(
    {
      source: inputs.source,
      ci: await ciScriptsByContent(),
      version,
      wheel: buildWheelDirectory(inputs),
      debianMirror: inputs.debianMirror,
      pythonIndex: inputs.pythonIndex,
      extraCaCerts: args.extraCaCerts,
      r8125Source: args.r8125Source,
      timeoutSeconds: args.timeoutSeconds,
    },
    variant,
  ).sync();
}
