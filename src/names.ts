/**
 * Names as the Dagger CLI prints them (pure). The engine registers a
 * TypeScript function under its own name (`flashIntegration`, `py311`); the
 * CLI shows every path segment in kebab case, and `dagger check -l` joins a
 * check's segments with ":" (`test:py-311`). all-checks labels its rows the
 * same way, so a row names what a user can type.
 */

type Kind = "upper" | "lower" | "digit" | undefined;

/** What a character is for case changes; undefined past either end of the name, or for a symbol. */
function kind(c: string | undefined): Kind {
  if (c === undefined) return undefined;
  if (/[A-Z]/.test(c)) return "upper";
  if (/[a-z]/.test(c)) return "lower";
  return /[0-9]/.test(c) ? "digit" : undefined;
}

/**
 * One name segment in CLI case: `strcase.ToKebab` (iancoleman/strcase
 * v0.3.0, what Dagger v0.21.8 applies in core/modtree.go), for ASCII names.
 * A delimiter goes wherever case changes and between letters and digits:
 * `flashIntegration` → `flash-integration`, `py311` → `py-311`,
 * `JSONData` → `json-data`; spaces, `_`, `-` and `.` become `-`.
 */
export function cliName(name: string): string {
  const s = name.trim();
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    // `-` needs no rewrite: it has no kind, so it is copied as it is below.
    if (c === " " || c === "_" || c === ".") {
      out += "-";
      continue;
    }
    const [before, here, after] = [kind(s[i - 1]), kind(c), kind(s[i + 1])];
    // An acronym ends before its last capital: JSONData → json-data.
    if (before === "upper" && here === "upper" && after === "lower") out += "-";
    out += c.toLowerCase();
    // A delimiter wherever the kind changes, except a capital starting a word (Data).
    if (here && after && here !== after && !(here === "upper" && after === "lower")) out += "-";
  }
  return out;
}

/**
 * A check's name as `dagger check -l` prints it, from the function path as
 * written in TypeScript: `checkName("test", "py311")` is `test:py-311`.
 * Installed as a toolchain, the CLI prefixes the toolchain's name
 * (`bty-ci:test:py-311`).
 */
export function checkName(...path: string[]): string {
  if (path.length === 0) throw new Error("checkName needs at least one path segment");
  return path.map(cliName).join(":");
}
