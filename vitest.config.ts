import { fileURLToPath } from "node:url";

import { defineConfig } from "vitest/config";

// Tests import the published SDK (installed as `dagger-sdk`); the engine's
// runtime maps the same import to its generated ./sdk instead.
const sdk = fileURLToPath(new URL("./node_modules/dagger-sdk/dist/src/index.js", import.meta.url));

export default defineConfig({
  resolve: { alias: { "@dagger.io/dagger": sdk } },
  test: {
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { extends: true, test: { name: "module", include: ["test/module/**/*.test.ts"], testTimeout: 60_000 } },
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
