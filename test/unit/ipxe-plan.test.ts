/** The pure part of build-ipxe: naming, input validation, the shared step list. */
import { describe, expect, it } from "vitest";

import { checkIpxeInputs, ipxeArtifactName, ipxeSteps } from "../../src/ipxe/plan.js";

const all = { mediaDir: true, embed: true, generalH: true };

describe("ipxeArtifactName", () => {
  it("follows bty's release naming", () => {
    expect(ipxeArtifactName("0.77.2")).toBe("bty-ipxe-x86_64-v0.77.2.efi");
    expect(ipxeArtifactName("1.0.0rc1")).toBe("bty-ipxe-x86_64-v1.0.0rc1.efi");
  });
});

describe("checkIpxeInputs", () => {
  it("accepts a complete checkout, with or without an override tree", () => {
    expect(() => checkIpxeInputs(all)).not.toThrow();
    expect(() => checkIpxeInputs({ ...all, ipxeMakefile: true })).not.toThrow();
  });

  it("names --source when bty-media/ is absent (before the files inside it)", () => {
    // The name the engine's output shows.
    expect(() => checkIpxeInputs({ mediaDir: false, embed: false, generalH: false })).toThrow(expect.objectContaining({ name: "IpxeInputError" }));
    expect(() => checkIpxeInputs({ mediaDir: false, embed: false, generalH: false })).toThrow(
      "no bty-media/ in the source directory: the iPXE build takes bty's embed script and general.h from there; " +
        "pass a bty checkout with `--source <path-to-bty>`",
    );
  });

  it("names the missing embed script, then the missing general.h", () => {
    expect(() => checkIpxeInputs({ ...all, embed: false, generalH: false })).toThrow(
      /^bty-media\/auxiliary\/ipxe-embed\.ipxe is missing from the source directory: .*--source <path-to-bty>`$/,
    );
    expect(() => checkIpxeInputs({ ...all, generalH: false })).toThrow(
      /^bty-media\/auxiliary\/ipxe-local-general\.h is missing from the source directory/,
    );
  });

  it("asks for the iPXE tree root when the override has no src/Makefile", () => {
    expect(() => checkIpxeInputs({ ...all, ipxeMakefile: false })).toThrow(
      "--ipxe-source has no src/Makefile: pass the iPXE source tree root (containing src/Makefile)",
    );
  });

  it("checks bty's files before the override", () => {
    expect(() => checkIpxeInputs({ ...all, embed: false, ipxeMakefile: false })).toThrow(/ipxe-embed\.ipxe is missing/);
  });
});

describe("ipxeSteps", () => {
  const layout = { ciDir: "/c", python: "/py", checkout: "/bty", ipxeTree: "/t", outDir: "/o", buildLog: "/l" };
  const settings = { target: "bin-x86_64-efi/ipxe.efi", makeJobs: 3, buildTimeoutSeconds: 60, minBytes: 10, maxBytes: 20 };

  it("builds, verifies and writes the sidecar, in that order, from the layout given", () => {
    expect(ipxeSteps(layout, settings, "1.2.3")).toEqual([
      {
        label: "build iPXE",
        argv: [
          "bash", "/c/ipxe-build.sh", "--ipxe-tree", "/t",
          "--embed", "/bty/bty-media/auxiliary/ipxe-embed.ipxe",
          "--general-h", "/bty/bty-media/auxiliary/ipxe-local-general.h",
          "--target", "bin-x86_64-efi/ipxe.efi", "--jobs", "3", "--timeout", "60", "--log", "/l",
          "--output", "/o/bty-ipxe-x86_64-v1.2.3.efi",
        ],
      },
      {
        label: "verify iPXE",
        argv: [
          "/py", "/c/ipxe-verify.py", "--embed", "/bty/bty-media/auxiliary/ipxe-embed.ipxe",
          "--min-bytes", "10", "--max-bytes", "20", "/o/bty-ipxe-x86_64-v1.2.3.efi",
        ],
      },
      {
        label: "checksum",
        argv: ["sh", "-c", 'cd "$1" && sha256sum -- "$2" > "$2.sha256"', "sh", "/o", "bty-ipxe-x86_64-v1.2.3.efi"],
      },
    ]);
  });
});
