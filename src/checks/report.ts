/**
 * Running many checks at once and reporting on all of them: nothing stops at
 * the first failure, and the summary says what failed and why in one line.
 */
import { clip } from "../clip.js";
import { ganttBars, mermaidGantt } from "../pipeline/gantt.js";

/** Outcome of one check. */
export interface CheckResult {
  name: string;
  ok: boolean;
  seconds: number;
  /** When it started, in seconds after the run started (runChecks sets it). */
  start?: number;
  /** One line: "ok", or why it failed. */
  reason: string;
  /** The failure's last log lines (empty when it passed). */
  tail?: string[];
  /** What the check returned (a build's Directory), or its failure's debug bundle ({@link JobFailure}). */
  value?: unknown;
}

/**
 * A job's failure that left files to look at: an end-to-end test's debug
 * bundle (markers, serial log, server logs). all-checks-bundle exports it
 * under debug/<job>/ and the drop-in uploads it.
 */
export class JobFailure extends Error {
  override name = "JobFailure";
  constructor(
    message: string,
    readonly bundle: unknown,
  ) {
    super(message);
  }
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

/** The last line of `text` that is not blank, trimmed, colour codes removed ("" when none). */
export function lastMeaningfulLine(text: string): string {
  const lines = stripAnsi(text).split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.at(-1) ?? "";
}

/** How many log lines a failure keeps. */
export const TAIL_LINES = 40;

/**
 * The last lines a human needs to see why something failed: a failed
 * command's stdout then stderr (colour codes removed, trailing blank lines
 * dropped), otherwise the error message.
 */
export function failureTail(err: unknown, max = TAIL_LINES): string[] {
  const text = isExecFailure(err)
    ? [err.stdout, err.stderr].map((t) => stripAnsi(t).trimEnd()).filter(Boolean).join("\n")
    : stripAnsi(err instanceof Error ? err.message : String(err)).trim();
  return text.split("\n").slice(-max);
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
  const runStart = clock();
  return Promise.all(
    Object.entries(checks).map(async ([name, run]) => {
      const start = clock();
      const timing = () => ({ seconds: (clock() - start) / 1000, start: (start - runStart) / 1000 });
      try {
        const value = await wrap(name, run);
        return { name, ok: true, ...timing(), reason: "ok", tail: [], value };
      } catch (err) {
        const bundle = err instanceof JobFailure ? { value: err.bundle } : {};
        return { name, ok: false, ...timing(), reason: oneLineReason(err), tail: failureTail(err), ...bundle };
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

/** Thrown by allChecks when any check failed; the message is the whole report (the table by default). */
export class ChecksFailed extends Error {
  override name = "ChecksFailed";
  constructor(
    readonly results: CheckResult[],
    report: string = formatTable(results),
  ) {
    super(`\n${report}`);
  }

  /** One line naming the failed checks, e.g. "2 of 20 checks failed: build-ipxe, docs". */
  get summary(): string {
    const failed = this.results.filter((r) => !r.ok).map((r) => r.name);
    return `${failed.length} of ${this.results.length} checks failed: ${failed.join(", ")}`;
  }
}

/** The table when everything passed; throws ChecksFailed otherwise. */
export function summarize(results: CheckResult[]): string {
  if (results.some((r) => !r.ok)) throw new ChecksFailed(results);
  return formatTable(results);
}

// --- Run report: Markdown for $GITHUB_STEP_SUMMARY and JSON ---

/** One file a job produced. */
export interface Artifact {
  /** Path inside the job's output directory. */
  name: string;
  /** Bytes. */
  size: number;
  /** Hex SHA-256, as written in the job's SHA256SUMS / .sha256 files. */
  sha256: string;
}

/** One job of a run (a check, build, e2e test or release step). */
export interface JobReport {
  name: string;
  status: "passed" | "failed";
  seconds: number;
  /** When it started, in seconds after the run started (all-checks' jobs; absent for publish's steps). */
  start?: number;
  /** "ok", or why it failed, on one line. */
  reason: string;
  artifacts: Artifact[];
  /** The failure's last log lines. */
  tail: string[];
}

/** A whole run: what `allChecks` and `publish` report. */
export interface RunReport {
  /** What ran, e.g. "all-checks" or "publish v0.77.2". */
  title: string;
  /** bty-lab's [project] version the run checked (all-checks sets it; a writing job compares it). */
  version?: string;
  /** Which bty tree the run checked, one line (all-checks sets it; it leads the text and Markdown reports). */
  checkout?: string;
  ok: boolean;
  jobs: JobReport[];
}

/** The last line of a Markdown report when every job passed; the drop-in workflow looks for it. */
export const REPORT_PASSED_MARKER = "<!-- bty-ci-report: passed -->";
/** The last line of a Markdown report when a job failed. */
export const REPORT_FAILED_MARKER = "<!-- bty-ci-report: failed -->";

/** A run report from check results and the artifacts gathered per job name. */
export function toRunReport(
  title: string,
  results: CheckResult[],
  artifacts: Record<string, Artifact[]> = {},
): RunReport {
  const jobs = results.map(
    (r): JobReport => ({
      name: r.name,
      status: r.ok ? "passed" : "failed",
      seconds: Math.round(r.seconds * 10) / 10,
      ...(r.start === undefined ? {} : { start: Math.round(r.start * 10) / 10 }),
      reason: r.reason,
      artifacts: artifacts[r.name] ?? [],
      tail: r.ok ? [] : (r.tail ?? []),
    }),
  );
  return { title, ok: jobs.every((j) => j.status === "passed"), jobs };
}

/** Bytes in binary units, one decimal (e.g. "1.5 MiB"). */
export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? bytes : value.toFixed(1)} ${units[unit]}`;
}

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** A fence longer than any backtick run in `text`, so a log cannot close it. */
function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  return "`".repeat(Math.max(3, longest + 1));
}

/**
 * Markdown for a job summary: a result line, one table row per job, the
 * jobs as a gantt chart (when they carry start times), the artifacts with
 * sizes and digests, the last log lines of every failure, and
 * a last line the drop-in workflow checks ({@link REPORT_PASSED_MARKER}).
 */
export function toMarkdown(report: RunReport): string {
  const failed = report.jobs.filter((j) => j.status === "failed");
  const result = report.ok
    ? `**${report.title}: all ${report.jobs.length} passed**`
    : `**${report.title}: ${failed.length} of ${report.jobs.length} failed**`;
  const rows = report.jobs.map(
    (j) =>
      `| ${cell(j.name)} | ${j.status === "passed" ? "✅ passed" : "❌ failed"} | ${j.seconds.toFixed(1)} s | ${cell(j.reason)} |`,
  );
  const out = [...(report.checkout ? [report.checkout, ""] : []), result, "", "| job | status | duration | result |", "|---|---|---|---|", ...rows];
  const bars = ganttBars(report.jobs);
  if (bars) out.push("", "```mermaid", mermaidGantt(report.title, bars), "```");
  const withArtifacts = report.jobs.filter((j) => j.artifacts.length);
  if (withArtifacts.length) {
    out.push("", "| artifact | job | size | sha256 |", "|---|---|---|---|");
    for (const j of withArtifacts) {
      for (const a of j.artifacts) {
        out.push(`| \`${cell(a.name)}\` | ${cell(j.name)} | ${humanSize(a.size)} | \`${a.sha256}\` |`);
      }
    }
  }
  for (const j of failed) {
    const log = j.tail.join("\n");
    const fence = fenceFor(log);
    out.push("", `<details><summary>${j.name}: last ${j.tail.length} lines</summary>`, "", `${fence}text`, log, fence, "", "</details>");
  }
  out.push("", report.ok ? REPORT_PASSED_MARKER : REPORT_FAILED_MARKER);
  return out.join("\n");
}

/** The report as JSON (two-space indent). */
export function toJson(report: RunReport): string {
  return JSON.stringify(report, null, 2);
}

/** Output formats of a run report. */
export const REPORT_FORMATS = ["text", "markdown", "json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The report in `format`; "text" is the aligned table of {@link formatTable}. */
export function renderReport(report: RunReport, format: string): string {
  switch (format) {
    case "text": {
      const table = formatTable(report.jobs.map((j) => ({ name: j.name, ok: j.status === "passed", seconds: j.seconds, reason: j.reason })));
      return report.checkout ? `${report.checkout}\n${table}` : table;
    }
    case "markdown":
      return toMarkdown(report);
    case "json":
      return toJson(report);
    default:
      throw new Error(`unknown report format "${format}": use one of ${REPORT_FORMATS.join(", ")}`);
  }
}
