import { writeFileSync } from "node:fs";

import { scratch } from "../host.js";

/** Make a scratch directory and tell the running test where (SCRATCH_PROBE names the file). */
export function probeScratch(): void {
  writeFileSync(process.env.SCRATCH_PROBE!, scratch("probe"));
}
