/**
 * bty-ci's ci/ programs in the unit tier (no root, no QEMU): every file
 * under ci/, found by glob (test/harness/ci-files.ts), follows the rule of
 * its kind, and each Python unit-test module of test/unit/ci/ (the
 * programs' pure logic, loaded by path) passes under `python3 -m unittest`.
 * The linters, which need downloads, run on the same globs in
 * test/payload/ci-scripts.test.ts.
 */
import { execFile, execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, delimiter, dirname, join, resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { CI_DIR, ciFiles, ciPaths, classify } from "../harness/ci-files.js";

const REPO = resolve(import.meta.dirname, "../..");
const PY_TESTS = join(import.meta.dirname, "ci");

/**
 * The directory of the interpreter `python3` resolves to, put first on PATH:
 * the programs' `#!/usr/bin/env python3` then starts it directly, not through
 * a version manager's shim (a shell script per start, which takes longer
 * than the interpreter's own start-up).
 */
const PYTHON_BIN = dirname(execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim());
const ENV = { ...process.env, PATH: `${PYTHON_BIN}${delimiter}${process.env.PATH}`, PYTHONDONTWRITEBYTECODE: "1" };

/** Run argv to its end; never rejects. */
function run(argv: string[], cwd = REPO): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    execFile(argv[0]!, argv.slice(1), { cwd, env: ENV }, (error, out, err) =>
      done({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, out, err }),
    );
  });
}

const text = (path: string) => readFileSync(join(CI_DIR, path), "utf8");
const executable = (path: string) => (statSync(join(CI_DIR, path)).mode & 0o111) !== 0;
/** How each kind of program is started: a shebang program as it is, TypeScript as src/release/program.ts runs it. */
const start = (path: string) => (path.endsWith(".ts") ? ["node", "--import", "tsx", join(CI_DIR, path)] : [join(CI_DIR, path)]);

/** Strict mode, per language: what the text of a program must show. */
const STRICT: Record<"bash program" | "python program" | "typescript program", RegExp[]> = {
  "bash program": [/^set -euo pipefail$/m],
  "python program": [/^def main\(/m, /^if __name__ == "__main__":\n {4}sys\.exit\(main\(\)\)$/m],
  "typescript program": [/^export async function main\(argv: string\[\]\): Promise<number> \{$/m, /^process\.exitCode = await main\(process\.argv\.slice\(2\)\);$/m],
};

const PROGRAMS = ciFiles().filter((f) => f.kind?.endsWith(" program"));
const LIBRARIES = ciPaths("bash library", "python library");

describe("ci/ by glob", () => {
  it("tells the kinds apart", () => {
    expect(classify("x.sh", "#!/usr/bin/env bash\nset -euo pipefail\n")).toBe("bash program");
    expect(classify("loop-shims/udevadm", "#!/usr/bin/env bash\n")).toBe("bash program");
    expect(classify("x.py", "#!/usr/bin/env python3\n")).toBe("python program");
    expect(classify("x", "#!/bin/sh\n")).toBeUndefined();
    expect(classify("release/release.ts", "/** doc */\n")).toBe("typescript program");
    expect(classify("lib.sh", "# shellcheck shell=bash\n# shared\n")).toBe("bash library");
    expect(classify("lib.sh", "# shared\n")).toBeUndefined();
    expect(classify("qemu_vm.py", '"""doc"""\n')).toBe("python library");
    expect(classify("release/package.json", "{}\n")).toBe("data");
    expect(classify("notes.txt", "text\n")).toBeUndefined();
  });

  it("every file under ci/ is a program, a library or data (node_modules and __pycache__ left out)", () => {
    expect(ciFiles().filter((f) => f.kind === undefined)).toEqual([]);
    // The walk reaches every directory: one program of each, and each kind.
    expect(PROGRAMS.map((f) => f.path)).toEqual(
      expect.arrayContaining(["apt-install.sh", "loop-shims/udevadm", "pxe/chain-test.py", "release/index-versions.py", "release/release.ts", "usb/usb-vm.py"]),
    );
    expect(LIBRARIES).toEqual(["loop-lib.sh", "qemu_vm.py"]);
    expect(ciPaths("data")).toEqual(["release/package-lock.json", "release/package.json"]);
  });

  it.concurrent.each(PROGRAMS.map((f) => [f.path, f.kind!] as const))(
    "%s (%s): --help prints its usage and exits 0, strict mode, executable when it has a shebang",
    async (path, kind) => {
      const help = await run([...start(path), "--help"]);
      expect(help.code, help.err).toBe(0);
      expect(help.out).toMatch(/usage/i);
      for (const mark of STRICT[kind as keyof typeof STRICT]) expect(text(path)).toMatch(mark);
      expect(executable(path)).toBe(kind !== "typescript program");
    },
    30_000,
  );

  it.each(LIBRARIES)("%s is a library: not executable, no main, used by a program", (path) => {
    expect(executable(path)).toBe(false);
    expect(text(path)).not.toMatch(/^#!|^def main\(|__main__|^set -/m);
    const name = basename(path).replace(/\.(sh|py)$/, "");
    const uses = path.endsWith(".sh")
      ? new RegExp(`^\\s*source .*/${name}\\.sh"?$`, "m")
      : new RegExp(`^(import ${name}|from ${name} import [^\\n]+?)(  # noqa: E402)?$`, "m");
    expect(PROGRAMS.filter((f) => uses.test(text(f.path))).length, `a program that uses ${path}`).toBeGreaterThan(0);
  });
});

const PY_MODULES = readdirSync(PY_TESTS)
  .filter((f) => /^test_\w+\.py$/.test(f))
  .sort();

describe("the ci/ programs' Python unit tests (test/unit/ci)", () => {
  it("every Python program and library has its module", () => {
    const wanted = ciPaths("python program", "python library").map((p) => `test_${basename(p, ".py").replaceAll("-", "_")}.py`);
    expect(PY_MODULES).toEqual(expect.arrayContaining(wanted));
    expect(wanted.length).toBeGreaterThan(10);
  });

  it.concurrent.each(PY_MODULES)(
    "%s",
    async (module) => {
      const r = await run(["python3", "-m", "unittest", module.replace(/\.py$/, "")], PY_TESTS);
      expect(r.code, `python3 -m unittest ${module} (in test/unit/ci):\n${r.err}${r.out}`).toBe(0);
      expect(r.err).toMatch(/^Ran [1-9]\d* tests? in /m);
    },
    30_000,
  );
});
