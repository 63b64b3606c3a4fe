/** The media builds behind the facade: validate the input first, then build. */
import type { Directory, File } from "@dagger.io/dagger";

import type { JobInputs } from "../containers.js";
import { buildWheelDirectory } from "../python.js";
import { readProject } from "../source.js";
import { mediaDirectory } from "./build.js";
import { checkTimeout, MISSING_MEDIA, type MediaVariant } from "./plan.js";

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
      version,
      wheel: buildWheelDirectory(inputs),
      debianMirror: inputs.debianMirror,
      extraCaCerts: args.extraCaCerts,
      r8125Source: args.r8125Source,
      timeoutSeconds: args.timeoutSeconds,
    },
    variant,
  ).sync();
}
