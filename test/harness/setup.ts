/**
 * Setup of the module project (vitest.config.ts): after every test, no
 * recording engine may hold a query the real engine would have refused. The
 * SDK raises on such a query, but a caller can catch that (allChecks turns
 * every failure into a table row); this makes the test fail regardless.
 */
import { afterEach } from "vitest";

import { runningEngines } from "./engine.js";

afterEach(() => {
  const refused = runningEngines().flatMap((engine) => engine.takeRejected());
  if (refused.length === 0) return;
  const lines = refused.map((r) => `${r.errors.map((e) => e.message).join("; ")}\n  in: ${r.query.trim()}`);
  throw new Error(`the engine would refuse ${refused.length} quer${refused.length === 1 ? "y" : "ies"} sent by this test:\n${lines.join("\n")}`);
});
