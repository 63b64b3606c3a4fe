/**
 * bty's Python-side jobs as data (pure): the command lists of lint, the test
 * matrix, mypy, flash integration, wheel and docs, and the image each runs
 * on. The payload tests run the same lists on this machine against bty's sdist.
 */
import { LINT, TOOLS } from "../config.js";
import type { Step } from "../steps.js";

/** Where things are for the side running the steps (container or host). */
export interface Layout {
  /** Directory holding bty-ci's `ci/` scripts. */
  ciDir: string;
  /** Python interpreter uv uses for the project environment. */
  python: string;
  /**
   * A package index other than bty's lock was made against is in use: the
   * lock's URLs cannot be asserted, so `uv sync` re-resolves within it.
   */
  customIndex: boolean;
}

/** Environment every uv-driven job shares. */
export const UV_ENV: Record<string, string> = {
  // Cache volumes and the project live on different file systems.
  UV_LINK_MODE: "copy",
  // The interpreter comes from the image (or the payload's Python), never a download.
  UV_PYTHON_DOWNLOADS: "never",
  UV_NO_PROGRESS: "1",
};

/** Path, relative to the checkout, of the pre-commit config lint generates. */
export const LOCAL_PRE_COMMIT_CONFIG = ".git/bty-ci-pre-commit.yaml";

/** Where bty's docs build leaves its output. */
export const DOCS_OUTPUT = {
  html: "docs/_build/html",
  pdf: "docs/_build/latex/bty.pdf",
  /** What the docs function returns: html/, bty.pdf, SHA256SUMS. */
  bundle: "docs/_build/bty-ci",
} as const;

/** Where `uv build` leaves the wheel and sdist. */
export const DIST_DIR = "dist";

/** Name of the checksum manifest written next to build outputs. */
export const CHECKSUMS = "SHA256SUMS";

const uvRun = (...argv: string[]): string[] => ["uv", "run", "--no-sync", ...argv];

/** The `uv sync` of bty's test job (all extras + dev group), on a chosen interpreter. */
export function syncStep(layout: Layout): Step {
  // --locked (stricter than bty's plain `uv sync`): a stale uv.lock fails
  // the job instead of being rewritten silently.
  const lock = layout.customIndex ? [] : ["--locked"];
  return {
    label: "uv sync",
    argv: ["uv", "sync", ...lock, "--all-extras", "--group", "dev", "--python", layout.python],
  };
}

/**
 * ci/localize-pre-commit.py on `input`, with the hook manifests in
 * `manifests` and the PyYAML it needs supplied by uv.
 */
export function localizePreCommitArgv(layout: Layout, input: string, manifests: string, output: string): string[] {
  return [
    "uv", "run", "--no-project", "--python", layout.python, "--with", `pyyaml==${TOOLS.pyyaml}`,
    "python", `${layout.ciDir}/localize-pre-commit.py`, input, "--manifests", manifests, "--output", output,
  ];
}

/**
 * Lint: bty's pre-commit hook set at bty's pinned revisions, the
 * hook definitions from each hook repository's manifest (in `manifests`),
 * every hook installed from the Python package index (no Docker daemon for
 * shellcheck, no git clone of hook repositories).
 */
export function lintSteps(layout: Layout, manifests: string): Step[] {
  return [
    // pre-commit needs a git repository; the engine uploads no .git.
    { label: "git init", argv: ["git", "init", "-q"] },
    { label: "git add", argv: ["git", "add", "-A"] },
    // Committed, as actions/checkout leaves bty's tree: hooks that look at
    // what is being added (check-added-large-files) then see nothing, as in
    // bty's CI, instead of every file of the checkout.
    {
      label: "git commit",
      argv: ["git", "-c", "user.name=bty-ci", "-c", "user.email=bty-ci@localhost", "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "checkout"],
    },
    {
      label: "localize hooks",
      argv: localizePreCommitArgv(layout, LINT.config, manifests, LOCAL_PRE_COMMIT_CONFIG),
    },
    {
      label: "pre-commit",
      argv: [
        "uv", "tool", "run", "--python", layout.python, "--from", `pre-commit==${TOOLS.preCommit}`,
        "pre-commit", "run", "--all-files", "--show-diff-on-failure", "--color=always",
        "--config", LOCAL_PRE_COMMIT_CONFIG,
      ],
    },
  ];
}

/** One leg of the test matrix: ruff, format check, pytest. */
export function testSteps(layout: Layout): Step[] {
  return [
    syncStep(layout),
    { label: "ruff check", argv: uvRun("ruff", "check") },
    { label: "ruff format", argv: uvRun("ruff", "format", "--check") },
    { label: "pytest", argv: uvRun("pytest") },
  ];
}

/** mypy, which bty runs once, on the 3.12 leg. */
export function typecheckSteps(layout: Layout): Step[] {
  return [syncStep(layout), { label: "mypy", argv: uvRun("mypy", "src") }];
}

/**
 * bty's deploy integration tests: marked `integration` too, so bty's
 * flash-integration job collects them, where they only ever skip (no podman
 * on its runner). In a container without systemd the quadlet test's fixture
 * teardown calls `systemctl` after the skip and errors (seen on a real
 * engine), so flash-integration leaves the file to the deploy jobs.
 */
export const DEPLOY_INTEGRATION_TESTS = "tests/test_deploy_integration.py";

/**
 * Flash integration (bty's workflow job flash-integration): loop-device tests
 * as root. `CI=true` makes bty's fixtures fail instead of skip when a
 * prerequisite is missing; ci/flash-env.sh supplies what a VM runner has and
 * a container lacks (exFAT fallback, loop partition nodes, by-label links,
 * /dev/log).
 */
export function flashIntegrationSteps(layout: Layout): Step[] {
  return [
    syncStep(layout),
    {
      label: "pytest -m integration",
      argv: ["bash", `${layout.ciDir}/flash-env.sh`, "--", ...uvRun("pytest", "-m", "integration", `--ignore=${DEPLOY_INTEGRATION_TESTS}`, "-v")],
      env: { CI: "true" },
    },
  ];
}

/** Writes SHA256SUMS (basenames, like bty's sidecars) for every file in `dir`. */
export function checksumStep(dir: string): Step {
  return {
    label: "checksums",
    argv: [
      "sh",
      "-c",
      `find . -maxdepth 1 -type f ! -name ${CHECKSUMS} ! -name '.*' -printf '%P\\n' | sort | xargs -r sha256sum -- > ${CHECKSUMS}`,
    ],
    cwd: dir,
  };
}

/** Wheel + sdist, with a checksum manifest. */
export function buildWheelSteps(layout: Layout): Step[] {
  return [
    {
      label: "uv build",
      argv: ["uv", "build", "--python", layout.python, "--out-dir", DIST_DIR, "--no-create-gitignore"],
    },
    checksumStep(DIST_DIR),
  ];
}

/**
 * HTML site and LaTeX PDF via bty's own docs tooling, gathered
 * into DOCS_OUTPUT.bundle as `html/`, `bty.pdf` and SHA256SUMS.
 */
export function docsSteps(layout: Layout): Step[] {
  const { html, pdf, bundle } = DOCS_OUTPUT;
  return [
    {
      label: "install docs tooling",
      argv: ["uv", "tool", "install", "--python", layout.python, "./docs/tooling"],
    },
    { label: "sphinx html", argv: ["bty-docs-build-html"], cwd: "docs" },
    { label: "sphinx pdf", argv: ["bty-docs-build-pdf"], cwd: "docs" },
    {
      label: "gather",
      argv: ["sh", "-c", `rm -rf ${bundle} && mkdir -p ${bundle} && cp -a ${html} ${bundle}/html && cp ${pdf} ${bundle}/`],
    },
    checksumStep(bundle),
  ];
}

/** The Python image for one exact Python version, from a `{version}` template. */
export function pythonImageRef(template: string, version: string): string {
  if (!template.includes("{version}")) {
    throw new Error(
      `--python-image "${template}" has no {version} placeholder: every matrix leg would ` +
        'run on one interpreter; use e.g. "mirror.internal/python:{version}-slim-bookworm"',
    );
  }
  return template.replaceAll("{version}", version);
}
