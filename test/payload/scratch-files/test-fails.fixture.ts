import { it } from "vitest";

import { probeScratch } from "./probe.js";

it("makes scratch and fails", () => {
  probeScratch();
  throw new Error("deliberate test failure");
});
