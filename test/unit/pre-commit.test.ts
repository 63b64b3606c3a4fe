import { beforeEach, describe, expect, it } from "vitest";

import {
  checkManifests,
  type HookRepository,
  hookRepositories,
  manifestFileName,
  MISSING_PRE_COMMIT_CONFIG,
  PreCommitConfigError,
} from "../../src/python/pre-commit.js";

// bty's hook set, trimmed to what the reader looks at.
const BTY_CONFIG = `
exclude: '\\.min\\.(css|js)$'
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.15.15
    hooks:
      - id: ruff-check
        args: [--fix]
      - id: ruff-format
  - repo: https://github.com/koalaman/shellcheck-precommit
    rev: v0.11.0
    hooks:
      - id: shellcheck
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v6.0.0
    hooks:
      - id: trailing-whitespace
`;

const fails = (text: string) => {
  try {
    hookRepositories(text);
  } catch (err) {
    expect(err).toBeInstanceOf(PreCommitConfigError);
    // The name is what an engine's error output shows before the message.
    expect((err as Error).name).toBe("PreCommitConfigError");
    return (err as Error).message;
  }
  throw new Error("no error");
};

describe("hookRepositories", () => {
  it("lists bty's three hook repositories at their revs with their manifest names", () => {
    expect(hookRepositories(BTY_CONFIG)).toEqual([
      {
        url: "https://github.com/astral-sh/ruff-pre-commit",
        rev: "v0.15.15",
        manifest: "astral-sh.ruff-pre-commit@v0.15.15.yaml",
      },
      {
        url: "https://github.com/koalaman/shellcheck-precommit",
        rev: "v0.11.0",
        manifest: "koalaman.shellcheck-precommit@v0.11.0.yaml",
      },
      {
        url: "https://github.com/pre-commit/pre-commit-hooks",
        rev: "v6.0.0",
        manifest: "pre-commit.pre-commit-hooks@v6.0.0.yaml",
      },
    ]);
  });

  it("skips local and meta repos and lists a repository pinned twice at one rev once", () => {
    const text = `repos:
  - repo: local
    hooks: [{ id: x, name: x, entry: x, language: system }]
  - repo: meta
    hooks: [{ id: check-hooks-apply }]
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v6.0.0
    hooks: [{ id: check-yaml }]
  - repo: https://github.com/pre-commit/pre-commit-hooks.git
    rev: v6.0.0
    hooks: [{ id: check-json }]
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0
    hooks: [{ id: check-toml }]
`;
    expect(hookRepositories(text).map((r) => r.manifest)).toEqual([
      "pre-commit.pre-commit-hooks@v6.0.0.yaml",
      "pre-commit.pre-commit-hooks@v5.0.0.yaml",
    ]);
    // The first spelling of the repository is the one fetched.
    expect(hookRepositories(text)[0]!.url).toBe("https://github.com/pre-commit/pre-commit-hooks");
    expect(hookRepositories("repos: []\n")).toEqual([]);
  });

  it("names the fix for a config that is not one", () => {
    // yaml 2.9.1's message for this text, first line only.
    expect(fails("repos: [\n")).toBe(
      ".pre-commit-config.yaml is not valid YAML (Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1:): fix the syntax",
    );
    expect(fails("- a\n- b\n")).toBe(".pre-commit-config.yaml: the top level is not a mapping");
    expect(fails("exclude: x\n")).toBe(".pre-commit-config.yaml: no top-level `repos:` list");
    expect(fails("repos: [3]\n")).toBe(
      ".pre-commit-config.yaml: every entry of `repos:` must be a mapping with a `repo:` key",
    );
    expect(fails("repos: [{ repo: 3 }]\n")).toBe(".pre-commit-config.yaml: `repo:` must be a string");
  });

  it("wants a rev for every remote repository, as a string", () => {
    expect(fails("repos: [{ repo: 'https://github.com/a/b', hooks: [] }]\n")).toBe(
      ".pre-commit-config.yaml: https://github.com/a/b has no `rev:`; pin it to a release tag",
    );
    expect(fails("repos: [{ repo: 'https://github.com/a/b', rev: 1.5, hooks: [] }]\n")).toBe(
      ".pre-commit-config.yaml: https://github.com/a/b has rev 1.5, not a string: quote it",
    );
  });
});

describe("manifestFileName", () => {
  it("is <owner>.<repo>@<rev>.yaml in lower case, for https, ssh and scp-like URLs", () => {
    expect(manifestFileName("https://github.com/astral-sh/ruff-pre-commit", "v0.16.4")).toBe(
      "astral-sh.ruff-pre-commit@v0.16.4.yaml",
    );
    expect(manifestFileName("https://GitHub.com/Koalaman/ShellCheck-PreCommit.git/", "v0.11.0")).toBe(
      "koalaman.shellcheck-precommit@v0.11.0.yaml",
    );
    expect(manifestFileName("ssh://git@git.internal:2222/tools/hooks.git", "1.0")).toBe("tools.hooks@1.0.yaml");
    expect(manifestFileName("git@github.com:pre-commit/pre-commit-hooks", "v6.0.0")).toBe(
      "pre-commit.pre-commit-hooks@v6.0.0.yaml",
    );
    expect(manifestFileName(" https://github.com/a/b ", "3e8a87032b")).toBe("a.b@3e8a87032b.yaml");
  });

  it("refuses URLs without owner/repo and revs that cannot be part of a file name", () => {
    for (const url of ["local", "https://github.com/only-owner", "https://github.com/a/b/c", "file:///srv/hooks/a/b", "github.com/a/b"]) {
      expect(() => manifestFileName(url, "v1.0.0"), url).toThrow(
        `hook repository "${url}" is not a URL like https://<host>/<owner>/<repo>: fix the \`repo:\` entry`,
      );
    }
    for (const rev of ["feature/x", "../v1", ".hidden", "", "v1 0"]) {
      expect(() => manifestFileName("https://github.com/a/b", rev), rev).toThrow(
        `https://github.com/a/b has rev "${rev}"; pin it to a release tag like v1.2.3 (\`pre-commit autoupdate\`)`,
      );
    }
  });
});

describe("checkManifests", () => {
  // Made before each test, not while tests are collected, so a mutation run
  // credits these tests with hookRepositories' code.
  let repos: HookRepository[] = [];
  beforeEach(() => {
    repos = hookRepositories(BTY_CONFIG);
  });

  it("accepts a directory holding every manifest (and other files)", () => {
    expect(() =>
      checkManifests(repos, [
        "README.md",
        "astral-sh.ruff-pre-commit@v0.15.15.yaml",
        "astral-sh.ruff-pre-commit@v0.16.4.yaml",
        "koalaman.shellcheck-precommit@v0.11.0.yaml",
        "pre-commit.pre-commit-hooks@v6.0.0.yaml",
      ]),
    ).not.toThrow();
    expect(() => checkManifests([], [])).not.toThrow();
  });

  it("names every missing file and the two ways to fix it", () => {
    expect(() => checkManifests(repos, ["astral-sh.ruff-pre-commit@v0.16.4.yaml", "pre-commit.pre-commit-hooks@v6.0.0.yaml"])).toThrow(
      new PreCommitConfigError(
        "--hook-manifests lacks astral-sh.ruff-pre-commit@v0.15.15.yaml, koalaman.shellcheck-precommit@v0.11.0.yaml: " +
          "add each repository's .pre-commit-hooks.yaml at that rev under that name, or leave --hook-manifests out " +
          "to fetch them with git",
      ),
    );
  });
});

it("a checkout without a pre-commit config is told what lint needs", () => {
  expect(MISSING_PRE_COMMIT_CONFIG).toMatch(/^no \.pre-commit-config\.yaml at the root of the source directory: .*--source/);
});
