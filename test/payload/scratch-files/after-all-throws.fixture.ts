import { afterAll, it } from "vitest";

import { probeScratch } from "./probe.js";

afterAll(() => {
  throw new Error("deliberate afterAll failure");
});

it("makes scratch and passes", probeScratch);
