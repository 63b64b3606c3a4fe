/**
 * all-checks' rows, defined once (pure): what each job is called, how it is
 * called, what kind of job it is and which builds an end-to-end test boots.
 * The facade binds each row to its function, `plan` stages them and the
 * release gate requires every one of them in a run report.
 *
 * Names are as the Dagger CLI prints them. The engine registers a
 * TypeScript function under its own name (`flashIntegration`, `py311`); the
 * CLI shows every path segment in kebab case, and `dagger check -l` joins a
 * check's segments with ":" (`test:py-311`). all-checks labels its rows the
 * same way, so a row names what a user can type.
 */
import { PYTHON_LEGS } from "../config.js";
import { FIRMWARES } from "../pxe/plan.js";

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

/** What a row of all-checks is: a check, a build (returns files) or an end-to-end test. */
export type CheckKind = "check" | "build" | "e2e";

/** One row of all-checks. */
export interface CheckRow {
  /** As `dagger check -l` prints it (legs and firmwares as `fn:variant`). */
  name: string;
  /** Arguments after `dagger call` that run it alone. */
  call: string[];
  kind: CheckKind;
  /** The builds an end-to-end test boots: it waits for exactly these. */
  needs: string[];
}

/** A row for a function path as written in TypeScript; called as the CLI spells the path. */
function row(kind: CheckKind, path: string[], opts: { call?: string[]; needs?: string[] } = {}): CheckRow {
  return { name: checkName(...path), call: opts.call ?? path.map(cliName), kind, needs: opts.needs ?? [] };
}

const pxe = (firmware: string) =>
  row("e2e", ["testPxe", firmware], { call: ["test-pxe", "--firmware", firmware], needs: ["build-ipxe", "build-netboot-pc"] });
const usb = (fn: string) => row("e2e", [fn], { needs: ["build-usbboot-pc"] });

/** Every row of all-checks, in the order of its run report. */
export const CHECK_ROWS: readonly CheckRow[] = [
  row("check", ["lint"]),
  ...PYTHON_LEGS.map((leg) => row("check", ["test", leg])),
  row("check", ["typecheck"]),
  row("check", ["flashIntegration"]),
  row("e2e", ["deployIntegration"], { needs: ["build-wheel", "build-ipxe"] }),
  row("e2e", ["deployQuadletIntegration"], { needs: ["build-wheel", "build-ipxe"] }),
  row("build", ["buildWheel"]),
  row("build", ["docs"]),
  row("build", ["buildIpxe"]),
  row("build", ["buildNetbootPc"]),
  row("build", ["buildRambootInit"]),
  row("build", ["buildUsbbootPc"]),
  row("build", ["buildUsbbootRpi"]),
  ...FIRMWARES.map(pxe),
  usb("testUsbGrow"),
  usb("testUsbVentoy"),
];

/** The names of every row, in report order. */
export const ALL_CHECKS: readonly string[] = CHECK_ROWS.map((r) => r.name);
