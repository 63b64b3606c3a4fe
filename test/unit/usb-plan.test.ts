import { describe, expect, it } from "vitest";

import { bundleDir, checkVentoySha256, timeoutArgs, usbGrowSteps, usbVentoySteps } from "../../src/usb/plan.js";

const layout = { ciDir: "/ci", work: "/w", iso: "/w/x.iso" };

describe("USB plan", () => {
  it("writes the debug bundle under the work directory", () => {
    expect(bundleDir(layout)).toBe("/w/vm");
  });

  it("turns budgets into --timeout pairs in order", () => {
    expect(timeoutArgs({ login: 180, ssh: 240 })).toEqual(["--timeout", "login=180", "--timeout", "ssh=240"]);
    expect(timeoutArgs({})).toEqual([]);
  });

  it("labels the steps and runs only loop-device steps under flash-env.sh", () => {
    expect(usbGrowSteps(layout).map((s) => [s.label, s.argv.slice(0, 2)])).toEqual([
      ["stage", ["bash", "/ci/usb/grow-stage.sh"]],
      ["boot and check (grow)", ["python3", "/ci/usb/usb-vm.py"]],
      ["assert grown", ["bash", "/ci/flash-env.sh"]],
    ]);
    expect(usbVentoySteps(layout, "/v").map((s) => [s.label, s.argv.slice(0, 4)])).toEqual([
      ["stage ventoy", ["bash", "/ci/flash-env.sh", "--", "bash"]],
      ["boot and check (ventoy)", ["python3", "/ci/usb/usb-vm.py", "--scenario", "ventoy"]],
    ]);
  });

  it("accepts a sha256 as sha256.txt prints it, normalized", () => {
    expect(checkVentoySha256(` ${"AB".repeat(32)}\n`)).toBe("ab".repeat(32));
  });

  it.each(["", "ab".repeat(31), "ab".repeat(33), `${"ab".repeat(31)}zz`, `sha256:${"ab".repeat(32)}`])(
    "rejects %j naming where the checksum comes from",
    (sha) => {
      expect(() => checkVentoySha256(sha)).toThrow(
        `is not a sha256: give the 64 hex digits listed for ventoy-1.1.05-linux.tar.gz in the release's sha256.txt`,
      );
    },
  );
});
