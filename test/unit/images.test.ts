import { describe, expect, it } from "vitest";

import { DEBIAN_SUITE, PYTHON_IMAGE, PYTHON_MATRIX } from "../../src/config.js";
import { pythonImageRef } from "../../src/images.js";

describe("pythonImageRef", () => {
  it("pins every matrix leg to an exact patch release of the Debian suite apt caches are keyed by", () => {
    // bty's workflow runs its Python jobs on the official slim-bookworm images.
    expect(PYTHON_IMAGE).toBe("python:{version}-slim-bookworm");
    expect(DEBIAN_SUITE).toBe("bookworm");
    // The versions themselves are checked against the official images' list (image-pins.test.ts).
    for (const version of Object.values(PYTHON_MATRIX)) {
      expect(version).toMatch(/^3\.1[1-4]\.\d+$/);
      expect(pythonImageRef(PYTHON_IMAGE, version)).toBe(`python:${version}-slim-bookworm`);
    }
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
