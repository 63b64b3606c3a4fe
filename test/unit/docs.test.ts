/**
 * README.md and docs/ say only what is true of bty-ci: every `dagger call`
 * and `dagger check` in a code span or shell example names functions,
 * checks and flags the generated reference lists (spelled as the CLI
 * spells them), every `npm run` a script of package.json, every path of
 * this repository a file or folder that exists, every relative link a file.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

import { describe, expect, it } from "vitest";

import {
  codeSpans,
  daggerProblems,
  npmProblems,
  parseReference,
  type ReferenceIndex,
  relativeLinks,
  repositoryPath,
  SHELL_LANGS,
  shellCommands,
  tokenize,
} from "../harness/docs-check.js";

const ROOT = resolve(import.meta.dirname, "../..");
const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const reference = parseReference(readFileSync(join(ROOT, "docs/reference.md"), "utf8"));
const scripts = new Set(Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>));

/** Every flag the reference lists, for a flag named on its own (`--ventoy`). */
const allFlags = (ref: ReferenceIndex) => new Set([...ref.constructorFlags.keys(), ...[...ref.functions.values()].flatMap((f) => [...f.flags.keys()])]);

/**
 * Flags of other programs the documents name on their own, each with its
 * program: a lone `--flag` span is checked against the reference unless it is one of these.
 */
const OTHER_PROGRAMS_FLAGS = new Map<string, string>([
  ["--ignore", "pytest"],
  ["--fix", "ruff"],
  ["--severity", "shellcheck"],
  ["--maxkb", "pre-commit's check-added-large-files"],
  ["--no-verify", "git commit"],
  ["--all-files", "pre-commit run"],
  ["--oci-worker-gc-keepstorage", "the Dagger engine (dagger-engine)"],
]);

/** `npm run bench`'s own flags (bench/run.ts). */
const BENCH_FLAGS = new Set(
  [...readFileSync(join(ROOT, "bench/run.ts"), "utf8").matchAll(/"--([a-z-]+)[="]|choiceFlag\(process\.argv, "([a-z-]+)"/g)].map((m) => `--${m[1] ?? m[2]}`),
);

/** Problems of one document. */
function problems(file: string, text: string, ref: ReferenceIndex): string[] {
  const out: string[] = [];
  const flags = allFlags(ref);
  for (const span of codeSpans(text)) {
    const where = `${file}:${span.line}`;
    const shell = span.lang === undefined ? /^(dagger|npm) /.test(span.text) : SHELL_LANGS.has(span.lang);
    if (shell) {
      for (const { argv, line } of shellCommands(span.text)) {
        // A fenced block's first line is the one after its fence.
        const at = `${file}:${span.line + (span.lang === undefined ? 0 : line + 1)}`;
        if (argv.includes("dagger")) out.push(...daggerProblems(argv, ref).map((p) => `${at}: ${p}`));
        if (argv.includes("npm")) out.push(...npmProblems(argv, scripts).map((p) => `${at}: ${p}`));
      }
      continue;
    }
    if (span.lang !== undefined) continue;
    const lone = /^--[a-z0-9-]+$/.exec(span.text.replace(/[= ].*$/, ""));
    if (lone && lone[0] !== "--help" && !flags.has(lone[0]) && !BENCH_FLAGS.has(lone[0]) && !OTHER_PROGRAMS_FLAGS.has(lone[0])) out.push(`${where}: no flag ${lone[0]} in the reference`);
    const path = repositoryPath(span);
    if (path && !existsSync(join(ROOT, path))) out.push(`${where}: no path ${path} in this repository`);
  }
  for (const link of relativeLinks(text)) {
    if (!existsSync(resolve(ROOT, dirname(file), link))) out.push(`${file}: link to ${link}, which does not exist`);
  }
  return out;
}

describe("README.md and docs/", () => {
  it.each(DOCS)("%s names only functions, flags, scripts and paths that exist", (file) => {
    expect(problems(file, readFileSync(join(ROOT, file), "utf8"), reference)).toEqual([]);
  });
});

describe("the checks notice", () => {
  const doc = (body: string) => problems("doc.md", body, reference);

  it("a flag the CLI spells otherwise, a missing function, check or script", () => {
    expect(doc("```sh\ndagger call --r8125-source ./r8125 build-netboot-pc\n```")).toEqual([
      "doc.md:2: dagger call: the constructor has no flag --r8125-source in the reference",
    ]);
    expect(doc("```sh\n# a media build\ndagger call build-netboot-pc \\\n  --timeout 60 >> log\n```")).toEqual([
      "doc.md:3: dagger call: build-netboot-pc has no flag --timeout in the reference",
    ]);
    expect(doc("Run `dagger call build_wheel`.")).toEqual(['doc.md:1: dagger call: no function "build_wheel" in the reference']);
    expect(doc("Run `dagger call test py311`.")).toEqual(['doc.md:1: dagger call: no function "test py311" in the reference']);
    expect(doc("```sh\ndagger check test:py311\n```")).toEqual(['doc.md:2: dagger check: no check "test:py311" in the reference']);
    expect(doc("`npm run docs`")).toEqual(['doc.md:1: npm run: package.json has no script "docs"']);
    expect(doc("Use `--r8125-source`.")).toEqual(["doc.md:1: no flag --r8125-source in the reference"]);
  });

  it("a path that is not in the repository, and a dead link", () => {
    expect(doc("See `src/plan.ts`.")).toEqual(["doc.md:1: no path src/plan.ts in this repository"]);
    expect(doc("See [release](docs/no-such.md).")).toEqual(["doc.md: link to docs/no-such.md, which does not exist"]);
  });

  it("and passes what is right", () => {
    expect(
      doc(
        [
          "```sh",
          "dagger -m github.com/safl/bty-ci@v0.2.0 call --python-index https://mirror.internal/simple \\",
          "  all-checks-bundle export --wipe --path ./bundle   # the run's files",
          'dagger call test py-311 && dagger check "bty-ci:test:*" lint',
          "dagger call test-pxe --firmware=uefi --trio ./trio 2> err.log",
          'dagger call bty-ci workflow --module "" export --path ci-cd.yml',
          "dagger call check-not-published --tag v1.2.3 [--index URL] … > out",
          "dagger call publish --tag v1.2.3 --dry-run --github-token env:GITHUB_TOKEN",
          "sudo .ci/run; npm run test:fast",
          "```",
          "bty's `src/bty/cli.py`, iPXE's `src/Makefile`, and bty-ci's `src/usb/plan.ts:12`, `src/**/*.ts`, `--ventoy`, `--media`; [tests](docs/reference.md).",
        ].join("\n"),
      ),
    ).toEqual([]);
  });
});

describe("tokenize", () => {
  it("keeps quoted words and command substitutions whole, and splits operators", () => {
    expect(tokenize(`a "b c" '$d' --head=$(git rev-parse HEAD)&&e|f;g>>x 2>y # h`)).toEqual([
      "a", "b c", "$d", "--head=$(git rev-parse HEAD)", "&&", "e", "|", "f", ";", "g", ">>", "x", "2>", "y", "#",
    ]);
  });
});
