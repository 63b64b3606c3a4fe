// The payload project's scratch handling on its own (test/payload/scratch.test.ts
// runs these files in a vitest of their own, so their failures are theirs).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { root: import.meta.dirname, include: ["*.fixture.ts"], setupFiles: ["../setup.ts"] },
});
