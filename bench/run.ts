/**
 * Measured numbers for the README and issue notes (never asserted in tests):
 *   1. wall time of the unit + module tiers;
 *   2. payload wall time of bty's test matrix, cold caches vs warm caches,
 *      on every matrix Python this machine has.
 * Usage: npm run bench [-- --skip-matrix]
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

import { PYTHON_MATRIX, type PythonLeg } from "../src/config.js";
import { testSteps } from "../src/steps.js";
import { btyCheckout, hostEnv, hostLayout, hostPython, REPO, runHostSteps, scratch } from "../test/payload/host.js";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function timeFastTiers(): number {
  const start = performance.now();
  const r = spawnSync("npx", ["vitest", "run", "--project", "unit", "--project", "module"], {
    cwd: REPO,
    stdio: "ignore",
  });
  if (r.status !== 0) throw new Error("unit/module tiers failed; run `npm run test:fast`");
  return performance.now() - start;
}

/** One pass over every available leg with the given cache root; returns ms per leg. */
async function matrixPass(cacheRoot: string, legs: [PythonLeg, string][]): Promise<Map<PythonLeg, number>> {
  const env = hostEnv({ UV_CACHE_DIR: join(cacheRoot, "uv-cache") });
  const times = new Map<PythonLeg, number>();
  for (const [leg, python] of legs) {
    const start = performance.now();
    await runHostSteps(testSteps(hostLayout(python)), btyCheckout(), { env, logName: `bench-${leg}` });
    times.set(leg, performance.now() - start);
  }
  return times;
}

async function main() {
  console.log(`unit + module tiers: ${seconds(timeFastTiers())}`);
  if (process.argv.includes("--skip-matrix")) return;

  const legs = (Object.keys(PYTHON_MATRIX) as PythonLeg[])
    .map((leg) => [leg, hostPython(leg)] as const)
    .filter((pair): pair is [PythonLeg, string] => pair[1] !== undefined);
  const missing = Object.keys(PYTHON_MATRIX).filter((leg) => !legs.some(([l]) => l === leg));
  const cacheRoot = scratch("bench-cache");
  const cold = await matrixPass(cacheRoot, legs);
  const warm = await matrixPass(cacheRoot, legs);

  console.log("\nbty test matrix payload (uv sync + ruff + format check + pytest), fresh checkout each leg:");
  console.log("leg     cold       warm");
  for (const [leg] of legs) {
    console.log(`${leg.padEnd(6)}  ${seconds(cold.get(leg)!).padEnd(9)}  ${seconds(warm.get(leg)!)}`);
  }
  const total = (m: Map<PythonLeg, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  console.log(`total   ${seconds(total(cold)).padEnd(9)}  ${seconds(total(warm))}`);
  if (missing.length) console.log(`(no interpreter here for: ${missing.join(", ")})`);
}

await main();
