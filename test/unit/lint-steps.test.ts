/**
 * lint's command list as literals (spec §3.2 and D-decisions on the localized
 * hooks). The engineer rewriting lint owns this file's future.
 */
import { describe, expect, it } from "vitest";

import { localizePreCommitArgv, lintSteps, LOCAL_PRE_COMMIT_CONFIG } from "../../src/steps.js";

const layout = { ciDir: "/opt/ci", python: "/usr/bin/python3.12", customIndex: false };
const version = expect.stringMatching(/^\d+\.\d+\.\d+$/);

describe("lint steps", () => {
  it("makes a git repository of the checkout, localizes the hooks, runs pinned pre-commit", () => {
    const [init, add, localize, run] = lintSteps(layout).map((s) => s.argv);
    expect(init).toEqual(["git", "init", "-q"]);
    expect(add).toEqual(["git", "add", "-A"]);
    expect(localize).toEqual(localizePreCommitArgv(layout, ".pre-commit-config.yaml", ".git/bty-ci-pre-commit.yaml"));
    expect(run!.slice(0, 6)).toEqual(["uv", "tool", "run", "--python", "/usr/bin/python3.12", "--from"]);
    expect(run![6]!.split("==")).toEqual(["pre-commit", version]);
    expect(LOCAL_PRE_COMMIT_CONFIG).toBe(".git/bty-ci-pre-commit.yaml");
  });

  it("runs the localizer with uv and a pinned PyYAML", () => {
    const argv = localizePreCommitArgv(layout, "in.yaml", "out.yaml");
    expect(argv.slice(0, 6)).toEqual(["uv", "run", "--no-project", "--python", "/usr/bin/python3.12", "--with"]);
    expect(argv[6]!.split("==")).toEqual(["pyyaml", version]);
    expect(argv.slice(7)).toEqual(["python", "/opt/ci/localize-pre-commit.py", "in.yaml", "--output", "out.yaml"]);
  });
});
