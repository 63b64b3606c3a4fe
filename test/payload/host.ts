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
  readlinkSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";

import { PYTHON_MATRIX, type PythonLeg, TOOLS } from "../../src/config.js";
import { type Layout, type Step, UV_ENV } from "../../src/steps.js";

export const REPO = resolve(import.meta.dirname, "../..");
export const CI_DIR = join(REPO, "ci");
export const CACHE_DIR = process.env.BTY_CI_PAYLOAD_CACHE ?? join(REPO, ".cache/payload");

function run(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`\`${argv.join(" ")}\` exited ${r.status ?? r.signal}:\n${r.stderr || r.stdout}`);
  }
  return r.stdout;
}

/** A new, empty scratch directory. */
export function scratch(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `bty-ci-${prefix}-`));
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

/**
 * The interpreter of one matrix leg on this machine: pyenv's build of that
 * minor version, else `python3.X` on PATH; undefined when there is none.
 */
export function hostPython(leg: PythonLeg): string | undefined {
  const minor = PYTHON_MATRIX[leg].split(".").slice(0, 2).join(".");
  const pyenvRoot = process.env.PYENV_ROOT ?? join(process.env.HOME ?? "/root", ".pyenv");
  const versions = join(pyenvRoot, "versions");
  const candidates = existsSync(versions)
    ? readdirSync(versions)
        .filter((v) => v.startsWith(`${minor}.`))
        .sort()
        .reverse()
        .map((v) => join(versions, v, "bin", `python${minor}`))
    : [];
  candidates.push(`python${minor}`);
  return candidates.find((c) => spawnSync(c, ["--version"]).status === 0);
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
 * bty's newest sdist from the package index (`pip download`, as the brief
 * asks), cached; returns the path of the .tar.gz.
 */
export function btySdist(): string {
  const dir = join(CACHE_DIR, "sdist");
  mkdirSync(dir, { recursive: true });
  if (!process.env.BTY_CI_OFFLINE) {
    run(["python3", "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps", "-d", dir, "bty-lab"]);
  }
  const sdists = readdirSync(dir)
    .filter((f) => /^bty_lab-.+\.tar\.gz$/.test(f))
    .sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
  if (!sdists[0]) throw new Error(`no bty sdist in ${dir}: run once with network to fetch it`);
  return join(dir, sdists[0]);
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

function runStep(
  step: Step,
  root: string,
  env: NodeJS.ProcessEnv,
  log: NodeJS.WritableStream,
  dev: DevView,
): Promise<StepRun> {
  const start = performance.now();
  return new Promise((resolveRun, reject) => {
    log.write(`\n$ ${step.argv.join(" ")}\n`);
    const argv = sandboxArgv(step.argv, dev);
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: step.cwd ? join(root, step.cwd) : root,
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

/**
 * Run `steps` in order in `root`, stopping at the first failure (as a chain
 * of container execs does). Resolves with every step's run; rejects with
 * StepFailed when `expectSuccess` and a step fails.
 */
export async function runHostSteps(
  steps: Step[],
  root: string,
  opts: { env?: NodeJS.ProcessEnv; expectSuccess?: boolean; logName?: string; dev?: DevView } = {},
): Promise<StepRun[]> {
  const env = opts.env ?? hostEnv();
  const logPath = join(root, "..", `${opts.logName ?? "steps"}.log`);
  const log = createWriteStream(logPath, { flags: "a" });
  const runs: StepRun[] = [];
  try {
    for (const step of steps) {
      const r = await runStep(step, root, env, log, opts.dev ?? "host");
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
