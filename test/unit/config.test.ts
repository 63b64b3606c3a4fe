/** The pinned inputs of src/config.ts, held to bty's workflow and the design (literals). */
import { describe, expect, it } from "vitest";

import { SOURCE_IGNORE } from "../../src/config.js";

describe("config", () => {
  it("keeps VCS data, environments, caches and build output out of the uploaded source", () => {
    expect(SOURCE_IGNORE).toEqual([
      ".git",
      ".venv",
      "**/__pycache__",
      "**/.pytest_cache",
      "**/.mypy_cache",
      "**/.ruff_cache",
      "dist",
      "build",
      "docs/_build",
      "cijoe/_build",
      "cijoe/cijoe-output",
      "cijoe/cijoe-archive",
      "bty-media/live-build/cache",
      "node_modules",
      // bty-ci installed as a toolchain of bty's repository (test/engine/smoke.sh).
      "dagger.json",
      ".dagger",
      ".bty-ci",
    ]);
  });
});
