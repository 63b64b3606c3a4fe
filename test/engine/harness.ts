/**
 * The engine tier's harness: a real Dagger engine v0.21.8 on this machine,
 * built and started by the shared engine scripts (run from where they live,
 * never copied here), and the real `dagger` CLI against it.
 *
 * Every call is logged to `<work>/logs/calls/<name>.log` with its argv, and
 * timed; the times are printed at the end of the tier (the closing table).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join, resolve } from "node:path";

import { REPO } from "../payload/host.js";

/** The shared engine scripts (a sibling checkout of bty-ci's steering repository). */
export const ENGINE_TOOLS = resolve(process.env.BTY_CI_SHARED_DIR ?? join(REPO, "../shared"), "tools/dagger-engine");
/** The extras tarball the Go module proxy lacks (Dagger's distconsts, the TS runtime, four vito modules). */
export const EXTRAS_TGZ = resolve(process.env.BTY_CI_SHARED_DIR ?? join(REPO, "../shared"), "vendor/dagger/dagger-extras-v0.21.8.tgz");
/** Where the engine's build, root file systems, images, state and logs go (about 10 GB). */
export const ENGINE_WORK = process.env.BTY_CI_ENGINE_WORK ?? "/var/tmp/bty-ci-engine";
export const DAGGER = join(ENGINE_WORK, "bin/dagger");

/**
 * BTY_CI_ENGINE_KEEP=1, for working on the tier itself: an engine already
 * running in the work folder is used as it is (its function cache too) and
 * left running at the end (stop it with the scripts' engine-down.sh).
 */
const KEEP_ENGINE = process.env.BTY_CI_ENGINE_KEEP === "1";

/** Whether an engine answers on the work folder's socket. */
async function engineAnswers(): Promise<boolean> {
  if (!existsSync(DAGGER)) return false;
  return (await runLogged("engine-probe", [DAGGER, "--progress=plain", "core", "version"], { env: daggerEnv(), timeoutMs: 60_000 })).code === 0;
}

/** Why the engine tier cannot run here, or undefined when it can. */
export const ENGINE_SKIP =
  process.getuid?.() !== 0
    ? "needs root (the engine runs as root)"
    : !existsSync(join(ENGINE_TOOLS, "run-all.sh"))
      ? `no engine scripts at ${ENGINE_TOOLS} (set BTY_CI_SHARED_DIR)`
      : !existsSync(EXTRAS_TGZ)
        ? `no ${EXTRAS_TGZ}`
        : undefined;

/** One timed step of the tier: engine setup or a CLI call. */
export interface Timed {
  name: string;
  seconds: number;
  code: number | null;
}
export const timings: Timed[] = [];

function logDir(): string {
  const dir = join(ENGINE_WORK, "logs/calls");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function tail(text: string, lines = 40): string {
  return text.split("\n").slice(-lines).join("\n");
}

/** Run a command to completion, logging to `<logs>/<name>.log`; never throws. */
export function runLogged(
  name: string,
  argv: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const log = join(logDir(), `${name}.log`);
  const start = performance.now();
  return new Promise((done) => {
    const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      const seconds = (performance.now() - start) / 1000;
      writeFileSync(log, `$ ${argv.join(" ")}\n(cwd ${opts.cwd ?? process.cwd()}; exit ${code}; ${seconds.toFixed(1)} s)\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
      timings.push({ name, seconds, code });
      done({ code, stdout, stderr, seconds });
    });
  });
}

/** The environment every CLI call gets: the engine's socket, the Go SDK's module cache first. */
export function daggerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    _EXPERIMENTAL_DAGGER_RUNNER_HOST: `unix://${ENGINE_WORK}/run/engine.sock`,
    GOPROXY: "file:///go/pkg/mod/cache/download,https://proxy.golang.org,direct",
    DO_NOT_TRACK: "1",
    DAGGER_NO_NAG: "1",
    ...extra,
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** `dagger <args>` against the tier's engine (plain progress on stderr). */
export async function dagger(name: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return runLogged(name, [DAGGER, "--progress=plain", ...args], { cwd: opts.cwd, env: daggerEnv(opts.env), timeoutMs: 45 * 60_000 });
}

/** A call that must succeed: its stdout, or an error with the tail of its log. */
export async function daggerOk(name: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await dagger(name, args, opts);
  if (r.code !== 0) throw new Error(`dagger ${args.join(" ")} exited ${r.code} after ${r.seconds.toFixed(0)} s:\n${tail(r.stderr)}`);
  return r.stdout;
}

/** The engine scripts in order, as run-all.sh runs them (without its smoke calls). */
const SETUP_STEPS: [string, string[]][] = [
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
 * uncleanly"); stop it by its PID, found by its config file under this work
 * folder's engine root.
 */
export function stopStrayDnsmasq(): string[] {
  const stopped: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue;
    }
    if (cmd.includes("dnsmasq") && cmd.includes("/cni/dnsname/dagger/dnsmasq.conf")) {
      try {
        process.kill(Number(pid), "SIGTERM");
        stopped.push(pid);
      } catch {
        // gone meanwhile
      }
    }
  }
  return stopped;
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
  if (up.code !== 0) throw new Error(`engine-up.sh failed (exit ${up.code}):\n${tail(up.stdout + up.stderr)}\n${tail(readLog("engine.log"))}`);
}

/** Stop the engine and its registry and remove what its CNI left; safe when nothing runs. */
async function stopEngine(): Promise<void> {
  if (!existsSync(ENGINE_TOOLS)) return;
  await runLogged("engine-down", ["bash", join(ENGINE_TOOLS, "engine-down.sh")], { env: scriptEnv(), timeoutMs: 3 * 60_000 });
}

/** The end of a run: the engine stopped, unless BTY_CI_ENGINE_KEEP=1 keeps it for the next. */
export async function engineDown(): Promise<void> {
  if (!KEEP_ENGINE) await stopEngine();
}

export function readLog(name: string): string {
  const file = join(ENGINE_WORK, "logs", name);
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/**
 * A copy of this repository's tracked files (what a git clone of bty-ci
 * holds), as its own git repository with one commit on `main`: the module
 * as `-m` loads it and as a toolchain copy.
 */
export function moduleRepo(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = spawnSync("git", ["-C", REPO, "ls-files", "-z"], { encoding: "utf8" }).stdout.split("\0").filter(Boolean);
  for (const f of files) {
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
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const cgi = spawn("git", ["http-backend"], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers["content-type"] ?? "",
        REMOTE_ADDR: req.socket.remoteAddress ?? "",
        GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
        HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
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
    cgi.on("close", () => res.end());
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
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
