/**
 * Names as the Dagger CLI prints them (pure). The engine registers a
 * TypeScript function under its own name (`flashIntegration`, `py311`); the
 * CLI shows every path segment in kebab case, and `dagger check -l` joins a
 * check's segments with ":" (`test:py-311`). all-checks labels its rows the
 * same way, so a row names what a user can type.
 */

const isUpper = (c: string | undefined) => c !== undefined && c >= "A" && c <= "Z";
const isLower = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z";
const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";

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
    const next = s[i + 1];
    const lower = c.toLowerCase();
    const caseChanges =
      (isUpper(c) && (isLower(next) || isDigit(next))) ||
      (isLower(c) && (isUpper(next) || isDigit(next))) ||
      (isDigit(c) && (isUpper(next) || isLower(next)));
    if (caseChanges) {
      // An acronym ends before its last capital: JSONData → json-data.
      if (isUpper(c) && isLower(next) && isUpper(s[i - 1])) out += "-";
      out += lower;
      if (isLower(c) || isDigit(c) || isDigit(next)) out += "-";
    } else if (c === " " || c === "_" || c === "-" || c === ".") {
      out += "-";
    } else {
      out += lower;
    }
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
