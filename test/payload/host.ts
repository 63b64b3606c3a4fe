/**
 * Running bty-ci's step lists on this machine, the way the job containers
 * run them: same argv, same environment, a throwaway copy of the checkout.
 * Caches (uv, pip, pre-commit, the bty sdist) live under .cache/payload so a
 * second run is warm, like a Dagger cache volume.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";

import type { RunnerTask } from "vitest";

import { PYTHON_MATRIX, type PythonLeg, TOOLS } from "../../src/config.js";
import { type Layout, UV_ENV } from "../../src/python/plan.js";
import type { Step } from "../../src/steps.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const CI_DIR = join(REPO, "ci");
export const CACHE_DIR = process.env.BTY_CI_PAYLOAD_CACHE ?? join(REPO, ".cache/payload");

/**
 * The steering checkout beside this repository (override: BTY_CI_SHARED_DIR):
 * the Dagger engine scripts and the vendored inputs.
 */
export const SHARED_DIR = resolve(process.env.BTY_CI_SHARED_DIR ?? join(REPO, "../shared"));
/** Upstream inputs no registry serves (override: BTY_CI_VENDOR_DIR). */
export const VENDOR_DIR = resolve(process.env.BTY_CI_VENDOR_DIR ?? join(SHARED_DIR, "vendor"));
/** iPXE's source at the commit bty builds (upstream's git archive). */
export const IPXE_TARBALL = join(VENDOR_DIR, "ipxe/ipxe-0ab2277c40f1.tar.gz");
/** The r8125 repository bty's live-build hook clones from GitHub, as a git bundle. */
export const R8125_BUNDLE = join(VENDOR_DIR, "r8125/realtek-r8125-dkms-60c86586fbe2.bundle");
/** pre-commit hook repositories' manifests (the lint's offline input). */
export const HOOK_MANIFESTS = join(REPO, "test/fixtures/pre-commit-manifests");
/** The host's CA bundle (TLS is intercepted on some networks), bound into chroots and builds. */
export const HOST_CA = process.env.SSL_CERT_FILE ?? "/etc/ssl/certs/ca-certificates.crt";

function run(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`\`${argv.join(" ")}\` exited ${r.status ?? r.signal}:\n${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

/** The scratch directories this test file made, for test/payload/setup.ts to clear. */
const scratchDirs: string[] = [];

/** A new, empty scratch directory; removed after its test file passes (see clearScratch). */
export function scratch(prefix: string): string {
  // Resolved, as mountinfo's paths are, so clearScratch sees a mount inside
  // even when $TMPDIR goes through a symlink.
  const dir = mkdtempSync(join(realpathSync(tmpdir()), `bty-ci-${prefix}-`));
  scratchDirs.push(dir);
  return dir;
}

/** Mount points of this process's mount namespace (mountinfo's fifth field, octal escapes decoded). */
export function mountPoints(mountinfo = readFileSync("/proc/self/mountinfo", "utf8")): string[] {
  return mountinfo
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => line.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/**
 * Remove the scratch directories made so far, except one that holds a mount
 * point: a bind of /dev or a live-build chroot's /proc left by a killed build
 * would be emptied through it. Returns what stayed and why; it stays on the
 * list for the next clear.
 */
export function clearScratch(): { dir: string; why: string }[] {
  const mounts = mountPoints();
  const kept: { dir: string; why: string }[] = [];
  for (const dir of scratchDirs.splice(0)) {
    const inside = mounts.find((m) => m === dir || m.startsWith(`${dir}/`));
    if (inside !== undefined) {
      kept.push({ dir, why: `${inside} is mounted there` });
      continue;
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      kept.push({ dir, why: (e as Error).message });
    }
  }
  scratchDirs.push(...kept.map((k) => k.dir));
  return kept;
}

/** A failed task anywhere in a file's tree: a test, a suite whose hook threw, the file itself. */
export function anyFailed(task: RunnerTask): boolean {
  if (task.result?.state === "fail") return true;
  return "tasks" in task && task.tasks.some(anyFailed);
}

/** The scratch directories made so far and not cleared. */
export function scratchMade(): readonly string[] {
  return scratchDirs;
}

/** The bin directory of a venv holding uv at the pinned version (made once). */
export function uvBin(): string {
  const venv = join(CACHE_DIR, `uv-${TOOLS.uv}`);
  const bin = join(venv, "bin");
  if (!existsSync(join(bin, "uv"))) {
    mkdirSync(CACHE_DIR, { recursive: true });
    run(["python3", "-m", "venv", venv]);
    run([join(bin, "pip"), "install", "-q", `uv==${TOOLS.uv}`]);
  }
  return bin;
}

/** A host interpreter for one matrix leg. */
export interface HostInterpreter {
  path: string;
  /** Its exact version, e.g. "3.11.7". */
  version: string;
  /** Whether that is the leg's pinned patch release (the image's). */
  exact: boolean;
}

const minorOf = (version: string) => version.split(".").slice(0, 2).join(".");
const byVersionDesc = (a: string, b: string) => {
  const [x, y] = [a, b].map((v) => v.split(".").map(Number));
  for (let i = 0; i < 3; i++) if (x![i] !== y![i]) return (y![i] ?? 0) - (x![i] ?? 0);
  return 0;
};

function versionOf(python: string): string | undefined {
  const r = spawnSync(python, ["-c", "import platform; print(platform.python_version())"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The interpreter of one matrix leg on this machine: pyenv's build of the
 * pinned patch release if there is one, else pyenv's newest of that minor
 * version, else `python3.X` on PATH; undefined when there is none. The
 * payload runs bty on the host's interpreter of the leg's minor version;
 * `exact` says whether its patch is the pinned image's.
 */
export function hostInterpreter(leg: PythonLeg): HostInterpreter | undefined {
  const pinned = PYTHON_MATRIX[leg];
  const minor = minorOf(pinned);
  const pyenvRoot = process.env.PYENV_ROOT ?? join(process.env.HOME ?? "/root", ".pyenv");
  const versions = join(pyenvRoot, "versions");
  const candidates = existsSync(versions)
    ? readdirSync(versions)
        .filter((v) => /^\d+\.\d+\.\d+$/.test(v) && minorOf(v) === minor)
        .sort((a, b) => (a === pinned ? -1 : b === pinned ? 1 : byVersionDesc(a, b)))
        .map((v) => join(versions, v, "bin", `python${minor}`))
    : [];
  candidates.push(`python${minor}`);
  for (const path of candidates) {
    const version = versionOf(path);
    if (version && minorOf(version) === minor) return { path, version, exact: version === pinned };
  }
  return undefined;
}

/** The path of the interpreter of one matrix leg on this machine, if any. */
export function hostPython(leg: PythonLeg): string | undefined {
  return hostInterpreter(leg)?.path;
}

/** The interpreter of `leg`, or an error saying how to get one. */
export function requireHostPython(leg: PythonLeg): string {
  const python = hostPython(leg);
  if (!python) {
    const minor = PYTHON_MATRIX[leg].split(".").slice(0, 2).join(".");
    throw new Error(`payload tests need Python ${minor} (pyenv install ${minor}, or python${minor} on PATH)`);
  }
  return python;
}

/**
 * The bty release the payload tier tests: a pin, so that a new bty release
 * cannot change what the tests run (bump it on purpose, with its fixes).
 */
export const BTY_TEST_VERSION = "0.77.2";

/**
 * bty's sdist at `version` from the package index (`pip download`), cached;
 * returns the path of the .tar.gz.
 */
export function btySdist(version: string = BTY_TEST_VERSION): string {
  const dir = join(CACHE_DIR, "sdist");
  const file = join(dir, `bty_lab-${version}.tar.gz`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  if (!process.env.BTY_CI_OFFLINE) {
    run(["python3", "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", dir, `bty-lab==${version}`]);
  }
  if (!existsSync(file)) throw new Error(`no sdist of bty-lab ${version} in ${dir}: run once with network to fetch it`);
  return file;
}

/**
 * A fresh copy of bty's source tree from its sdist, at `<scratch>/src`; step
 * logs go next to it in `<scratch>`.
 */
export function btyCheckout(): string {
  const root = join(scratch("bty"), "src");
  mkdirSync(root);
  run(["tar", "-xzf", btySdist(), "-C", root, "--strip-components=1"]);
  return root;
}

/**
 * A fresh copy of a fixture under test/fixtures, at `<scratch>/src`, locked
 * with `uv lock` (a committed lock would carry the index's host names).
 */
export function fixtureCheckout(name: string): string {
  const root = join(scratch(name), "src");
  cpSync(join(REPO, "test/fixtures", name), root, { recursive: true });
  run(["uv", "lock", "-q"], { cwd: root, env: hostEnv() });
  return root;
}

/** The Layout of this machine for one leg. */
export function hostLayout(python: string): Layout {
  return { ciDir: CI_DIR, python, customIndex: false };
}

/** Environment of the payload run: the container's, with caches under CACHE_DIR. */
export function hostEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const toolBin = join(CACHE_DIR, "uv-tools-bin");
  return {
    ...process.env,
    ...UV_ENV,
    UV_CACHE_DIR: join(CACHE_DIR, "uv-cache"),
    UV_TOOL_DIR: join(CACHE_DIR, "uv-tools"),
    UV_TOOL_BIN_DIR: toolBin,
    PRE_COMMIT_HOME: join(CACHE_DIR, "pre-commit"),
    PATH: [toolBin, uvBin(), process.env.PATH].join(delimiter),
    ...extra,
  };
}

/** What one step did. */
export interface StepRun {
  label: string;
  exitCode: number;
  seconds: number;
  /** The last lines it printed (stdout and stderr interleaved). */
  tail: string;
}

export class StepFailed extends Error {
  override name = "StepFailed";
  constructor(readonly run: StepRun, readonly log: string) {
    super(`step "${run.label}" exited ${run.exitCode} (full log: ${log}):\n${run.tail}`);
  }
}

const TAIL_LINES = 40;

/**
 * How a step sees /dev: "host" is this machine's; "container" is what a
 * privileged Dagger exec gets — a private tmpfs /dev with the loop devices
 * that exist when it starts, loop-control and fuse, and no node appears
 * there unless someone creates it; "container-without-loop-nodes" is the
 * same before any loop device existed (nodes must be made on demand).
 */
export type DevView = "host" | "container" | "container-without-loop-nodes";

/**
 * The bubblewrap prefix that runs a step like a job container would:
 * this machine's root minus Docker's `/.dockerenv` sentinel (the machines
 * are Docker containers; bty's dashboard tests read that file as "deployed
 * in a container", a Dagger exec has none), and the chosen /dev view.
 */
export function sandboxArgv(argv: string[], dev: DevView = "host"): string[] {
  if (!existsSync("/.dockerenv") && dev === "host") return argv;
  if (spawnSync("bwrap", ["--version"]).status !== 0) {
    throw new Error("payload steps need bubblewrap (apt-get install bubblewrap)");
  }
  const root: string[] = [];
  for (const entry of readdirSync("/")) {
    if (entry === ".dockerenv" || entry === "dev") continue;
    const path = `/${entry}`;
    if (lstatSync(path).isSymbolicLink()) root.push("--symlink", readlinkSync(path), path);
    else root.push("--bind", path, path);
  }
  if (dev === "host") return ["bwrap", ...root, "--dev-bind", "/dev", "/dev", "--", ...argv];
  // A privileged exec keeps every capability (mknod, mount, BLKPG); the
  // container /dev is built inside the sandbox by container-dev.sh.
  const loops = dev === "container" ? "with-loop-nodes" : "without-loop-nodes";
  return [
    "bwrap", ...root, "--dev-bind", "/dev", "/dev", "--cap-add", "ALL", "--",
    join(REPO, "test/payload/container-dev.sh"), loops, "--", ...argv,
  ];
}

/** Wraps a step's argv (run in `cwd`) in the sandbox it runs in. */
export type Sandbox = (argv: string[], cwd: string) => string[];

function runStep(
  step: Step,
  root: string,
  env: NodeJS.ProcessEnv,
  log: NodeJS.WritableStream,
  sandbox: Sandbox,
): Promise<StepRun> {
  const start = performance.now();
  return new Promise((resolveRun, reject) => {
    log.write(`\n$ ${step.argv.join(" ")}\n`);
    const cwd = step.cwd ? join(root, step.cwd) : root;
    const argv = sandbox(step.argv, cwd);
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { ...env, ...step.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tail = "";
    const collect = (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString()).split("\n").slice(-TAIL_LINES).join("\n");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolveRun({
        label: step.label,
        exitCode: code ?? 128 + (signal ? 9 : 0),
        seconds: (performance.now() - start) / 1000,
        tail,
      }),
    );
  });
}

/** The full log of runHostSteps(…, root, { logName }): next to the checkout. */
export function stepLog(root: string, logName = "steps"): string {
  return join(root, "..", `${logName}.log`);
}

/**
 * Run `steps` in order in `root`, stopping at the first failure (as a chain
 * of container execs does). Resolves with every step's run; rejects with
 * StepFailed when `expectSuccess` and a step fails.
 */
export async function runHostSteps(
  steps: Step[],
  root: string,
  opts: {
    env?: NodeJS.ProcessEnv;
    expectSuccess?: boolean;
    logName?: string;
    dev?: DevView;
    /** Another sandbox than this machine's root (e.g. a Debian chroot); `dev` is then unused. */
    sandbox?: Sandbox;
  } = {},
): Promise<StepRun[]> {
  const env = opts.env ?? hostEnv();
  const logPath = stepLog(root, opts.logName);
  const sandbox = opts.sandbox ?? ((argv: string[]) => sandboxArgv(argv, opts.dev ?? "host"));
  const log = createWriteStream(logPath, { flags: "a" });
  const runs: StepRun[] = [];
  try {
    for (const step of steps) {
      const r = await runStep(step, root, env, log, sandbox);
      runs.push(r);
      if (r.exitCode !== 0) {
        if (opts.expectSuccess ?? true) throw new StepFailed(r, logPath);
        break;
      }
    }
  } finally {
    log.end();
  }
  return runs;
}

/**
 * A Debian suite whose archive packages a Python the host lacks: forky
 * (Debian testing when this was written) has python3.14 (3.14.8 then).
 * A codename, not "testing", so the suite does not move under the test.
 */
export const DEBIAN_PYTHON_SUITES: Partial<Record<PythonLeg, string>> = { py314: "forky" };

/** Why no Debian chroot can be made or entered here, or undefined when one can. */
export function chrootUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "making a Debian chroot needs root";
  for (const tool of ["mmdebstrap", "bwrap"]) {
    if (spawnSync(tool, ["--version"]).status !== 0) {
      return `${tool} is not installed (apt-get install ${tool === "bwrap" ? "bubblewrap" : tool})`;
    }
  }
  if (!existsSync(HOST_CA)) return `no CA bundle at ${HOST_CA} for pip and uv in the chroot`;
  return undefined;
}

/** A Debian chroot holding one leg's interpreter from Debian's archive, and uv. */
export interface DebianChroot {
  root: string;
  suite: string;
  /** The interpreter inside the chroot, e.g. /usr/bin/python3.14. */
  python: string;
  /** Its exact version, e.g. "3.14.8". */
  version: string;
  /** Seconds it took to make (0 when it came from the cache). */
  madeInSeconds: number;
}

/**
 * bwrap into `root` (read-only), as a job container would run a step: its
 * own /dev, /proc and /tmp, the host's DNS config and CA bundle, and the
 * given host paths bound at the same place, read-write.
 */
export function chrootArgv(
  root: string,
  argv: string[],
  cwd: string,
  opts: { binds?: string[]; writableRoot?: boolean } = {},
): string[] {
  return [
    "bwrap", opts.writableRoot ? "--bind" : "--ro-bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
    "--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf", "--ro-bind", HOST_CA, HOST_CA,
    "--bind", join(CACHE_DIR, "chroot-uv-cache"), "/cache/uv",
    ...(opts.binds ?? []).flatMap((b) => ["--bind", b, b]),
    "--chdir", cwd, "--", ...argv,
  ];
}

/** Environment of a step inside a chroot made by debianChroot. */
export function chrootEnv(): NodeJS.ProcessEnv {
  return {
    PATH: "/opt/bty-ci/uv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: "/tmp",
    LANG: "C.UTF-8",
    ...UV_ENV,
    UV_CACHE_DIR: "/cache/uv",
    SSL_CERT_FILE: HOST_CA,
    PIP_CERT: HOST_CA,
  };
}

/**
 * A minbase chroot of the leg's Debian suite with python3.X, its venv module
 * and uv at the pinned version (pip-installed in /opt/bty-ci/uv, as the job
 * containers install it), made once with mmdebstrap and kept under
 * CACHE_DIR like a cache volume.
 */
export function debianChroot(leg: PythonLeg): DebianChroot {
  const suite = DEBIAN_PYTHON_SUITES[leg];
  if (!suite) throw new Error(`no Debian suite is known to package Python for ${leg}`);
  const minor = minorOf(PYTHON_MATRIX[leg]);
  const python = `/usr/bin/python${minor}`;
  const root = join(CACHE_DIR, `chroot-${suite}-python${minor}-uv${TOOLS.uv}`);
  const stamp = join(root, "etc/bty-ci-chroot");
  let madeInSeconds = 0;
  mkdirSync(join(CACHE_DIR, "chroot-uv-cache"), { recursive: true });
  if (!existsSync(stamp)) {
    const start = performance.now();
    rmSync(root, { recursive: true, force: true });
    const building = `${root}.building-${process.pid}`;
    try {
      // Debian's archive here may serve Release files past their Valid-Until
      // (a clock ahead of the mirror); signatures are still verified.
      run([
        "mmdebstrap", "--quiet", "--variant=minbase", "--aptopt=Acquire::Check-Valid-Until \"false\"",
        `--include=python${minor},python${minor}-venv,ca-certificates`, suite, building,
      ]);
      // Mount points of chrootArgv in the read-only root.
      mkdirSync(join(building, "cache/uv"), { recursive: true });
      writeFileSync(join(building, "etc/resolv.conf"), "");
      const rw = (argv: string[]) => chrootArgv(building, argv, "/", { writableRoot: true });
      run(rw([python, "-m", "venv", "/opt/bty-ci/uv"]), { env: chrootEnv() });
      run(rw(["/opt/bty-ci/uv/bin/pip", "install", "-q", `uv==${TOOLS.uv}`]), { env: chrootEnv() });
      writeFileSync(join(building, "etc/bty-ci-chroot"), `${suite} python${minor} uv==${TOOLS.uv}\n`);
      try {
        renameSync(building, root);
      } catch (err) {
        // Another run made the same chroot meanwhile: use theirs.
        if (!existsSync(stamp)) throw err;
      }
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
    madeInSeconds = (performance.now() - start) / 1000;
  }
  const version = run(chrootArgv(root, [python, "-c", "import platform; print(platform.python_version())"], "/"), {
    env: chrootEnv(),
  }).trim();
  return { root, suite, python, version, madeInSeconds };
}
