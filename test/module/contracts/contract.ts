/**
 * What a job must send to the engine, written down from bty's workflow
 * and bty-ci's documented design (README,
 * docs/decisions.md) — never computed from src/. The module tier replays what
 * a job sent (test/harness/pipeline.ts) and compares it with its contract.
 */

import { expect } from "vitest";

/** One of the job's own commands, after the checkout is in place. */
export interface StepContract {
  argv: string[];
  /** Working directory the command runs in. */
  workdir: string;
  /** Runs with all root capabilities (loop devices, mounts). */
  privileged: boolean;
  /** Environment of this command only, on top of the job's. */
  env?: Record<string, string>;
}

export interface JobContract {
  /** The job, as bty's workflow names it. */
  job: string;
  /** The module function that runs it (TestMatrix legs name their object). */
  call: { fn: string; parent?: string };
  /** The image: a pinned Python patch release of the leg's minor, on bookworm. */
  image: RegExp;
  /**
   * Tool layers, in order, before the checkout is copied in: bty's code
   * changing must not rebuild them. Matchers allowed where a pin may move.
   */
  setup: unknown[][];
  /** Debian packages installed by the setup (in bty's workflow order), or none. */
  apt: string[];
  /** Environment every step sees (exactly). */
  env: Record<string, string>;
  /** Cache volumes mounted while the steps run (exactly, in mount order). */
  caches: { path: string; key: string; sharing: "SHARED" | "LOCKED" | "PRIVATE" }[];
  /** The job's own commands, in order. */
  steps: StepContract[];
  /** What the function returns: a directory of the container, or nothing (a check). */
  returns: { directory: string } | "nothing";
}

/** Where things live in every job container (README "Design"). */
export const SRC = "/src";
export const CI_SCRIPTS = "/opt/bty-ci/ci";
export const PY = "/usr/local/bin/python3";

/** The environment of every Python job container (D-decisions: caches outside $HOME, no uv Python downloads). */
export const PYTHON_JOB_ENV = {
  // Set whole, so the image's PATH never decides what runs; uv's tool bin first.
  PATH: "/opt/bty-ci/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  UV_TOOL_BIN_DIR: "/opt/bty-ci/bin",
  UV_CACHE_DIR: "/cache/uv",
  PIP_CACHE_DIR: "/cache/pip",
  PIP_DISABLE_PIP_VERSION_CHECK: "1",
  PIP_ROOT_USER_ACTION: "ignore",
  UV_LINK_MODE: "copy",
  UV_PYTHON_DOWNLOADS: "never",
  UV_NO_PROGRESS: "1",
} as const;

/** Cache volumes of every Python job: pip's and uv's downloads. */
export const PYTHON_JOB_CACHES = [
  { path: "/cache/pip", key: "bty-ci-pip", sharing: "SHARED" },
  { path: "/cache/uv", key: "bty-ci-uv", sharing: "SHARED" },
] as const;

/**
 * apt's archives and lists: apt locks both, so concurrent jobs take turns
 * (LOCKED); mounted for the install only, so no job step holds the lock.
 */
export const APT_CACHES = [
  { path: "/var/cache/apt/archives", key: "bty-ci-apt-archives-bookworm", sharing: "LOCKED" },
  { path: "/var/lib/apt/lists", key: "bty-ci-apt-lists-bookworm", sharing: "LOCKED" },
] as const;

/** uv itself, at its pinned release, installed with the image's pip. */
export const INSTALL_UV = ["pip", "install", expect.stringMatching(/^uv==\d+\.\d+\.\d+$/)];

/** bty-ci's apt installer (ci/apt-install.sh) with `packages`. */
export const aptInstall = (packages: string[]) => ["bash", `${CI_SCRIPTS}/apt-install.sh`, ...packages];

/** `uv sync` of bty's test job, locked (bty's uv.lock must be current), on the image's Python. */
export const UV_SYNC = ["uv", "sync", "--locked", "--all-extras", "--group", "dev", "--python", PY];

/** A step run at the checkout's root, unprivileged. */
export const atRoot = (argv: string[]): StepContract => ({ argv, workdir: SRC, privileged: false });

/** The checksum manifest bty-ci writes next to build outputs: sha256, basenames, itself left out. */
export const sha256sums = (dir: string): StepContract => ({
  argv: [
    "sh",
    "-c",
    "find . -maxdepth 1 -type f ! -name SHA256SUMS ! -name '.*' -printf '%P\\n' | sort | xargs -r sha256sum -- > SHA256SUMS",
  ],
  workdir: `${SRC}/${dir}`,
  privileged: false,
});
