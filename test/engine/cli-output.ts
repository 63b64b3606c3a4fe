/**
 * What the engine tier reads from the CLI and from the generated reference, as pure
 * functions (their unit tests: test/unit/engine-cli-output.test.ts).
 */

/**
 * The first column of a CLI table (`dagger functions`, `dagger check -l`):
 * the rows after its `Name` header, up to the first blank line (a footer such
 * as "Skipped 1 function(s) …" follows it); colour codes removed.
 */
export function firstColumn(out: string): string[] {
  const lines = out.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const header = lines.findIndex((l) => /^Name\s/.test(l));
  if (header < 0) throw new Error(`no "Name" header in the CLI's table:\n${out}`);
  const rows = lines.slice(header + 1);
  const end = rows.findIndex((l) => l.trim() === "");
  return (end < 0 ? rows : rows.slice(0, end)).map((l) => l.split(/\s+/)[0]!);
}

/**
 * The functions and checks of the generated reference (docs/reference.md), as
 * a reader sees them: function headings (`### \`name\` → Type`; the
 * constructor's heading has no arrow), and every heading tagged `check`, a
 * sub-function's `parent child` written `parent:child` as `dagger check -l`
 * lists it.
 */
export function referenceFunctions(reference: string): { functions: string[]; checks: string[] } {
  const headings = [...reference.matchAll(/^### `([^`]+)` → \S+(?: \(([^)]*)\))?$/gm)].map((m) => ({ name: m[1]!, tags: m[2] ?? "" }));
  if (!headings.length) throw new Error("no function headings (### `name` → Type): is this docs/reference.md?");
  return {
    functions: headings.filter((h) => !h.name.includes(" ")).map((h) => h.name),
    checks: headings.filter((h) => h.tags.split(", ").includes("check")).map((h) => h.name.replace(" ", ":")),
  };
}
