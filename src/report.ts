/**
 * Running many checks at once and reporting on all of them: nothing stops at
 * the first failure, and the summary says what failed and why in one line.
 */

/** Outcome of one check. */
export interface CheckResult {
  name: string;
  ok: boolean;
  seconds: number;
  /** One line: "ok", or why it failed. */
  reason: string;
}

/** The fields of the SDK's ExecError that matter here (duck-typed so this file stays pure). */
interface ExecFailure {
  cmd: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

function isExecFailure(err: unknown): err is ExecFailure {
  return (
    typeof err === "object" &&
    err !== null &&
    Array.isArray((err as ExecFailure).cmd) &&
    typeof (err as ExecFailure).exitCode === "number"
  );
}

// Colour codes from tools run with --color=always.
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** `text` without terminal colour codes. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

function lastMeaningfulLine(text: string): string {
  const lines = stripAnsi(text).split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? "";
}

/** Shorten `text` to `max` characters on one line. */
export function clip(text: string, max = 100): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/**
 * One line saying why a check failed: for a failed command, the command, its
 * exit code and the last line it printed; otherwise the error's first line.
 */
export function oneLineReason(err: unknown): string {
  if (isExecFailure(err)) {
    const said = lastMeaningfulLine(err.stderr) || lastMeaningfulLine(err.stdout);
    const cmd = err.cmd.slice(0, 4).join(" ");
    return clip(`\`${cmd}\` exited ${err.exitCode}${said ? `: ${said}` : ""}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  return clip(stripAnsi(message).split("\n").find((l) => l.trim()) ?? "failed");
}

/** Wraps one check's run, e.g. in a trace span; must return what `run` returns. */
export type CheckWrapper = (name: string, run: () => Promise<unknown>) => Promise<unknown>;

/** Run every check concurrently; collect an outcome for each, in the given order. */
export async function runChecks(
  checks: Record<string, () => Promise<unknown>>,
  opts: { clock?: () => number; wrap?: CheckWrapper } = {},
): Promise<CheckResult[]> {
  const clock = opts.clock ?? (() => performance.now());
  const wrap = opts.wrap ?? ((_name, run) => run());
  return Promise.all(
    Object.entries(checks).map(async ([name, run]) => {
      const start = clock();
      try {
        await wrap(name, run);
        return { name, ok: true, seconds: (clock() - start) / 1000, reason: "ok" };
      } catch (err) {
        return { name, ok: false, seconds: (clock() - start) / 1000, reason: oneLineReason(err) };
      }
    }),
  );
}

/** Plain-text table: check, status, duration, reason. */
export function formatTable(results: CheckResult[]): string {
  const rows = results.map((r) => [r.name, r.ok ? "pass" : "FAIL", `${r.seconds.toFixed(1)}s`, r.reason]);
  const header = ["check", "status", "duration", "reason"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  const failed = results.filter((r) => !r.ok).length;
  const summary = failed
    ? `${failed} of ${results.length} checks failed`
    : `all ${results.length} checks passed`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), "", summary].join("\n");
}

/** Thrown by allChecks when any check failed; the message is the whole table. */
export class ChecksFailed extends Error {
  override name = "ChecksFailed";
  constructor(readonly results: CheckResult[]) {
    super(`\n${formatTable(results)}`);
  }
}

/** The table when everything passed; throws ChecksFailed otherwise. */
export function summarize(results: CheckResult[]): string {
  if (results.some((r) => !r.ok)) throw new ChecksFailed(results);
  return formatTable(results);
}
