/**
 * The engine tier's setup ahead of the tests, for .ci/run:
 *
 *   tsx test/engine/prepare.ts packages   the engine's host packages (apt), in the foreground
 *   tsx test/engine/prepare.ts build      its Go builds, root file systems and images
 *
 * .ci/run runs `build` in the background at the lowest CPU priority while the
 * other tiers run: the Go builds (10 of the cold setup's ~18 minutes) take
 * the cycles the payload tier's single-threaded QEMU runs leave idle, and the
 * engine tier, once it starts, waits for this process (BTY_CI_ENGINE_PREPARER)
 * and reads its result from `<work>/logs/prepared.json` (checked to be this
 * process's: start it as `node --import tsx`, one process, so its PID is the
 * one .ci/run has). Without it the tier runs the same steps itself. Exit codes: 0 done (or the tier cannot run
 * here: nothing to prepare), 1 a step failed, 2 usage.
 */
import { rmSync, writeFileSync } from "node:fs";

import { BUILD_STEPS, ENGINE_SKIP, PACKAGES_STEP, PREPARED_STATUS, type PreparedStatus, runSetup, stopRunning } from "./harness.js";

const USAGE = "usage: node --import tsx test/engine/prepare.ts packages|build";

async function main(argv: string[]): Promise<number> {
  const [phase, ...rest] = argv;
  if (phase === "--help" || phase === "-h") {
    console.log(USAGE);
    return 0;
  }
  if ((phase !== "packages" && phase !== "build") || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  if (ENGINE_SKIP) {
    console.log(`engine tier skipped (${ENGINE_SKIP}): nothing to prepare`);
    return 0;
  }
  if (phase === "packages") {
    try {
      await runSetup([PACKAGES_STEP]);
      return 0;
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
  }
  rmSync(PREPARED_STATUS, { force: true });
  const start = performance.now();
  const record = (status: Omit<PreparedStatus, "pid" | "seconds">) =>
    writeFileSync(PREPARED_STATUS, JSON.stringify({ pid: process.pid, seconds: (performance.now() - start) / 1000, ...status }));
  // Stopped (.ci/run ending early): the running step's process group goes too.
  process.on("SIGTERM", () => {
    stopRunning();
    process.exit(143);
  });
  try {
    await runSetup(BUILD_STEPS);
    record({ ok: true });
    return 0;
  } catch (err) {
    record({ ok: false, error: (err as Error).message });
    console.error((err as Error).message);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
