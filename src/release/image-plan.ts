/**
 * What bty's two container images are made of and where they go (bty's
 * publish-docker and publish-tftp jobs), as plain data: the Dagger functions (dagger/images.ts) and the
 * payload tests (docker + a real registry) build and push from the same
 * plan, so tags, labels, build args and the staged files cannot drift apart.
 */
import { utcStamp } from "./stamp.js";
import { assertTagMatchesVersion, isPrerelease, ReleaseInputError } from "./version.js";

/** The two images bty publishes. */
export type ImageKind = "web" | "tftp";

/** A file placed into the build context. */
export interface StagedFile {
  /** Path inside the build context. */
  path: string;
}

/** How one image is built from a bty checkout. */
export interface ImageRecipe {
  /** Image name, as in bty's repository (`bty-web`, `bty-tftp`). */
  name: string;
  /**
   * The build context, made of checkout directories: checkout path → path
   * in the context ("." is the context root). Only what bty's
   * `.dockerignore` (bty-web) or context directory (bty-tftp) leaves.
   */
  context: Record<string, string>;
  /** Dockerfile, relative to the context. */
  dockerfile: string;
  /** Where bty's workflow stages the custom iPXE binary (as `ipxe.efi`). */
  seed: StagedFile;
  /** Directory of the context the wheel goes into (bty-web only). */
  wheelDir?: string;
  /** Whether bty's Dockerfile takes the version as the `BTY_VERSION` build arg. */
  versionBuildArg: boolean;
}

/** bty's recipes, as its workflow stages them. */
export const IMAGE_RECIPES: Record<ImageKind, ImageRecipe> = {
  web: {
    name: "bty-web",
    // context: . trimmed by .dockerignore to docker/** and dist/bty_lab-*-py3-none-any.whl
    context: { docker: "docker" },
    dockerfile: "docker/Dockerfile",
    seed: { path: "docker/seed/ipxe.efi" },
    wheelDir: "dist",
    versionBuildArg: true,
  },
  tftp: {
    name: "bty-tftp",
    context: { "deploy/tftp": "." },
    dockerfile: "Containerfile",
    seed: { path: "seed/ipxe.efi" },
    versionBuildArg: false,
  },
};

/** Basename of bty's pure-Python wheel for `version` (as `uv build` names it). */
export function wheelName(version: string): string {
  return `bty_lab-${version}-py3-none-any.whl`;
}

/** The build args bty's Dockerfile of `recipe` takes for `version`. */
export function recipeBuildArgs(recipe: ImageRecipe, version: string): { name: string; value: string }[] {
  return recipe.versionBuildArg ? [{ name: "BTY_VERSION", value: version }] : [];
}

/** Everything one image build and push needs. */
export interface ImagePlan {
  kind: ImageKind;
  /** The recipe it was made from. */
  recipe: ImageRecipe;
  platforms: string[];
  buildArgs: { name: string; value: string }[];
  /** OCI labels set on every platform's image. */
  labels: Record<string, string>;
  /** References pushed, in order: the version first, `latest` last. */
  refs: string[];
  /** Path of the wheel inside the context (bty-web only). */
  wheel?: string;
}

/** What a release publishes, as the caller gives it. */
export interface ReleaseInputs {
  /** The git tag being released, e.g. `v0.77.2`. */
  tag: string;
  /** `[project] version` of the checkout. */
  version: string;
  /** Commit the image is built from (the engine uploads no .git). */
  revision: string;
  /** RFC 3339 build time; "" means `now`. */
  created: string;
  /** Repository without tag, e.g. `ghcr.io/safl/bty-web`. */
  repository: string;
  /** `org.opencontainers.image.source`. */
  sourceUrl: string;
  platforms: readonly string[];
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const REVISION = /^[0-9a-f]{7,64}$/;
// host[:port]/path, lower case, no tag or digest (the plan adds the tags).
const REPOSITORY = /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;
const PLATFORM = /^linux\/(?:amd64|arm64|arm\/v[67]|ppc64le|s390x|riscv64|386)$/;

/** The registry host of a repository or image reference (`ghcr.io/safl/bty-web:0.77.2` → `ghcr.io`). */
export function registryHost(repository: string): string {
  return repository.split("/")[0]!;
}

/**
 * Check a release's inputs before anything is built or sent; throws a
 * ReleaseInputError naming the fix.
 */
export function validateRelease(inputs: ReleaseInputs): void {
  const { tag, version, revision, created, repository, sourceUrl, platforms } = inputs;
  // The same version and tag rules as the GitHub release and PyPI.
  assertTagMatchesVersion(tag, version);
  if (!REVISION.test(revision)) {
    throw new ReleaseInputError(
      `revision "${revision}" is not a commit id: pass --revision with the full SHA the tag points at ` +
        "(GITHUB_SHA, or `git rev-parse HEAD`)",
    );
  }
  if (created !== "" && !RFC3339.test(created)) {
    throw new ReleaseInputError(
      `created "${created}" is not an RFC 3339 time: pass e.g. 2026-07-12T10:00:00Z (or nothing for now)`,
    );
  }
  if (!REPOSITORY.test(repository)) {
    throw new ReleaseInputError(
      `image repository "${repository}" is not host/namespace/name in lower case without a tag: ` +
        "pass e.g. ghcr.io/safl/bty-web (tags are added by bty-ci)",
    );
  }
  if (!/^https?:\/\/\S+$/.test(sourceUrl)) {
    throw new ReleaseInputError(`source URL "${sourceUrl}" is not an http(s) URL: pass the repository's web address`);
  }
  if (platforms.length === 0 || !platforms.every((p) => PLATFORM.test(p))) {
    throw new ReleaseInputError(
      `platforms ${JSON.stringify(platforms)} are not linux/<arch> platforms: use e.g. linux/amd64,linux/arm64`,
    );
  }
}

/** Registry credentials as the caller gave them (the token only as presence). */
export interface Credentials {
  username: string;
  hasToken: boolean;
}

/** Refuse a publish without credentials, naming the arguments to pass. */
export function validateCredentials(repository: string, creds: Credentials): void {
  const missing = [
    ...(creds.username.trim() === "" ? ["--registry-user"] : []),
    ...(creds.hasToken ? [] : ["--registry-token"]),
  ];
  if (missing.length > 0) {
    throw new ReleaseInputError(
      `no credentials for ${registryHost(repository)}: pass ${missing.join(" and ")} ` +
        "(in GitHub Actions: --registry-user $GITHUB_ACTOR --registry-token env:GITHUB_TOKEN)",
    );
  }
}

/**
 * The plan for one image: platforms, build args, OCI labels and the refs to
 * push. `latest` moves only with final releases: a pre-release is pushed
 * under its version alone.
 */
export function imagePlan(kind: ImageKind, inputs: ReleaseInputs, now: Date): ImagePlan {
  validateRelease(inputs);
  const recipe = IMAGE_RECIPES[kind];
  const { version, repository } = inputs;
  return {
    kind,
    recipe,
    platforms: [...inputs.platforms],
    buildArgs: recipeBuildArgs(recipe, version),
    labels: {
      "org.opencontainers.image.source": inputs.sourceUrl,
      "org.opencontainers.image.revision": inputs.revision,
      "org.opencontainers.image.version": version,
      "org.opencontainers.image.created": inputs.created || utcStamp(now),
    },
    refs: [`${repository}:${version}`, ...(isPrerelease(version) ? [] : [`${repository}:latest`])],
    wheel: recipe.wheelDir ? `${recipe.wheelDir}/${wheelName(version)}` : undefined,
  };
}

// ---------------------------------------------------------------------------
// Retries of pushes.

/** Errors that say the registry refused for good: trying again cannot help. */
const PERMANENT = [
  /\bunauthorized\b/i,
  /\bdenied\b/i,
  /\bforbidden\b/i,
  /\b40[13]\b/,
  /authentication required/i,
  /\b(?:name|manifest|tag|reference) invalid\b/i,
  /invalid reference format/i,
  /\bunsupported\b/i,
];

/** Errors of the network or of an overloaded registry, worth another try. */
const TRANSIENT = [
  /DeadlineExceeded/, // bty's v0.55.0 failure: "failed to authorize: DeadlineExceeded"
  /deadline exceeded/i,
  /timed? ?out/i,
  /connection (?:reset|refused|closed)/i,
  /broken pipe/i,
  /\bEOF\b/,
  /\b(?:429|500|502|503|504)\b/,
  /too many requests/i,
  /bad gateway|service unavailable|gateway timeout|internal server error/i,
  /temporary failure in name resolution/i,
  /no route to host|network is unreachable/i,
  /\bE(?:CONNREFUSED|CONNRESET|TIMEDOUT|PIPE|AI_AGAIN)\b/, // Node's names for the same
];

/**
 * Whether a failed push is worth another attempt: network trouble and
 * registry overload are; a refusal (auth, invalid name/manifest) is not,
 * even when it also mentions a timeout.
 */
export function isTransientPushError(message: string): boolean {
  if (PERMANENT.some((re) => re.test(message))) return false;
  return TRANSIENT.some((re) => re.test(message));
}

/** What a retried operation reports before each pause. */
export interface RetryNotice {
  attempt: number;
  delayMs: number;
  error: string;
}

/**
 * Run `attempt` until it succeeds, retrying transient failures after each
 * of `delaysMs` in turn; a permanent failure, or a transient one after the
 * last delay, is thrown with every attempt's error in its message.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  opts: {
    delaysMs: readonly number[];
    isTransient?: (message: string) => boolean;
    sleep?: (ms: number) => Promise<void>;
    onRetry?: (notice: RetryNotice) => void;
  },
): Promise<T> {
  const isTransient = opts.isTransient ?? isTransientPushError;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((ok) => setTimeout(ok, ms)));
  const errors: string[] = [];
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      errors.push(`attempt ${n + 1}: ${message}`);
      const delayMs = opts.delaysMs[n];
      if (delayMs === undefined || !isTransient(message)) {
        const why = isTransient(message) ? "still failing after every retry" : "not a transient error";
        throw new Error(`${why}:\n${errors.join("\n")}`, { cause: err });
      }
      opts.onRetry?.({ attempt: n + 1, delayMs, error: message });
      await sleep(delayMs);
    }
  }
}
