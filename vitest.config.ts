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
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "module",
          include: ["test/module/**/*.test.ts"],
          setupFiles: ["test/harness/setup.ts"],
          // A module test takes under 2 s on a contended 2-core machine (all-checks
          // the longest); the SDK's scan of the module, up to about 7 s there, runs
          // once per file in beforeAll. The limits flag a hang without flaking.
          testTimeout: 10_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "payload",
          include: ["test/payload/**/*.test.ts"],
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
          // Payload tests share apt, loop devices and one bty checkout: run them in order.
          fileParallelism: false,
        },
      },
    ],
  },
});
