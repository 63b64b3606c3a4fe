import { describe, expect, it } from "vitest";

import { DEBIAN_SUITE, PYTHON_IMAGE } from "../../src/config.js";
import { pythonImageRef } from "../../src/python/plan.js";

describe("pythonImageRef", () => {
  it("makes the official slim image of the Debian suite apt caches are keyed by", () => {
    // bty's workflow runs its Python jobs on the official slim-bookworm images;
    // the pinned versions are checked against that list in image-pins.test.ts.
    expect(PYTHON_IMAGE).toBe("python:{version}-slim-bookworm");
    expect(DEBIAN_SUITE).toBe("bookworm");
    expect(pythonImageRef(PYTHON_IMAGE, "3.12.14")).toBe("python:3.12.14-slim-bookworm");
  });

  it("substitutes a mirror template", () => {
    expect(pythonImageRef("registry.internal:5000/lib/python:{version}-slim", "3.12.11")).toBe(
      "registry.internal:5000/lib/python:3.12.11-slim",
    );
  });

  it("refuses a template without {version}, naming the fix", () => {
    expect(() => pythonImageRef("python:3.12", "3.11.13")).toThrow(/no \{version\} placeholder/);
  });
});
