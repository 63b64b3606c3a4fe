/**
 * What each file under ci/ is, found by walking the directory (node_modules
 * and __pycache__ left out), so that a new file gets its rules without a list to extend:
 *
 *  - a program is a file with a shebang (bash or python3), or a TypeScript
 *    file (run with `node --import tsx`, as src/release/program.ts does):
 *    it answers --help and runs in strict mode;
 *  - a library is a bash file without a shebang that declares its shell for
 *    shellcheck (sourced by programs), or a Python file without a shebang
 *    (imported by programs): no main of its own, not executable;
 *  - data is JSON (ci/release/'s package files).
 *
 * Anything else is unclassified, and test/unit/ci-programs.test.ts says so.
 * Used by that test (--help, strict mode, permissions) and by
 * test/payload/ci-scripts.test.ts (shellcheck, ruff).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

import type { AnswerContext, RecordingEngine } from "./engine.js";

export const CI_DIR = resolve(import.meta.dirname, "../../ci");

/** Installed or generated, never written: npm's packages, Python's bytecode. */
const IGNORED = new Set(["node_modules", "__pycache__"]);

export type CiFileKind = "bash program" | "python program" | "typescript program" | "bash library" | "python library" | "data";

export interface CiFile {
  /** Relative to ci/. */
  path: string;
  kind: CiFileKind | undefined;
}

/** The kind of a file under ci/ from its name and text; undefined when no rule fits. */
export function classify(path: string, text: string): CiFileKind | undefined {
  if (text.startsWith("#!/usr/bin/env bash\n")) return "bash program";
  if (text.startsWith("#!/usr/bin/env python3\n")) return "python program";
  if (text.startsWith("#!")) return undefined;
  if (path.endsWith(".ts")) return "typescript program";
  if (path.endsWith(".sh") && text.startsWith("# shellcheck shell=bash\n")) return "bash library";
  if (path.endsWith(".py")) return "python library";
  if (path.endsWith(".json")) return "data";
  return undefined;
}

/** Every file under ci/, sorted, each with its kind. */
export function ciFiles(dir = CI_DIR): CiFile[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((p) => !p.split("/").some((part) => IGNORED.has(part)) && statSync(join(dir, p)).isFile())
    .sort()
    .map((path) => ({ path, kind: classify(path, readFileSync(join(dir, path), "utf8")) }));
}

/** The files of the given kinds, as paths relative to ci/. */
export function ciPaths(...kinds: CiFileKind[]): string[] {
  return ciFiles()
    .filter((f) => f.kind !== undefined && kinds.includes(f.kind))
    .map((f) => f.path);
}

/**
 * What v0.21.8's `glob("**")` of the module's ci/ lists: every file, and every
 * directory with a trailing "/" (core/directory.go's Glob), in name order.
 */
export function ciGlob(): string[] {
  const files = ciFiles().map((f) => f.path);
  const dirs = new Set(files.map((p) => dirname(p)).filter((d) => d !== "."));
  return [...files, ...[...dirs].map((d) => `${d}/`)].sort();
}

/**
 * A `glob("**")` on the module's own ci/ (`currentModule.source.directory("ci")`).
 * Other patterns get the stand-in's default answer, so code that asks for a
 * narrower walk does not get every file.
 */
function globsModuleCi(ctx: AnswerContext): boolean {
  const [root, source, dir, glob] = ctx.chain;
  return root?.field === "currentModule" && source?.field === "source" && dir?.field === "directory" && dir.args.path === "ci" && ctx.chain.length === 4 && glob?.args.pattern === "**";
}

/** Answer `glob("**")` on the module's ci/ as the engine would ({@link ciGlob}); other globs keep their answers. */
export function answerModuleCi(engine: RecordingEngine): void {
  engine.answer("glob", (ctx: AnswerContext) => (globsModuleCi(ctx) ? ciGlob() : undefined));
}
