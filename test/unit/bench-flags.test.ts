import { describe, expect, it } from "vitest";

import { choiceFlag } from "../../bench/flags.js";

describe("choiceFlag (npm run bench -- --media[=…] / --engine[=…])", () => {
  const choices = ["netboot-pc", "pxe", "all-checks"] as const;

  it("absent: nothing; bare: every choice in order; with a list: those, in the order given", () => {
    expect(choiceFlag(["--skip-ipxe"], "engine", choices)).toEqual([]);
    expect(choiceFlag(["--engine"], "engine", choices)).toEqual(["netboot-pc", "pxe", "all-checks"]);
    expect(choiceFlag(["--engine=pxe,netboot-pc"], "engine", choices)).toEqual(["pxe", "netboot-pc"]);
  });

  it("refuses an unknown choice, naming it and the valid ones", () => {
    expect(() => choiceFlag(["--engine=pxe,usb"], "engine", choices)).toThrow("--engine: unknown usb; use netboot-pc, pxe, all-checks");
  });

  it("does not take another flag that starts with the same word", () => {
    expect(choiceFlag(["--engineer"], "engine", choices)).toEqual([]);
  });
});
