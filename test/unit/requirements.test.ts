/** The heavy tiers' rule for a missing prerequisite: what .ci/run installs fails the suite, naming it. */
import { describe, expect, it } from "vitest";

import { assertInstalled, NotInstalled } from "../harness/requirements.js";

describe("assertInstalled", () => {
  it("passes when nothing is missing, and fails naming what is and who installs it", () => {
    expect(() => assertInstalled(undefined)).not.toThrow();
    expect(() => assertInstalled("a PXE boot needs dnsmasq")).toThrow(
      new NotInstalled("a PXE boot needs dnsmasq"),
    );
    expect(() => assertInstalled("needs root")).toThrow("needs root: .ci/run installs it (run this tier through it, as root)");
  });
});
