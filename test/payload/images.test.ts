/**
 * Payload tier, for real on this machine: bty-web and bty-tftp built from
 * bty's own Dockerfiles (newest sdist) with the context, build args and OCI
 * labels of the same plan the Dagger functions use (src/release/image-plan.ts),
 * pushed to a real OCI registry (Debian's docker-registry on 127.0.0.1) under
 * the plan's tags as a multi-platform image index, pulled back and inspected.
 *
 * Stand-ins, because no image can be pulled here:
 * - base images: `python:3.13-slim-bookworm` is bookworm minbase + Debian's
 *   Python 3.11 (NOT the official image) and `debian:bookworm-slim` is bookworm
 *   minbase, both made with mmdebstrap (test/payload/base-images.sh);
 * - the iPXE seed is a small random fixture file named ipxe.efi (so the tests
 *   can tell it from Debian's stock ipxe.efi that bty-tftp starts from);
 * - the revision label is a fixed made-up commit id (the sdist has no git).
 * The engine's own multi-platform publish (`Container.publish` with
 * `platformVariants`) is what the module and engine tiers prove; here docker
 * pushes each platform and the index is PUT through the registry's API.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { IMAGE_SOURCE_URL } from "../../src/config.js";
import {
  type ImageKind,
  type ImagePlan,
  imagePlan,
  isTransientPushError,
  type RetryNotice,
  withRetries,
} from "../../src/release/image-plan.js";
import { parsePyproject } from "../../src/checkout/project.js";
import { buildWheelSteps, DIST_DIR } from "../../src/python/plan.js";
import { btyCheckout, hostLayout, requireHostPython, runHostSteps, scratch } from "./host.js";
import { docker, ensureDocker, freePort, LocalRegistry, MEDIA } from "./registry.js";
import { requireInstalled } from "../harness/requirements.js";
import { ensureBaseImages } from "./stack-images.js";

const REVISION = "0123456789abcdef0123456789abcdef01234567";
const PUSH_RETRY_DELAYS_MS = [1000, 2000, 4000];

const work = scratch("images");
const dockerProblem = await ensureDocker(work);
const registryMissing = spawnSync("docker-registry", ["--version"], { stdio: "ignore" }).status !== 0;
const missing = dockerProblem ?? (registryMissing ? "no docker-registry (apt-get install docker-registry)" : undefined);

/**
 * linux/arm64 would need arm64 base images under the very names the
 * Dockerfiles use, next to the amd64 ones. Debian bookworm's Docker (20.10:
 * no buildx, no multi-platform image store, no named build contexts) keeps
 * one image per name, and swapping the shared daemon's tags would break
 * everyone else's builds; so linux/amd64 is built here, arm64 in the engine tier.
 */
const PLATFORMS_HERE = ["linux/amd64"];

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** The platform images, built and pushed, per image kind. */
interface Published {
  plan: ImagePlan;
  /** Repository name inside the registry, e.g. safl/bty-web. */
  name: string;
  indexDigest: string;
  /** The per-platform tags docker pushed (the index points at their manifests). */
  platformTags: string[];
}

describe("container images on a real registry", () => {
  requireInstalled(missing);
  let registry: LocalRegistry;
  let version: string;
  let checkout: string;
  let wheel: string;
  const seed = randomBytes(4096);
  const published: Partial<Record<ImageKind, Published>> = {};

  beforeAll(async () => {
    // Base image stand-ins (made once per machine; about 5 minutes on 2 busy cores).
    ensureBaseImages();
    registry = await LocalRegistry.start(join(work, "registry"));

    checkout = btyCheckout();
    version = parsePyproject(readFileSync(join(checkout, "pyproject.toml"), "utf8")).version;
    await runHostSteps(buildWheelSteps(hostLayout(requireHostPython("py312"))), checkout, { logName: "wheel" });
    wheel = join(checkout, DIST_DIR, `bty_lab-${version}-py3-none-any.whl`);
    writeFileSync(join(work, "ipxe.efi"), seed);
  });

  afterAll(async () => {
    await registry?.stop();
    // The shared daemon keeps the base-image stand-ins, not this run's tags;
    // the registry's storage goes, its log stays with the scratch directory.
    const tags = Object.values(published).flatMap((p) => [...p.platformTags, ...p.plan.refs]);
    if (tags.length > 0) await docker(["image", "rm", "--force", ...tags, `${registry.host}/bty-ci/retry-probe:1`]).catch(() => "");
    if (registry) rmSync(join(work, "registry", "storage"), { recursive: true, force: true });
  });

  /** The plan for `kind`, pushed to this registry, for the platforms buildable here. */
  const planFor = (kind: ImageKind) =>
    imagePlan(
      kind,
      {
        tag: `v${version}`,
        version,
        revision: REVISION,
        created: "",
        repository: `${registry.host}/safl/${kind === "web" ? "bty-web" : "bty-tftp"}`,
        sourceUrl: IMAGE_SOURCE_URL,
        platforms: PLATFORMS_HERE,
      },
      new Date(),
    );

  /** The build context as the plan (and bty's workflow) stages it. */
  function stageContext(plan: ImagePlan): string {
    const context = join(work, `context-${plan.kind}`);
    for (const [from, to] of Object.entries(plan.recipe.context)) {
      cpSync(join(checkout, from), join(context, to), { recursive: true });
    }
    if (plan.wheel) cpSync(wheel, join(context, plan.wheel));
    cpSync(join(work, "ipxe.efi"), join(context, plan.recipe.seed.path));
    return context;
  }

  /** docker build per platform, push each with retries, then the index under every ref of the plan. */
  async function buildAndPublish(kind: ImageKind): Promise<Published> {
    const plan = planFor(kind);
    const context = stageContext(plan);
    const repository = plan.refs[0]!.replace(/:[^:/]+$/, "");
    const name = repository.slice(registry.host.length + 1);
    const descriptors = [];
    const platformTags: string[] = [];
    for (const platform of plan.platforms) {
      const platformTag = `${repository}:${plan.refs[0]!.split(":").at(-1)}-${platform.replace("/", "-")}`;
      await docker([
        "build",
        "--platform", platform,
        "-f", join(context, plan.recipe.dockerfile),
        ...plan.buildArgs.flatMap((a) => ["--build-arg", `${a.name}=${a.value}`]),
        ...Object.entries(plan.labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
        "-t", platformTag,
        context,
      ]);
      platformTags.push(platformTag);
      await withRetries(() => docker(["push", platformTag]), { delaysMs: PUSH_RETRY_DELAYS_MS });
      const manifest = await registry.manifest(name, platformTag.split(":").at(-1)!, [MEDIA.ociManifest, MEDIA.dockerManifest]);
      const [os, architecture] = platform.split("/");
      descriptors.push({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, platform: { os, architecture } });
    }
    const index = { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: descriptors };
    let indexDigest = "";
    for (const ref of plan.refs) {
      const tag = ref.split(":").at(-1)!;
      indexDigest = await withRetries(() => registry.putManifest(name, tag, MEDIA.ociIndex, index), { delaysMs: PUSH_RETRY_DELAYS_MS });
    }
    return (published[kind] = { plan, name, indexDigest, platformTags });
  }

  /** The config blob of one platform's image, reached through the index of `tag`. */
  async function platformConfig(p: Published, tag: string, platform: string) {
    const index = await registry.manifest(p.name, tag, [MEDIA.ociIndex, MEDIA.dockerList]);
    const entries = index.body.manifests as { digest: string; platform: { os: string; architecture: string } }[];
    const entry = entries.find((m) => `${m.platform.os}/${m.platform.architecture}` === platform)!;
    const manifest = await registry.manifest(p.name, entry.digest, [MEDIA.ociManifest, MEDIA.dockerManifest]);
    const configDigest = (manifest.body.config as { digest: string }).digest;
    return (await registry.blobJson(p.name, configDigest)) as {
      architecture: string;
      os: string;
      config: { Labels: Record<string, string>; Env: string[]; User?: string; Entrypoint?: string[] };
      history: { created_by?: string }[];
    };
  }

  /** Pull `ref` back from the registry (local copies removed first) and run `script` in it. */
  async function pullAndRun(ref: string, script: string): Promise<string> {
    await docker(["image", "rm", "--force", ref]).catch(() => "");
    await docker(["pull", "--quiet", ref]);
    return docker(["run", "--rm", "--entrypoint", "sh", ref, "-c", script]);
  }

  it("bty-web: built from docker/Dockerfile with the wheel, the seed and BTY_VERSION; index under <version> and latest", async () => {
    const p = await buildAndPublish("web");
    expect(p.plan.refs.map((r) => r.split(":").at(-1))).toEqual([version, "latest"]);

    for (const tag of [version, "latest"]) {
      const index = await registry.manifest(p.name, tag, [MEDIA.ociIndex, MEDIA.dockerList]);
      expect(index.mediaType).toBe(MEDIA.ociIndex);
      expect(index.digest).toBe(p.indexDigest);
      const platforms = (index.body.manifests as { platform: { os: string; architecture: string } }[]).map(
        (m) => `${m.platform.os}/${m.platform.architecture}`,
      );
      expect(platforms).toEqual(PLATFORMS_HERE);
    }

    const config = await platformConfig(p, version, "linux/amd64");
    expect(config.architecture).toBe("amd64");
    expect(config.config.Labels).toMatchObject({
      "org.opencontainers.image.source": "https://github.com/safl/bty",
      "org.opencontainers.image.revision": REVISION,
      "org.opencontainers.image.version": version,
      "org.opencontainers.image.created": expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      // bty's own Dockerfile labels survive next to bty-ci's.
      "org.opencontainers.image.title": "bty-web",
      "org.opencontainers.image.licenses": "GPL-3.0-only",
    });
    // BTY_VERSION reached the build as a build arg (BuildKit records it on the RUN steps).
    expect(config.history.some((h) => h.created_by?.includes(`BTY_VERSION=${version}`))).toBe(true);
    expect(config.config.Env).toContain("BTY_BOOT_SEED_DIR=/usr/share/bty/boot-seed");
    expect(config.config.User).toBe("bty");
    expect(config.config.Entrypoint).toEqual(["bty-web"]);

    const out = await pullAndRun(
      `${p.plan.refs[0]}`,
      "sha256sum /usr/share/bty/boot-seed/ipxe.efi && python -c 'import importlib.metadata as m; print(m.version(\"bty-lab\"))' && command -v bty-web",
    );
    const [seedLine, installed, entry] = out.trim().split("\n");
    expect(seedLine!.split(/\s+/)[0]).toBe(sha256(seed));
    expect(installed).toBe(version);
    expect(entry).toMatch(/\/bty-web$/);

    // The pulled image serves bty-web's health endpoint as its entrypoint and user.
    const port = await freePort();
    const id = (await docker(["run", "-d", "--rm", "-p", `127.0.0.1:${port}:8080`, p.plan.refs[0]!])).trim();
    try {
      let status = 0;
      for (let i = 0; i < 120 && status !== 200; i++) {
        status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((ok) => setTimeout(ok, 1000));
      }
      expect(status, await docker(["logs", id]).catch(() => "")).toBe(200);
    } finally {
      await docker(["rm", "--force", id]).catch(() => "");
    }
  });

  it("bty-tftp: built from deploy/tftp/Containerfile, the seed replaces Debian's stock ipxe.efi; index under <version> and latest", async () => {
    const p = await buildAndPublish("tftp");
    expect(p.plan.buildArgs).toEqual([]);
    for (const tag of [version, "latest"]) {
      const index = await registry.manifest(p.name, tag, [MEDIA.ociIndex, MEDIA.dockerList]);
      expect(index.digest).toBe(p.indexDigest);
    }
    const config = await platformConfig(p, "latest", "linux/amd64");
    expect(config.config.Labels).toMatchObject({
      "org.opencontainers.image.source": "https://github.com/safl/bty",
      "org.opencontainers.image.revision": REVISION,
      "org.opencontainers.image.version": version,
    });
    expect(config.config.Entrypoint).toEqual(["/usr/sbin/in.tftpd", "--foreground", "--address", "0.0.0.0:69", "--secure", "/opt/ipxe"]);

    const out = await pullAndRun(`${p.plan.refs[1]}`, "sha256sum /opt/ipxe/ipxe.efi && ls -A /opt/ipxe");
    const [seedLine, ...files] = out.trim().split("\n");
    expect(seedLine!.split(/\s+/)[0]).toBe(sha256(seed));
    expect(files).toContain("undionly.kpxe");
    expect(files).not.toContain(".gitkeep");
  });

  it("a push while the registry is down fails as transient, is retried, and lands once the registry is back", async () => {
    const p = published.tftp ?? published.web;
    expect(p, "an image was built by the tests above").toBeDefined();
    const probe = `${registry.host}/bty-ci/retry-probe:1`;
    await docker(["tag", p!.platformTags[0]!, probe]);
    await registry.stop();
    const notices: RetryNotice[] = [];
    await withRetries(() => docker(["push", probe]), {
      delaysMs: PUSH_RETRY_DELAYS_MS,
      onRetry: (notice) => {
        notices.push(notice);
      },
      sleep: async () => {
        await registry.resume();
      },
    });
    expect(notices).toHaveLength(1);
    expect(notices[0]!.error).toMatch(/connection refused/);
    expect(isTransientPushError(notices[0]!.error)).toBe(true);
    const manifest = await registry.manifest("bty-ci/retry-probe", "1", [MEDIA.ociManifest, MEDIA.dockerManifest]);
    expect(manifest.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
