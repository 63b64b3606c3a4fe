/**
 * Payload tier: the run report's gantt chart as a browser renders it.
 * all-checks' Markdown report for a run shaped like a real one (17 jobs,
 * durations measured on a real engine, one failure) goes through the
 * `mermaid` package (locked in package-lock.json) in Debian's headless
 * Chromium, the renderer GitHub's job summary also hands a `mermaid` fence
 * to. The SVG must have one bar per job, the failed one marked.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { type JobReport, toMarkdown } from "../../src/checks/report.js";
import { REPO, scratch } from "./host.js";

const MERMAID = join(REPO, "node_modules/mermaid/dist/mermaid.min.js");

/** A job of the run: start and duration in seconds. */
const job = (name: string, start: number, seconds: number, status: "passed" | "failed" = "passed"): JobReport => ({
  name, status, start, seconds, reason: status === "passed" ? "ok" : "`uv run --no-sync pytest` exited 1", artifacts: [], tail: [],
});

// Durations as the real engine measured them for bty 0.77.2 (README, D51); test:py-314 fails.
const JOBS = [
  job("lint", 0, 38), job("test:py-311", 0, 80), job("test:py-312", 0, 78), job("test:py-313", 0, 81), job("test:py-314", 0, 12, "failed"),
  job("typecheck", 0, 17), job("flash-integration", 0, 18), job("build-wheel", 0, 16), job("docs", 0, 79), job("build-ipxe", 0, 150),
  job("build-netboot-pc", 0, 726), job("build-ramboot-init", 0, 610), job("build-usbboot-pc", 0, 700),
  job("test-pxe:bios", 0, 1000), job("test-pxe:uefi", 0, 1050), job("test-usb-grow", 0, 950), job("test-usb-ventoy", 0, 1010),
];

/** The mermaid fence of all-checks' Markdown report for {@link JOBS}. */
function reportChart(): string {
  const md = toMarkdown({ title: "all-checks", ok: false, jobs: JOBS });
  const fence = /```mermaid\n([\s\S]*?)\n```/.exec(md);
  expect(fence, "the report has a mermaid fence").not.toBeNull();
  return fence![1]!;
}

/** Render `chart` in headless Chromium; returns the DOM after mermaid ran. */
function render(chart: string, screenshot?: string): string {
  const dir = scratch("gantt");
  const page = join(dir, "page.html");
  const escaped = chart.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  writeFileSync(
    page,
    `<!doctype html><html><body><pre class="mermaid">${escaped}</pre>
<script src="file://${MERMAID}"></script>
<script>
mermaid.initialize({ startOnLoad: false });
mermaid.run().then(() => document.body.setAttribute("data-rendered", "yes"), (e) => document.body.setAttribute("data-error", String(e)));
</script></body></html>`,
  );
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000", "--window-size=1400,900"];
  const argv = screenshot ? [...flags, `--screenshot=${screenshot}`, `file://${page}`] : [...flags, "--dump-dom", `file://${page}`];
  const r = spawnSync("chromium", argv, { encoding: "utf8", timeout: 120_000 });
  expect(r.status, r.stderr.slice(-2000)).toBe(0);
  return r.stdout;
}

describe("the run report's gantt chart in a browser", () => {
  it("renders one bar per job, the failed one as crit, in three sections", () => {
    const dom = render(reportChart());
    expect(dom).toContain('data-rendered="yes"');
    const rects = [...dom.matchAll(/<rect id="[^"]*-(job\d+)"[^>]* x="([\d.]+)"[^>]* width="([\d.]+)"[^>]*class="task ([a-z]+)\d+"/g)].map(
      (m) => ({ id: m[1]!, x: Number(m[2]), width: Number(m[3]), kind: m[4] }),
    );
    expect(rects).toHaveLength(JOBS.length);
    expect(rects.filter((r) => r.kind === "crit")).toHaveLength(1);
    expect(rects.filter((r) => r.kind === "done")).toHaveLength(JOBS.length - 1);
    // What waited for what: the PXE tests' bars start where build-netboot-pc's
    // ends (job11, the later of their builds), the USB tests' where build-usbboot-pc's does (job13).
    const bar = (id: string) => rects.find((r) => r.id === id)!;
    const end = (id: string) => bar(id).x + bar(id).width;
    for (const id of ["job14", "job15"]) expect(bar(id).x).toBeCloseTo(end("job11"), 0);
    for (const id of ["job16", "job17"]) expect(bar(id).x).toBeCloseTo(end("job13"), 0);
    expect(bar("job1").x).toBe(bar("job11").x);
    const sections = [...dom.matchAll(/class="sectionTitle sectionTitle\d+"><tspan[^>]*>([^<]+)</g)].map((m) => m[1]);
    expect(sections).toEqual(["checks", "builds", "end-to-end tests"]);
  });

  it("a chart mermaid cannot parse is reported, not rendered (so the check above can fail)", () => {
    const dom = render("gantt\n  dateFormat X\n  section checks\n  test:py-311 :done, job1, 0, 1");
    expect(dom).not.toContain('data-rendered="yes"');
  });
});
