/**
 * Setup of the payload project (vitest.config.ts), run before each test file.
 *
 * A payload file's scratch directories (host.ts `scratch`) hold checkouts,
 * VM disks and a whole live-build tree: gigabytes per run. Once the whole
 * file has run, its own afterAll hooks included (this aroundAll is the
 * outermost: registered first), they are removed if every test and hook
 * passed; after a failure they stay for inspection and their paths are
 * printed, as they are with BTY_CI_KEEP_SCRATCH=1.
 */
import { aroundAll } from "vitest";

import { anyFailed, clearScratch, scratchMade } from "./host.js";

// The second argument is the (fixture) context, which vitest wants destructured.
aroundAll(async (runFile, {}, file) => {
  let threw = true;
  try {
    await runFile();
    threw = false;
  } finally {
    const made = scratchMade();
    const keep = process.env.BTY_CI_KEEP_SCRATCH === "1" ? "BTY_CI_KEEP_SCRATCH=1" : threw || anyFailed(file) ? "a test or hook failed" : undefined;
    if (made.length > 0 && keep !== undefined) {
      console.log(`scratch kept (${keep}):\n${made.map((d) => `  ${d}`).join("\n")}`);
    } else if (made.length > 0) {
      const kept = clearScratch();
      if (kept.length > 0) console.log(`scratch not removed:\n${kept.map((k) => `  ${k.dir}: ${k.why}`).join("\n")}`);
    }
  }
});
