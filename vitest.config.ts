import { fileURLToPath } from "node:url";

import { defineConfig } from "vitest/config";

// Tests import the published SDK (installed as `dagger-sdk`); the engine's
// runtime maps the same import to its generated ./sdk instead.
const sdk = (path: string) => fileURLToPath(new URL(`./node_modules/dagger-sdk/dist/src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@dagger\.io\/dagger$/, replacement: sdk("index.js") },
      { find: /^@dagger\.io\/dagger\/telemetry$/, replacement: sdk("telemetry/index.js") },
    ],
  },
  test: {
    server: {
      deps: {
        // GitHub's workflow parser imports its schema JSON without an import
        // attribute, which Node refuses; vite's transform handles it.
        inline: ["@actions/workflow-parser"],
      },
    },
    projects: [
      // unit and module: the test files of a worker share one process and module
      // graph (isolate: false; docs/decisions.md D43). A fresh process per file
      // paid vitest's start, the SDK's import and (module) the SDK's scan of
      // src/ for each file: 75-95 s wall for both tiers on the busy 2-core
      // machine, 19-28 s shared. Spies are restored before every test so none
      // reaches the next file; setup.ts fails a module file that leaves an
      // engine running or the SDK's session variables changed.
      {
        extends: true,
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], isolate: false, restoreMocks: true },
      },
      {
        extends: true,
        test: {
          name: "module",
          include: ["test/module/**/*.test.ts"],
          setupFiles: ["test/harness/setup.ts"],
          isolate: false,
          restoreMocks: true,
          // A module test takes under 2 s on a contended 2-core machine (all-checks
          // the longest). The SDK's scan of the module, up to about 7 s there, runs
          // once per worker, in the beforeAll of useRecordingEngine (or at a file's
          // collection) of the first file that needs it. The limits flag a hang
          // without flaking.
          testTimeout: 10_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "payload",
          include: ["test/payload/**/*.test.ts"],
          setupFiles: ["test/payload/setup.ts"],
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
          // Payload tests share apt, loop devices and one bty checkout: run them in order.
          fileParallelism: false,
          // Last, after the engine tier (D51). Vitest would run a one-worker
          // project left at the default order last anyway; said here.
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: "engine",
          include: ["test/engine/**/*.test.ts"],
          // The real engine's setup (cold: Go builds, three mmdebstraps) and
          // each CLI call's module load are minutes, not seconds.
          testTimeout: 45 * 60_000,
          hookTimeout: 60 * 60_000,
          // After unit and module, before payload, alone: the engine's Go
          // builds and containers would otherwise share the two cores with
          // the payload tier's QEMU runs, whose time budgets assume a machine
          // of their own; first, a broken engine shows in 20 minutes, not 65 (D51).
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
