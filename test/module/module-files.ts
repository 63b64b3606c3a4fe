/** Every .ts file under src/: what the module runtime loads and scans. */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const SRC = resolve(import.meta.dirname, "../../src");

export const MODULE_FILES = readdirSync(SRC, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => join(SRC, f))
  .sort();

/** True in a StrykerJS run, whose sandbox holds mutant-instrumented sources. */
export const INSTRUMENTED = MODULE_FILES.some((f) => readFileSync(f, "utf8").includes("stryMutAct_"));
