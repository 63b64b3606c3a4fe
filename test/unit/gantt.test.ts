/**
 * The run report's gantt chart (src/pipeline/gantt.ts): bars, sections, the wait of an
 * end-to-end test for the builds it boots, and the Mermaid text. Times are
 * literals; the needs are bty's (test-pxe boots build-ipxe's and
 * build-netboot-pc's output, the USB tests build-usbboot-pc's).
 */
import { describe, expect, it } from "vitest";

import { ganttBars, mermaidGantt } from "../../src/pipeline/gantt.js";
import { type JobReport, toMarkdown } from "../../src/checks/report.js";

const job = (name: string, start: number | undefined, seconds: number, status: "passed" | "failed" = "passed"): JobReport => ({
  name, status, seconds, reason: "ok", artifacts: [], tail: [], ...(start === undefined ? {} : { start }),
});

describe("ganttBars", () => {
  it("a check runs from its start to its end; an e2e test from the end of the builds it boots", () => {
    const bars = ganttBars([
      job("lint", 0, 38),
      job("build-ipxe", 0, 105),
      job("build-netboot-pc", 0.2, 726),
      job("test-pxe:bios", 0, 900),
    ]);
    expect(bars).toEqual([
      { label: "lint", section: "checks", failed: false, from: 0, to: 38, after: [] },
      { label: "build-ipxe", section: "builds", failed: false, from: 0, to: 105, after: [] },
      { label: "build-netboot-pc", section: "builds", failed: false, from: 0.2, to: 726.2, after: [] },
      { label: "test-pxe:bios", section: "end-to-end tests", failed: false, from: 726.2, to: 900, after: ["build-ipxe", "build-netboot-pc"] },
    ]);
  });

  it("a test failing with its build ends there; a job bty-ci does not plan is 'other'", () => {
    const bars = ganttBars([job("build-usbboot-pc", 0, 300, "failed"), job("test-usb-grow", 0, 300.1, "failed"), job("gate", 0, 2)])!;
    expect(bars[1]).toEqual({ label: "test-usb-grow", section: "end-to-end tests", failed: true, from: 300, to: 300.1, after: ["build-usbboot-pc"] });
    // Failed before its build ended (the other build it needs failed first): its own run, no wait drawn.
    const early = ganttBars([job("build-ipxe", 0, 5, "failed"), job("build-netboot-pc", 0, 700), job("test-pxe:uefi", 0, 5.1, "failed")])!;
    expect(early[2]).toMatchObject({ from: 0, to: 5.1, after: [] });
    expect(bars[2]!.section).toBe("other");
    // Its build is not in the run: the test's own start.
    expect(ganttBars([job("test-usb-ventoy", 3, 10)])![0]!.from).toBe(3);
  });

  it("no chart without start times (publish's steps) or without jobs", () => {
    expect(ganttBars([job("gate", undefined, 2)])).toBeUndefined();
    expect(ganttBars([job("lint", 0, 1), job("gate", undefined, 2)])).toBeUndefined();
    expect(ganttBars([])).toBeUndefined();
  });
});

describe("mermaidGantt", () => {
  it("sections in first-seen order, whole seconds, labels without colons, failures crit", () => {
    const text = mermaidGantt("all-checks: 1 of 4 failed", [
      { label: "lint", section: "checks", failed: false, from: 0, to: 37.6, after: [] },
      { label: "build-usbboot-pc", section: "builds", failed: false, from: 0.4, to: 700.2, after: [] },
      { label: "test:py-311", section: "checks", failed: true, from: 0, to: 0.3, after: [] },
      { label: "test-usb-grow", section: "end-to-end tests", failed: false, from: 700.2, to: 950, after: ["build-usbboot-pc"] },
    ]);
    expect(text.split("\n")).toEqual([
      "gantt",
      "  title all-checks 1 of 4 failed",
      "  dateFormat X",
      "  axisFormat %M:%S",
      "  section checks",
      "  lint (38 s) :done, job1, 0, 38",
      "  test py-311 (0 s) :crit, job2, 0, 1",
      "  section builds",
      "  build-usbboot-pc (700 s) :done, job3, 0, 701",
      "  section end-to-end tests",
      "  test-usb-grow (250 s) :done, job4, after job3, 950",
    ]);
  });
});

describe("in the Markdown report", () => {
  it("follows the job table as a mermaid fence, only when the jobs carry start times", () => {
    const withTimes = toMarkdown({ title: "all-checks", ok: true, jobs: [job("lint", 0, 3)] });
    expect(withTimes).toContain("| lint | ✅ passed | 3.0 s | ok |\n\n```mermaid\ngantt\n  title all-checks\n");
    expect(withTimes).toContain("  lint (3 s) :done, job1, 0, 3\n```");
    expect(toMarkdown({ title: "publish v1", ok: true, jobs: [job("gate", undefined, 3)] })).not.toContain("mermaid");
  });
});
