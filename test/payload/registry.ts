/**
 * Docker Engine and a real OCI registry on this machine for the image
 * payload tests: Debian's dockerd (started if none runs; one daemon is shared
 * by everyone on the machine) and Debian's `docker-registry` (distribution
 * 2.x) on 127.0.0.1 with a config of our own, talked to over its HTTP API.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/**
 * Debian's docker CLI (docker.io, the daemon's own version) when present:
 * with DOCKER_BUILDKIT=1 it builds with the daemon's BuildKit, no buildx needed.
 */
export const DOCKER = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
const DOCKER_ENV = { ...process.env, DOCKER_BUILDKIT: "1" };

/** Run docker; resolves with stdout, rejects with an Error carrying stderr. */
export function docker(args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(DOCKER, args, { cwd: opts.cwd, env: DOCKER_ENV, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolveRun(out);
      else reject(new Error(`docker ${args[0]} exited ${code}: ${(err || out).trim().split("\n").slice(-30).join("\n")}`));
    });
  });
}

const dockerUp = () => spawnSync(DOCKER, ["info"], { stdio: "ignore" }).status === 0;

/**
 * A running Docker daemon: the one already up, or dockerd started here and
 * left running for everyone; undefined with the reason when none can run.
 */
export async function ensureDocker(logDir: string): Promise<string | undefined> {
  if (dockerUp()) return undefined;
  if (spawnSync("dockerd", ["--version"], { stdio: "ignore" }).status !== 0) {
    return "no dockerd (apt-get install docker.io)";
  }
  const log = createWriteStream(join(logDir, "dockerd.log"));
  const daemon = spawn("dockerd", [], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  daemon.stdout.pipe(log);
  daemon.stderr.pipe(log);
  daemon.unref();
  for (let i = 0; i < 60; i++) {
    if (dockerUp()) return undefined;
    await new Promise((ok) => setTimeout(ok, 1000));
  }
  return `dockerd did not come up in 60 s (log: ${join(logDir, "dockerd.log")})`;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/** A manifest as the registry serves it. */
export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  body: Record<string, unknown>;
}

/** Debian's docker-registry, serving a scratch directory on 127.0.0.1. */
export class LocalRegistry {
  private proc?: ChildProcess;
  readonly host: string;

  private constructor(
    readonly port: number,
    private readonly config: string,
    private readonly logPath: string,
  ) {
    this.host = `127.0.0.1:${port}`;
  }

  /** Write a config (storage under `dir`, a free port) and start the registry. */
  static async start(dir: string): Promise<LocalRegistry> {
    const port = await freePort();
    mkdirSync(join(dir, "storage"), { recursive: true });
    const config = join(dir, "config.yml");
    writeFileSync(
      config,
      [
        "version: 0.1",
        "log:",
        "  level: info",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(dir, "storage")}`,
        "http:",
        `  addr: 127.0.0.1:${port}`,
        "",
      ].join("\n"),
    );
    const registry = new LocalRegistry(port, config, join(dir, "registry.log"));
    await registry.resume();
    return registry;
  }

  /** Start (again) on the same port and storage; resolves once /v2/ answers. */
  async resume(): Promise<void> {
    const log = createWriteStream(this.logPath, { flags: "a" });
    this.proc = spawn("docker-registry", ["serve", this.config], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout!.pipe(log);
    this.proc.stderr!.pipe(log);
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`http://${this.host}/v2/`).then((r) => r.status === 200, () => false);
      if (up) return;
      if (this.proc.exitCode !== null) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    throw new Error(`docker-registry did not come up on ${this.host} (log: ${this.logPath})`);
  }

  /** Stop the registry process (storage stays). */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((ok) => proc.once("exit", ok));
    proc.kill("SIGTERM");
    await exited;
  }

  /** GET a manifest by tag or digest, accepting the given media types. */
  async manifest(name: string, reference: string, accept: string[]): Promise<FetchedManifest> {
    const res = await fetch(`http://${this.host}/v2/${name}/manifests/${reference}`, {
      headers: { accept: accept.join(", ") },
    });
    if (!res.ok) throw new Error(`GET manifest ${name}:${reference}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return {
      digest: res.headers.get("docker-content-digest") ?? "",
      mediaType: res.headers.get("content-type") ?? "",
      size: Buffer.byteLength(text),
      body: JSON.parse(text) as Record<string, unknown>,
    };
  }

  /** GET a blob (an image config) as JSON. */
  async blobJson(name: string, digest: string): Promise<Record<string, unknown>> {
    const res = await fetch(`http://${this.host}/v2/${name}/blobs/${digest}`);
    if (!res.ok) throw new Error(`GET blob ${name}@${digest}: ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  /** PUT a manifest (an image index) under a tag; returns its digest. */
  async putManifest(name: string, tag: string, mediaType: string, body: unknown): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`http://${this.host}/v2/${name}/manifests/${tag}`, {
        method: "PUT",
        headers: { "content-type": mediaType },
        body: JSON.stringify(body),
      });
    } catch (e) {
      // Node reports network errors as "fetch failed"; the reason is in the cause.
      const cause = (e as { cause?: { message?: string } }).cause?.message ?? "";
      throw new Error(`PUT manifest ${name}:${tag}: ${(e as Error).message}: ${cause}`);
    }
    if (!res.ok) throw new Error(`PUT manifest ${name}:${tag}: ${res.status} ${await res.text()}`);
    return res.headers.get("docker-content-digest") ?? "";
  }
}
