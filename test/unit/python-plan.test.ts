import { describe, expect, it } from "vitest";

import {
  buildWheelSteps,
  docsSteps,
  flashIntegrationSteps,
  type Layout,
  lintSteps,
  syncStep,
  testSteps,
  typecheckSteps,
} from "../../src/python/plan.js";

const layout: Layout = { ciDir: "/opt/ci", python: "/usr/bin/python3.12", customIndex: false };
const argv = (steps: { argv: string[] }[]) => steps.map((s) => s.argv.join(" "));

describe("syncStep", () => {
  it("syncs all extras and the dev group against the lock, on the given interpreter", () => {
    expect(syncStep(layout).argv).toEqual([
      "uv", "sync", "--locked", "--all-extras", "--group", "dev", "--python", "/usr/bin/python3.12",
    ]);
  });

  it("re-resolves within a custom index instead of asserting the lock", () => {
    expect(syncStep({ ...layout, customIndex: true }).argv).not.toContain("--locked");
  });
});

describe("job step lists", () => {
  it("test leg: sync, ruff check, format check, pytest (bty's addopts pick the markers)", () => {
    expect(argv(testSteps(layout)).slice(1)).toEqual([
      "uv run --no-sync ruff check",
      "uv run --no-sync ruff format --check",
      "uv run --no-sync pytest",
    ]);
  });

  it("typecheck runs mypy on src after syncing", () => {
    expect(argv(typecheckSteps(layout))).toEqual([syncStep(layout).argv.join(" "), "uv run --no-sync mypy src"]);
  });

  it("flash integration runs pytest -m integration inside flash-env.sh with CI=true", () => {
    const steps = flashIntegrationSteps(layout);
    expect(steps[0]).toEqual(syncStep(layout));
    expect(steps[1]!.argv).toEqual([
      "bash", "/opt/ci/flash-env.sh", "--", "uv", "run", "--no-sync", "pytest", "-m", "integration", "--ignore=tests/test_deploy_integration.py", "-v",
    ]);
    expect(steps.filter((s) => s.env?.CI === "true")).toEqual([steps[1]]);
  });

  it("lint localizes bty's hooks with the given manifests, then runs pre-commit on all files with the pinned version", () => {
    const steps = lintSteps(layout, "/opt/manifests");
    expect(steps.map((s) => s.label)).toEqual(["git init", "git add", "git commit", "localize hooks", "pre-commit"]);
    expect(steps[0]!.argv).toEqual(["git", "init", "-q"]);
    expect(steps[1]!.argv).toEqual(["git", "add", "-A"]);
    expect(steps[2]!.argv).toEqual(["git", "-c", "user.name=bty-ci", "-c", "user.email=bty-ci@localhost", "commit", "-q", "--no-verify", "--no-gpg-sign", "-m", "checkout"]);
    expect(steps[3]!.argv).toEqual([
      "uv", "run", "--no-project", "--python", "/usr/bin/python3.12", "--with", "pyyaml==6.0.3",
      "python", "/opt/ci/localize-pre-commit.py", ".pre-commit-config.yaml",
      "--manifests", "/opt/manifests", "--output", ".git/bty-ci-pre-commit.yaml",
    ]);
    expect(steps[4]!.argv).toEqual([
      "uv", "tool", "run", "--python", "/usr/bin/python3.12", "--from", "pre-commit==4.7.0",
      "pre-commit", "run", "--all-files", "--show-diff-on-failure", "--color=always",
      "--config", ".git/bty-ci-pre-commit.yaml",
    ]);
    expect(steps.every((s) => s.cwd === undefined && s.env === undefined)).toBe(true);
  });

  it("build writes wheel and sdist to dist and checksums them", () => {
    const steps = buildWheelSteps(layout);
    expect(steps[0]!.argv).toEqual([
      "uv", "build", "--python", "/usr/bin/python3.12", "--out-dir", "dist", "--no-create-gitignore",
    ]);
    expect(steps[1]).toMatchObject({ label: "checksums", cwd: "dist" });
  });

  it("docs builds html then pdf in docs/ and gathers them with checksums", () => {
    const steps = docsSteps(layout);
    expect(steps.map((s) => [s.label, s.cwd])).toEqual([
      ["install docs tooling", undefined],
      ["sphinx html", "docs"],
      ["sphinx pdf", "docs"],
      ["gather", undefined],
      ["checksums", "docs/_build/bty-ci"],
    ]);
  });
});

describe("step labels (what payload logs and reports call each command)", () => {
  it("names every step of every job", () => {
    const labels = (steps: { label: string }[]) => steps.map((s) => s.label);
    expect(labels(testSteps(layout))).toEqual(["uv sync", "ruff check", "ruff format", "pytest"]);
    expect(labels(typecheckSteps(layout))).toEqual(["uv sync", "mypy"]);
    expect(labels(flashIntegrationSteps(layout))).toEqual(["uv sync", "pytest -m integration"]);
    expect(labels(buildWheelSteps(layout))).toEqual(["uv build", "checksums"]);
    expect(labels(docsSteps(layout))).toEqual(["install docs tooling", "sphinx html", "sphinx pdf", "gather", "checksums"]);
  });
});
