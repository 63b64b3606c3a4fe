/**
 * The engine tier's harness: a real Dagger engine v0.21.8 on this machine,
 * built and started by the shared engine scripts (run from where they live,
 * never copied here), and the real `dagger` CLI against it.
 *
 * Every call is logged to `<work>/logs/calls/<name>.log` with its argv, and
 * timed; the times are printed at the end of the tier (the closing table).
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";

import { IPXE_TARBALL, REPO, SHARED_DIR, VENDOR_DIR } from "../payload/host.js";

/** The shared engine scripts (run from where they live, never copied here). */
export const ENGINE_TOOLS = join(SHARED_DIR, "tools/dagger-engine");
/** The inputs Dagger's build needs that the Go module proxy lacks (Dagger's distconsts, the TS runtime, four vito modules). */
const EXTRAS_TGZ = join(VENDOR_DIR, "dagger/dagger-extras-v0.21.8.tgz");
/** Where the engine's build, root file systems, images, state and logs go (about 10 GB). */
export const ENGINE_WORK = process.env.BTY_CI_ENGINE_WORK ?? "/var/tmp/bty-ci-engine";
export const DAGGER_BIN = join(ENGINE_WORK, "bin/dagger");
/** A CLI call's limit: under the tier's test limit, so a hung call fails its own test with its log. */
const CALL_TIMEOUT_MS = 40 * 60_000;

/**
 * BTY_CI_ENGINE_KEEP=1, for working on the tier itself: an engine already
 * running in the work folder is used as it is (its function cache too) and
 * left running at the end (stop it with the scripts' engine-down.sh).
 */
const KEEP_ENGINE = process.env.BTY_CI_ENGINE_KEEP === "1";

/** Whether an engine answers on the work folder's socket. */
async function engineAnswers(): Promise<boolean> {
  if (!existsSync(DAGGER_BIN)) return false;
  return (await runLogged("engine-probe", [DAGGER_BIN, "--progress=plain", "core", "version"], { env: daggerEnv(), timeoutMs: 60_000 })).code === 0;
}

/** The vendored inputs the tier needs: Dagger's build extras, and the iPXE tree the deploy checks and build-ipxe compile. */
const ENGINE_VENDORED = [EXTRAS_TGZ, IPXE_TARBALL];

/**
 * Why the engine tier is skipped here, or undefined when it runs: the engine
 * scripts and the vendored inputs live beside the repository, and a fresh
 * machine without them (bty-ci's GitHub runner) cannot have them. The tier
 * runs whole or not at all.
 */
const missingVendored = ENGINE_VENDORED.find((file) => !existsSync(file));
export const ENGINE_SKIP = !existsSync(join(ENGINE_TOOLS, "run-all.sh"))
  ? `no engine scripts at ${ENGINE_TOOLS} (set BTY_CI_SHARED_DIR)`
  : missingVendored
    ? `no ${missingVendored} (set BTY_CI_VENDOR_DIR)`
    : undefined;

/** One timed step of the tier: engine setup or a CLI call. */
interface Timed {
  name: string;
  seconds: number;
  code: number | null;
}
const timings: Timed[] = [];

function logDir(): string {
  const dir = join(ENGINE_WORK, "logs/calls");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function tail(text: string, lines = 40): string {
  return text.split("\n").slice(-lines).join("\n");
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Run a command to completion, logging to `<logs>/<name>.log`; never throws.
 * The command is its own process group, so a timeout stops what it started
 * too; a command that cannot start is exit code null with the reason on stderr.
 */
export function runLogged(name: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const log = join(logDir(), `${name}.log`);
  const start = performance.now();
  return new Promise((done) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    let finished = false;
    // A command that cannot start emits "error" and may emit "close" too: one result.
    const finish = (code: number | null) => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      if (timedOut) stderr += `\n[bty-ci engine tier: stopped after ${(opts.timeoutMs! / 1000).toFixed(0)} s]`;
      const seconds = (performance.now() - start) / 1000;
      writeFileSync(log, `$ ${argv.join(" ")}\n(cwd ${opts.cwd ?? process.cwd()}; exit ${code}; ${seconds.toFixed(1)} s)\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
      timings.push({ name, seconds, code });
      done({ code, stdout, stderr, seconds });
    };
    child.on("error", (err) => {
      stderr += `cannot run ${argv[0]}: ${err.message}`;
      finish(null);
    });
    child.on("close", (code) => finish(code));
  });
}

/** The environment every CLI call gets: the engine's socket, no telemetry or nags. */
export function daggerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    _EXPERIMENTAL_DAGGER_RUNNER_HOST: `unix://${ENGINE_WORK}/run/engine.sock`,
    DO_NOT_TRACK: "1",
    DAGGER_NO_NAG: "1",
    ...extra,
  };
}

/** `dagger <args>` against the tier's engine (plain progress on stderr); stopped after 40 minutes unless timeoutMs says otherwise. */
export async function dagger(name: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return runLogged(name, [DAGGER_BIN, "--progress=plain", ...args], { cwd: opts.cwd, env: daggerEnv(opts.env), timeoutMs: opts.timeoutMs ?? CALL_TIMEOUT_MS });
}

/** A call that must succeed: its stdout, or an error with the tail of its log. */
export async function daggerOk(name: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await dagger(name, args, opts);
  if (r.code !== 0) throw new Error(`dagger ${args.join(" ")} exited ${r.code} after ${r.seconds.toFixed(0)} s:\n${tail(r.stderr)}`);
  return r.stdout;
}

/** The engine scripts in order, as run-all.sh runs them (without its smoke calls). */
const SETUP_STEPS: [name: string, argv: string[]][] = [
  ["packages", ["00-packages.sh"]],
  ["sources", ["01-sources.sh"]],
  ["build", ["02-build.sh"]],
  ["rootfs-engine", ["03-rootfs.sh", "engine"]],
  ["rootfs-debian", ["03-rootfs.sh", "debian"]],
  ["rootfs-python", ["03-rootfs.sh", "python"]],
  ["ts-sdk", ["04-ts-sdk.sh"]],
  ["images", ["05-images.sh"]],
  ["sdk-content", ["06-sdk-content.sh"]],
];

function scriptEnv(): NodeJS.ProcessEnv {
  return { ...process.env, WORK: ENGINE_WORK, EXTRAS_TGZ };
}

/**
 * A CNI dnsmasq that outlived an engine killed while it ran containers makes
 * the next engine fail to start (the scripts' README, "an engine that dies
 * uncleanly"). Stop those of this work folder's engine only: a dnsmasq whose
 * root holds the very dagger-engine binary of `<work>/rootfs/engine`.
 */
function stopStrayDnsmasq(): void {
  // The engine binary's path inside the engine's root file system, and so inside a dnsmasq's root.
  const inRoot = "usr/local/bin/dagger-engine";
  const engineBin = join(ENGINE_WORK, "rootfs/engine", inRoot);
  if (!existsSync(engineBin)) return;
  const ours = statSync(engineBin);
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!.endsWith("dnsmasq")) continue;
      const theirs = statSync(join("/proc", pid, "root", inRoot));
      if (theirs.dev === ours.dev && theirs.ino === ours.ino) process.kill(Number(pid), "SIGTERM");
    } catch {
      // gone meanwhile, or not an engine's
    }
  }
}

/**
 * Build (or rebuild, warm: Go caches) and start the engine. The engine's
 * state is emptied first, so every run executes every call for real rather
 * than answering from an earlier run's function cache.
 */
export async function engineUp(): Promise<void> {
  if (KEEP_ENGINE && (await engineAnswers())) return;
  await stopEngine();
  stopStrayDnsmasq();
  rmSync(join(ENGINE_WORK, "state"), { recursive: true, force: true });
  for (const [name, [script, ...args]] of SETUP_STEPS) {
    const r = await runLogged(`setup-${name}`, ["bash", join(ENGINE_TOOLS, script!), ...args], { env: scriptEnv(), timeoutMs: 40 * 60_000 });
    if (r.code !== 0) throw new Error(`engine setup ${script} ${args.join(" ")} failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
  }
  const up = await runLogged("setup-engine-up", ["bash", join(ENGINE_TOOLS, "engine-up.sh")], { env: scriptEnv(), timeoutMs: 5 * 60_000 });
  if (up.code !== 0) throw new Error(`engine-up.sh failed (exit ${up.code}):\n${tail(up.stdout + up.stderr)}\n${tail(engineLog())}`);
}

/**
 * One more look-alike in the engine's registry (07-image.sh: a Debian suite
 * with `packages` and the host's CA store), for an image the module pulls
 * that the setup does not push.
 */
export async function lookAlikeImage(ref: string, suite: string, packages: string[] = []): Promise<void> {
  const argv = ["bash", join(ENGINE_TOOLS, "07-image.sh"), ref, suite, ...(packages.length > 0 ? [packages.join(",")] : [])];
  const r = await runLogged(`setup-image-${ref.replace(/[/:]/g, "_")}`, argv, { env: scriptEnv(), timeoutMs: 20 * 60_000 });
  if (r.code !== 0) throw new Error(`07-image.sh ${ref} ${suite} failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
}

/** The registry the engine scripts push look-alikes to (lib.sh's REG). */
const REGISTRY = process.env.REG ?? "127.0.0.1:5000";

/**
 * A Node look-alike pushed as `ref`: the debian look-alike's root file
 * system (03-rootfs.sh) with this machine's node and npm, as 05-images.sh
 * makes its node image, plus NODE_EXTRA_CA_CERTS on the image's CA store:
 * npm in it reaches the package index through this machine's
 * TLS-intercepting network (Debian's own node trusts only its bundled CAs).
 */
export async function nodeLookAlike(ref: string): Promise<void> {
  const name = ref.replace(/[/:]/g, "_");
  const stage = join(ENGINE_WORK, "stage", `bty-ci-${name}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, "usr/bin"), { recursive: true });
  mkdirSync(join(stage, "usr/lib/node_modules"), { recursive: true });
  const npmCli = realpathSync(execFileSync("bash", ["-c", "command -v npm"], { encoding: "utf8" }).trim());
  copyFileSync(realpathSync(process.execPath), join(stage, "usr/bin/node"));
  chmodSync(join(stage, "usr/bin/node"), 0o755);
  cpSync(dirname(dirname(npmCli)), join(stage, "usr/lib/node_modules/npm"), { recursive: true });
  symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(stage, "usr/bin/npm"));
  const oci = join(ENGINE_WORK, "oci", `bty-ci-${name}`);
  rmSync(oci, { recursive: true, force: true });
  const steps: [string, string[]][] = [
    ["mkoci", [
      "python3", join(ENGINE_TOOLS, "mkoci.py"), "--out", oci, "--tag", "img",
      "--layer-tar", join(ENGINE_WORK, "rootfs/debian-bookworm.tar"), "--layer-dir", `${stage}:`,
      "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "--env", "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt", "--cmd", '["node"]',
    ]],
    ["push", ["skopeo", "copy", "-q", "--dest-tls-verify=false", `oci:${oci}:img`, `docker://${REGISTRY}/${ref.includes("/") ? ref : `library/${ref}`}`]],
  ];
  for (const [step, argv] of steps) {
    const r = await runLogged(`setup-node-image-${step}`, argv, { env: scriptEnv(), timeoutMs: 10 * 60_000 });
    if (r.code !== 0) throw new Error(`node look-alike ${ref}: ${step} failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
  }
}

/**
 * deploy-quadlet-integration's job image (the media builds' trixie) as a
 * look-alike: 07-image.sh's root, with the environment 05-images.sh gives
 * its python look-alike so that uv trusts the host's CA store (this network
 * intercepts TLS; uv's own roots would refuse it).
 */
export async function quadletJobLookAlike(ref: string, suite: string): Promise<void> {
  await lookAlikeImage(ref, suite);
  const name = `library_${ref.replace(/[/:]/g, "_")}`;
  const oci = join(ENGINE_WORK, "oci", `bty-ci-uv-${name}`);
  rmSync(oci, { recursive: true, force: true });
  const steps: [string, string[]][] = [
    ["mkoci", ["python3", join(ENGINE_TOOLS, "mkoci.py"), "--out", oci, "--tag", "img", "--layer-tar", join(ENGINE_WORK, "rootfs", `${name}.tar`),
      "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "--env", "UV_NATIVE_TLS=true", "--env", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "--cmd", '["bash"]']],
    ["push", ["skopeo", "copy", "-q", "--dest-tls-verify=false", `oci:${oci}:img`, `docker://${REGISTRY}/library/${ref}`]],
  ];
  for (const [step, argv] of steps) {
    const r = await runLogged(`setup-quadlet-image-${step}`, argv, { env: scriptEnv(), timeoutMs: 10 * 60_000 });
    if (r.code !== 0) throw new Error(`quadlet job look-alike ${ref}: ${step} failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
  }
}

/**
 * The base images the deploy tests' stack names in its Containerfiles, as
 * look-alikes: `debian:bookworm-slim` (bty-tftp) is 05-images.sh's bookworm
 * root, `python:3.12-slim` is the python
 * look-alike 05-images.sh pushed (Debian's Python), `ubuntu:26.04` is Debian
 * forky minbase (it packages the nbdkit nbdmux needs; NOT Ubuntu). forky is
 * made here rather than by 07-image.sh: its Release files expire within
 * days, so apt must not check their dates (signatures are still checked),
 * inside the image too, where nbdmux's Containerfile runs apt-get.
 */
export function stackBaseLookAlikes(): Promise<void> {
  // Both deploy tests need them; the registry keeps them for the rest of the run.
  return (stackBases ??= pushStackBaseLookAlikes());
}
let stackBases: Promise<void> | undefined;

async function pushStackBaseLookAlikes(): Promise<void> {
  const name = "bty-ci-ubuntu_26.04";
  const tar = join(ENGINE_WORK, "rootfs", `${name}.tar`);
  const oci = join(ENGINE_WORK, "oci", name);
  rmSync(oci, { recursive: true, force: true });
  const noDates = 'Acquire::Check-Valid-Until "false"';
  const steps: [string, string[]][] = [
    ["debian-bookworm-slim", ["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
      `docker://${REGISTRY}/library/debian:bookworm`, `docker://${REGISTRY}/library/debian:bookworm-slim`]],
    ["python-3.12-slim", ["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
      `docker://${REGISTRY}/library/python:3.12-slim-bookworm`, `docker://${REGISTRY}/library/python:3.12-slim`]],
    ["forky", ["mmdebstrap", "--quiet", "--variant=minbase", "--include=ca-certificates", `--aptopt=${noDates}`,
      // The host's CA store, as 07-image.sh gives every look-alike (this network intercepts TLS).
      '--customize-hook=mkdir -p "$1/usr/local/share/ca-certificates" && cp -a /usr/local/share/ca-certificates/. "$1/usr/local/share/ca-certificates/" && rm -rf "$1/etc/ssl/certs" && mkdir -p "$1/etc/ssl" && cp -aL /etc/ssl/certs "$1/etc/ssl/certs"',
      "--format=tar", "forky", tar]],
    ["mkoci", ["python3", join(ENGINE_TOOLS, "mkoci.py"), "--out", oci, "--tag", "img", "--layer-tar", tar,
      "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--cmd", '["bash"]']],
    ["push", ["skopeo", "copy", "-q", "--dest-tls-verify=false", `oci:${oci}:img`, `docker://${REGISTRY}/library/ubuntu:26.04`]],
  ];
  for (const [step, argv] of steps) {
    const r = await runLogged(`setup-sidecar-base-${step}`, argv, { env: scriptEnv(), timeoutMs: 20 * 60_000 });
    if (r.code !== 0) throw new Error(`sidecar base look-alikes: ${step} failed (exit ${r.code}):\n${tail(r.stdout + r.stderr)}`);
  }
}

/** Stop the engine and its registry and remove what its CNI left; safe when nothing runs. */
async function stopEngine(): Promise<void> {
  await runLogged("engine-down", ["bash", join(ENGINE_TOOLS, "engine-down.sh")], { env: scriptEnv(), timeoutMs: 3 * 60_000 });
}

/** The end of a run: the engine stopped, unless BTY_CI_ENGINE_KEEP=1 keeps it for the next. */
export async function engineDown(): Promise<void> {
  if (!KEEP_ENGINE) await stopEngine();
}

function engineLog(): string {
  const file = join(ENGINE_WORK, "logs/engine.log");
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/**
 * This working tree's tracked files as they are now (edits included, as a
 * git clone of bty-ci would hold them once committed), in their own git
 * repository with one commit on `main`: the module as `-m` loads it and as
 * a toolchain copy.
 */
export function moduleRepo(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = git(REPO, "ls-files", "-z").split("\0").filter(Boolean);
  for (const f of files) {
    // A tracked file deleted in the working tree is not part of it.
    if (!existsSync(join(REPO, f))) continue;
    mkdirSync(join(dir, f, ".."), { recursive: true });
    cpSync(join(REPO, f), join(dir, f));
  }
  git(dir, "init", "-q", "-b", "main");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "bty-ci under test");
  return dir;
}

/** git with a fixed identity, throwing with its output on failure. */
export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", ["-c", "user.name=bty-ci engine tier", "-c", "user.email=engine-tier@localhost", ...args], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} in ${cwd} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/**
 * A git smart-HTTP server (git http-backend as CGI) on 127.0.0.1:80 over the
 * bare repositories in `root`: Dagger drops the port of an http:// module
 * URL, so `-m http://127.0.0.1/<name>.git@<ref>` needs port 80.
 */
export async function gitServer(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const fail = (why: string) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`git http-backend: ${why}\n`);
    };
    let path: string;
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return void (res.writeHead(400).end("malformed path\n"));
    }
    const cgi = spawn("git", ["http-backend"], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: path,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_ADDR: req.socket.remoteAddress ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    cgi.on("error", (err) => fail(err.message));
    // The client hanging up mid-request closes the CGI's stdin early: not the server's error.
    cgi.stdin.on("error", () => undefined);
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const i = line.indexOf(":");
        const key = line.slice(0, i).trim();
        const value = line.slice(i + 1).trim();
        if (key.toLowerCase() === "status") status = Number(value.split(" ")[0]);
        else res.setHeader(key, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    cgi.on("close", (code) => (headersDone ? res.end() : fail(`exited ${code} without a response`)));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      fail(err.code === "EADDRINUSE" ? new Error("127.0.0.1:80 is taken: the engine tier's git server needs it (Dagger drops the port of an http:// module URL); stop what listens there") : err),
    );
    server.listen(80, "127.0.0.1", ok);
  });
  return server;
}

/** A bare clone of `repo` under `root` as `<name>.git`, ready to serve. */
export function publishBare(repo: string, root: string, name: string): string {
  const bare = join(root, `${name}.git`);
  rmSync(bare, { recursive: true, force: true });
  git(root, "clone", "-q", "--bare", repo, bare);
  git(bare, "config", "http.receivepack", "false");
  return bare;
}

/** The closing table of the tier: every timed step with its exit code. */
export function timingTable(): string {
  return timings.map((t) => `${t.name.padEnd(34)} ${t.seconds.toFixed(1).padStart(7)} s  exit ${t.code}`).join("\n");
}

/** Files under `dir`, relative, sorted (what an exported directory holds). */
export function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)]))
    .sort();
}
