/**
 * The vitest config StrykerJS runs (stryker.config.mjs): the unit and module
 * projects of vitest.config.ts, nothing else. The payload tier runs real
 * programs for minutes per test; it proves the ci/ programs, and would make
 * a mutation run take days.
 */
import { defineConfig } from "vitest/config";

import base from "./vitest.config.js";

const MUTATION_PROJECTS = ["unit", "module"];

// Test files share one context per worker (isolate: false), so the SDK's scan
// of the module (seconds) is made once per worker, not once per mutant.
const projects = (base.test?.projects ?? [])
  .filter((p) => typeof p === "object" && "test" in p && MUTATION_PROJECTS.includes(String(p.test?.name)))
  .map((p) => (typeof p === "object" && "test" in p ? { ...p, test: { ...p.test, isolate: false } } : p));

export default defineConfig({ ...base, test: { ...base.test, projects } });
