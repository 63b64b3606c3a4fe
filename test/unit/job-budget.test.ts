/** The drop-in's job timeouts as sums of measured call times: literals worked by hand. */
import { describe, expect, it } from "vitest";

import { CALL_BUDGETS, STEP_BUDGETS, timeoutMinutes } from "../../src/pipeline/job-budget.js";

describe("timeoutMinutes", () => {
  it("adds setup (180 s), each call with its CLI start (90 s), artifact steps (120 s), freeing the disk (300 s) and arm64 emulation (90 s), ×1.5, up to a whole minute", () => {
    // (180 + 12 + 90 + 120) × 1.5 = 603 s = 10.05 min → 11
    expect(timeoutMinutes({ calls: ["publish-pypi"], artifactSteps: 1, freesDisk: false, emulatesArm64: false })).toBe(11);
    // (180 + 300) × 1.5 = 720 s = 12 min exactly
    expect(timeoutMinutes({ calls: [], artifactSteps: 0, freesDisk: true, emulatesArm64: false })).toBe(12);
    // (180 + 2 × (1800 + 90) + 3 × 120) × 1.5 = 6480 s = 108 min exactly
    expect(timeoutMinutes({ calls: ["publish-docker", "publish-tftp"], artifactSteps: 3, freesDisk: false, emulatesArm64: false })).toBe(108);
    // 180 × 1.5 = 270 s = 4.5 min → 5; (180 + 2 × (7 + 90)) × 1.5 = 561 s = 9.35 min → 10
    expect(timeoutMinutes({ calls: [], artifactSteps: 0, freesDisk: false, emulatesArm64: false })).toBe(5);
    expect(timeoutMinutes({ calls: ["tag-release", "check-not-published"], artifactSteps: 0, freesDisk: false, emulatesArm64: false })).toBe(10);
    // (180 + 300 + 90) × 1.5 = 855 s = 14.25 min → 15
    expect(timeoutMinutes({ calls: [], artifactSteps: 0, freesDisk: true, emulatesArm64: true })).toBe(15);
  });

  it("gives every budget a basis, and says which are estimates", () => {
    for (const b of [...Object.values(CALL_BUDGETS), ...Object.values(STEP_BUDGETS)]) expect(b.basis).not.toBe("");
    expect(CALL_BUDGETS["publish-docker"].basis).toMatch(/^not measured on a real engine/);
    for (const b of Object.values(STEP_BUDGETS)) expect(b.basis).toMatch(/^estimate: /);
  });
});
