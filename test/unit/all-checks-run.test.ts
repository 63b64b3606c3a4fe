/**
 * all-checks' rows bound to their functions (checks/dagger.ts runAllChecks):
 * the facade must bind exactly the rows of checks/plan.ts, and the report
 * lists them in that order whatever order they finish in.
 */
import { describe, expect, it } from "vitest";

import { runAllChecks } from "../../src/checks/dagger.js";

/** The rows as bty's workflow names its jobs, in report order. */
const ROWS = [
  "lint", "test:py-311", "test:py-312", "test:py-313", "test:py-314", "typecheck", "flash-integration", "deploy-integration",
  "deploy-quadlet-integration", "build-wheel", "docs", "build-ipxe", "build-netboot-pc", "build-ramboot-init", "build-usbboot-pc", "build-usbboot-rpi",
  "test-pxe:bios", "test-pxe:uefi", "test-usb-grow", "test-usb-ventoy",
];
const CHECKOUT = { version: "0.77.2", line: "checkout: the workspace (bty 0.77.2)" };

describe("runAllChecks", () => {
  it("runs every row and reports them in row order, with the checkout", async () => {
    // Bound in reverse, the first row finishing last: the order is the rows', not the binding's or the clock's.
    const bound = Object.fromEntries(
      [...ROWS].reverse().map((name) => [name, () => new Promise((done) => setTimeout(() => done(name), name === "lint" ? 20 : 0))]),
    );
    const failing = { ...bound, docs: () => Promise.reject(new Error("sphinx exited 2")) };
    const { results, report } = await runAllChecks(failing, CHECKOUT);
    expect(results.map((r) => r.name)).toEqual(ROWS);
    expect(report.jobs.map((j) => j.name)).toEqual(ROWS);
    expect(report.jobs.filter((j) => j.status === "failed").map((j) => j.name)).toEqual(["docs"]);
    expect(report).toMatchObject({ title: "all-checks", ok: false, version: "0.77.2", checkout: CHECKOUT.line });
  });

  it("refuses bindings that miss a row or name one there is not, before running any", async () => {
    let ran = 0;
    const bound = Object.fromEntries(ROWS.map((name) => [name, async () => void ran++]));
    const { "test-usb-ventoy": _, ...missing } = bound;
    await expect(runAllChecks({ ...missing, "test-usb-grew": bound.lint! }, CHECKOUT)).rejects.toThrow(
      "all-checks rows and functions disagree: unbound test-usb-ventoy; unknown test-usb-grew",
    );
    await expect(runAllChecks(missing, CHECKOUT)).rejects.toThrow("unbound test-usb-ventoy; unknown none");
    await expect(runAllChecks({ ...bound, extra: bound.lint! }, CHECKOUT)).rejects.toThrow("unbound none; unknown extra");
    const { lint: __, ...twoMissing } = missing;
    await expect(runAllChecks({ ...twoMissing, x: bound.lint!, y: bound.lint! }, CHECKOUT)).rejects.toThrow(
      "unbound lint, test-usb-ventoy; unknown x, y",
    );
    expect(ran).toBe(0);
  });
});
