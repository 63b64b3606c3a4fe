/** Every .ts file under src/: what the module runtime loads and scans. */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

import { instrumented } from "../harness/scan.js";

const SRC = resolve(import.meta.dirname, "../../src");

export const MODULE_FILES = readdirSync(SRC, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => join(SRC, f))
  .sort();

/** True in a StrykerJS run, whose sandbox holds mutant-instrumented sources. */
export const INSTRUMENTED = instrumented(MODULE_FILES);
