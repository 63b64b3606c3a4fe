/**
 * The vitest config StrykerJS runs (stryker.config.mjs): the unit and module
 * projects of vitest.config.ts, nothing else. The payload tier runs real
 * programs for minutes per test; it proves the ci/ programs, and would make
 * a mutation run take days.
 */
import { defineConfig } from "vitest/config";

import base from "./vitest.config.js";

const MUTATION_PROJECTS = ["unit", "module"];

// The test files of a run share one worker (isolate: false), so the SDK's
// scan of the module (seconds) is made once per run, not once per test file.
// vitest.config.ts sets the same for both projects (D43); it is stated here
// too so a mutation run keeps it whatever the base config says. Static
// mutants still take effect: vitest reuses a worker only for files queued in
// the same run and starts a fresh one (fresh module graph and globalThis) for
// every run, and StrykerJS makes one run per mutant, so module-level constants
// are evaluated with that run's mutant active.
const projects = (base.test?.projects ?? [])
  .filter((p) => typeof p === "object" && "test" in p && MUTATION_PROJECTS.includes(String(p.test?.name)))
  .map((p) => (typeof p === "object" && "test" in p ? { ...p, test: { ...p.test, isolate: false } } : p));

export default defineConfig({ ...base, test: { ...base.test, projects } });
