/**
 * A run as a Mermaid gantt chart (pure): one bar per job, grouped as checks,
 * builds and end-to-end tests, failures marked `crit`. GitHub renders a
 * `mermaid` fence in a job summary, so a maintainer sees at a glance what ran
 * in parallel, what waited for what and where the time went.
 *
 * all-checks starts every job at once; an end-to-end test spends its first
 * part waiting for the builds it boots (the rows' needs, checks/plan.ts). Its bar starts when
 * the last of those ended (Mermaid's `after`), so the chart shows the wait as
 * the gap it is. (Mermaid 12 draws a numeric start other than 0 at 0 under
 * `dateFormat X`; `after` it draws where it belongs.)
 */
import { CHECKS, E2E } from "./triggers.js";
import type { JobReport } from "../checks/report.js";

/** One bar of the chart, in seconds after the run started. */
export interface GanttBar {
  label: string;
  section: string;
  failed: boolean;
  from: number;
  to: number;
  /** The jobs whose end `from` is (an end-to-end test's builds); empty: `from` is its own start. */
  after: string[];
}

const SECTIONS = { check: "checks", build: "builds", e2e: "end-to-end tests" } as const;
const PLANNED = new Map([...CHECKS, ...E2E].map((c) => [c.name, c]));

/** The bars of a run whose jobs all carry a start time; undefined otherwise (publish's steps). */
export function ganttBars(jobs: readonly JobReport[]): GanttBar[] | undefined {
  if (jobs.length === 0 || jobs.some((j) => j.start === undefined)) return undefined;
  const end = (j: JobReport) => j.start! + j.seconds;
  const byName = new Map(jobs.map((j) => [j.name, j]));
  return jobs.map((j) => {
    const planned = PLANNED.get(j.name);
    const needs = (planned?.needs ?? []).flatMap((n) => byName.get(n) ?? []);
    const waited = Math.max(j.start!, ...needs.map(end));
    // A test whose build failed early ends before the others: then its bar is its own run.
    const after = needs.length > 0 && waited > j.start! && waited <= end(j) ? needs.map((n) => n.name) : [];
    const from = after.length ? waited : j.start!;
    return { label: j.name, section: planned ? SECTIONS[planned.kind as keyof typeof SECTIONS] : "other", failed: j.status === "failed", from, to: end(j), after };
  });
}

/** Text a gantt task line can carry: no `:` (it ends the label), `#` or `;`. */
function label(text: string): string {
  return text.replace(/[:#;]/g, " ").replace(/\s+/g, " ").trim();
}

/** Whole seconds, rounded outward so a bar is never empty. */
const seconds = (from: number, to: number) => [Math.floor(from), Math.max(Math.ceil(to), Math.floor(from) + 1)] as const;

/**
 * The chart's Mermaid source: `dateFormat X` (seconds), the axis in
 * minutes:seconds, a section per kind in first-seen order, each label with
 * its duration, a waiting bar `after` what it waited for.
 */
export function mermaidGantt(title: string, bars: readonly GanttBar[]): string {
  const out = ["gantt", `  title ${label(title)}`, "  dateFormat X", "  axisFormat %M:%S"];
  const sections = [...new Set(bars.map((b) => b.section))];
  const ordered = sections.flatMap((section) => bars.filter((b) => b.section === section));
  const ids = new Map(ordered.map((b, i) => [b.label, `job${i + 1}`]));
  for (const section of sections) {
    out.push(`  section ${section}`);
    for (const b of ordered.filter((x) => x.section === section)) {
      const [from, to] = seconds(b.from, b.to);
      const start = b.after.length ? `after ${b.after.map((n) => ids.get(n)).join(" ")}` : String(from);
      out.push(`  ${label(b.label)} (${Math.round(b.to - b.from)} s) :${b.failed ? "crit" : "done"}, ${ids.get(b.label)}, ${start}, ${to}`);
    }
  }
  return out.join("\n");
}
