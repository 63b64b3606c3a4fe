import { it } from "vitest";

import { probeScratch } from "./probe.js";

it("makes scratch and passes", probeScratch);
