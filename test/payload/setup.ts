/**
 * Setup of the payload project (vitest.config.ts), run before each test file.
 *
 * A payload file's scratch directories (host.ts `scratch`) hold checkouts,
 * VM disks and a whole live-build tree: gigabytes per run. After the file's
 * own afterAll hooks (vitest runs `after` hooks in reverse order, so this one
 * last) they are removed if every test and hook of the file passed; after a
 * failure they stay for inspection and their paths are printed, as they are
 * with BTY_CI_KEEP_SCRATCH=1.
 */
import { afterAll } from "vitest";

import { anyFailed, clearScratch, scratchMade } from "./host.js";

// The first argument is the (fixture) context, which vitest wants destructured.
afterAll(({}, file) => {
  const made = scratchMade();
  if (made.length === 0) return;
  const keep = process.env.BTY_CI_KEEP_SCRATCH === "1" ? "BTY_CI_KEEP_SCRATCH=1" : anyFailed(file) ? "a test or hook failed" : undefined;
  if (keep !== undefined) {
    console.log(`scratch kept (${keep}):\n${made.map((d) => `  ${d}`).join("\n")}`);
    return;
  }
  const kept = clearScratch();
  if (kept.length > 0) console.log(`scratch not removed:\n${kept.map((k) => `  ${k.dir}: ${k.why}`).join("\n")}`);
});
