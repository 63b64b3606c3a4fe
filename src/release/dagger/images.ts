/**
 * bty-web and bty-tftp built with the engine's
 * Dockerfile builder per platform and published as one multi-platform image
 * per tag, from the plan in image-plan.ts.
 */
import { type Container, dag, type Directory, type File, type Platform, type Secret } from "@dagger.io/dagger";

import { IMAGE_PLATFORMS, PUBLISH_RETRY_DELAYS_MS } from "../../config.js";
import {
  IMAGE_RECIPES,
  type ImagePlan,
  imagePlan,
  recipeBuildArgs,
  registryHost,
  validateCredentials,
  wheelName,
  withRetries,
} from "../image-plan.js";
import { ReleaseInputError } from "../version.js";

/** What an image is built from. */
export interface ImageInputs {
  /** The bty checkout. */
  source: Directory;
  /** bty's custom iPXE binary, staged as the plan's seed (`ipxe.efi`). */
  ipxeSeed: File;
  /** bty's wheel (bty-web only). */
  wheel?: File;
}

/**
 * The build context exactly as bty's workflow stages it: the recipe's
 * checkout directories, the wheel under dist/ and the seed as ipxe.efi.
 * Built explicitly (not by .dockerignore), so nothing else of the checkout
 * reaches the build or its cache key.
 */
export function imageContext(plan: Pick<ImagePlan, "recipe" | "wheel">, inputs: ImageInputs): Directory {
  let context = dag.directory();
  for (const [from, to] of Object.entries(plan.recipe.context)) {
    context = context.withDirectory(to, inputs.source.directory(from));
  }
  if (plan.wheel) {
    if (!inputs.wheel) throw new Error(`${plan.recipe.name} needs bty's wheel (${plan.wheel})`);
    context = context.withFile(plan.wheel, inputs.wheel);
  }
  return context.withFile(plan.recipe.seed.path, inputs.ipxeSeed);
}

/** One container per platform: bty's Dockerfile with the plan's build args, then its OCI labels. */
export function imageVariants(plan: ImagePlan, inputs: ImageInputs): Container[] {
  const context = imageContext(plan, inputs);
  return plan.platforms.map((platform) => {
    let ctr = context.dockerBuild({
      dockerfile: plan.recipe.dockerfile,
      platform: platform as Platform,
      buildArgs: plan.buildArgs,
    });
    for (const [name, value] of Object.entries(plan.labels)) ctr = ctr.withLabel(name, value);
    return ctr;
  });
}

/**
 * One image for the engine's own platform, as a release builds it but
 * unpublished and unlabelled: the stack deploy-integration tests.
 */
export function localImage(kind: ImagePlan["kind"], source: Directory, from: { version: string; ipxeSeed: File; wheel?: File }): Container {
  const recipe = IMAGE_RECIPES[kind];
  const plan: Pick<ImagePlan, "recipe" | "wheel"> = {
    recipe,
    wheel: recipe.wheelDir ? `${recipe.wheelDir}/${wheelName(from.version)}` : undefined,
  };
  return imageContext(plan, { source, ipxeSeed: from.ipxeSeed, wheel: from.wheel }).dockerBuild({
    dockerfile: recipe.dockerfile,
    buildArgs: recipeBuildArgs(recipe, from.version),
  });
}

/** Registry credentials; the token only ever as a Secret. */
export interface RegistryAuth {
  username: string;
  token: Secret;
}

/**
 * Push every platform variant under each of the plan's refs (the version
 * first, `latest` last, so `latest` never points at a version that failed),
 * retrying transient registry errors. Returns the refs with digests.
 */
export async function publishImage(
  plan: ImagePlan,
  variants: Container[],
  auth: RegistryAuth,
  opts: { sleep?: (ms: number) => Promise<void> } = {},
): Promise<string[]> {
  const publisher = dag.container().withRegistryAuth(registryHost(plan.refs[0]!), auth.username, auth.token);
  const published: string[] = [];
  for (const ref of plan.refs) {
    published.push(
      await withRetries(() => publisher.publish(ref, { platformVariants: variants }), {
        delaysMs: PUBLISH_RETRY_DELAYS_MS,
        sleep: opts.sleep,
        onRetry: ({ attempt, delayMs, error }) =>
          console.error(`push of ${ref} failed (attempt ${attempt}), retrying in ${delayMs / 1000}s: ${error}`),
      }),
    );
  }
  return published;
}

/** Everything a publish function is given. */
export interface PublishRequest {
  kind: ImagePlan["kind"];
  source: Directory;
  /** The checkout's [project] version (already read and validated). */
  version: string;
  tag: string;
  revision: string;
  created: string;
  repository: string;
  sourceUrl: string;
  /**
   * bty's custom iPXE binary, or how to build it: called only once every
   * other input has been checked.
   */
  ipxeSeed: File | (() => Promise<File>);
  /** Directory holding bty's wheel (bty-web only). */
  dist?: Directory;
  registryUser: string;
  registryToken?: Secret;
}

/**
 * Validate everything (inputs, credentials, seed, wheel) before anything is
 * built or sent, then build every platform and publish. Returns the
 * published refs with digests.
 */
export async function publishRelease(req: PublishRequest, now: Date = new Date()): Promise<string[]> {
  const plan = imagePlan(
    req.kind,
    {
      tag: req.tag,
      version: req.version,
      revision: req.revision,
      created: req.created,
      repository: req.repository,
      sourceUrl: req.sourceUrl,
      platforms: IMAGE_PLATFORMS,
    },
    now,
  );
  validateCredentials(req.repository, { username: req.registryUser, hasToken: req.registryToken !== undefined });
  let wheel: File | undefined;
  if (plan.wheel) {
    const name = wheelName(req.version);
    if (!req.dist || !(await req.dist.exists(name))) {
      throw new ReleaseInputError(`no ${name} in the wheel directory: pass --dist with build-wheel's output for ${req.tag}`);
    }
    wheel = req.dist.file(name);
  }
  const ipxeSeed = typeof req.ipxeSeed === "function" ? await req.ipxeSeed() : req.ipxeSeed;
  const variants = imageVariants(plan, { source: req.source, ipxeSeed, wheel });
  return publishImage(plan, variants, { username: req.registryUser, token: req.registryToken! });
}
