/**
 * Setup of the module project (vitest.config.ts), run before each test file.
 *
 * After every test, no recording engine may hold a query the real engine
 * would have refused. The SDK raises on such a query, but a caller can catch
 * that (allChecks turns every failure into a table row); this makes the test
 * fail regardless.
 *
 * The project's test files share one process and module graph per worker
 * (`isolate: false`), and the SDK's client takes its engine from
 * DAGGER_SESSION_PORT/TOKEN: after a file's own afterAll hooks (vitest runs
 * `after` hooks in reverse order, so this one last), no engine of the file may
 * still run and the session variables must be as the file found them, or
 * the next file would send its queries to this file's engine.
 */
import { afterAll, afterEach } from "vitest";

import { MODULE_FILES } from "../module/module-files.js";
import { runningEngines } from "./engine.js";

// The module's files, loaded before any test, as the runtime loads them
// before it invokes a function. invokeFunction imports them again (a cache
// hit); without this the first test to invoke would load them inside the test,
// and a mutation run would charge their module-level code (constants) to that
// one test instead of seeing it as static (vitest.mutation.config.ts).
await Promise.all(MODULE_FILES.map((f) => import(f)));

afterEach(() => {
  const refused = runningEngines().flatMap((engine) => engine.takeRejected());
  if (refused.length === 0) return;
  const lines = refused.map((r) => `${r.errors.map((e) => e.message).join("; ")}\n  in: ${r.query.trim()}`);
  throw new Error(`the engine would refuse ${refused.length} quer${refused.length === 1 ? "y" : "ies"} sent by this test:\n${lines.join("\n")}`);
});

const SESSION_VARIABLES = ["DAGGER_SESSION_PORT", "DAGGER_SESSION_TOKEN"] as const;
const atStart = SESSION_VARIABLES.map((name) => process.env[name]);

afterAll(async () => {
  const left = runningEngines();
  // Stopping restores the variables each engine found, newest first.
  for (const engine of left.reverse()) await engine.stop();
  const changed = SESSION_VARIABLES.filter((name, i) => process.env[name] !== atStart[i]);
  SESSION_VARIABLES.forEach((name, i) => {
    const value = atStart[i];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  });
  const problems = [
    ...(left.length ? [`${left.length} recording engine(s) still running (stop each in afterAll, as useRecordingEngine does)`] : []),
    ...(changed.length ? [`${changed.join(" and ")} changed and not restored`] : []),
  ];
  if (problems.length) throw new Error(`this file left state for the next file of its worker: ${problems.join("; ")}`);
});
