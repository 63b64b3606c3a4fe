import { describe, expect, it } from "vitest";

import { checkName, cliName } from "../../src/checks/plan.js";

// Each pair is what strcase.ToKebab of iancoleman/strcase v0.3.0 (the
// version Dagger v0.21.8's go.mod requires; core/modtree.go CliCase applies
// it to every path segment) returned for the input, run with Go.
const STRCASE_V0_3_0 = [
  ["py311", "py-311"],
  ["py314", "py-314"],
  ["test", "test"],
  ["lint", "lint"],
  ["typecheck", "typecheck"],
  ["flashIntegration", "flash-integration"],
  ["buildWheel", "build-wheel"],
  ["allChecks", "all-checks"],
  ["buildIpxe", "build-ipxe"],
  ["buildNetbootPc", "build-netboot-pc"],
  ["testPxe", "test-pxe"],
  ["e2eQemu", "e-2-e-qemu"],
  ["py3_11", "py-3-11"],
  ["py3_14rc", "py-3-14-rc"],
  ["uefiHTTPBoot", "uefi-http-boot"],
  ["JSONData", "json-data"],
  ["HTTPServer2", "http-server-2"],
  ["PyPI", "py-pi"],
  ["x86_64", "x-86-64"],
  ["sha256Sums", "sha-256-sums"],
  ["v2Release", "v-2-release"],
  ["mediaISO", "media-iso"],
  ["iso9660Image", "iso-9660-image"],
  ["a1b2", "a-1-b-2"],
  ["abC1", "ab-c-1"],
  ["1py", "1-py"],
  ["9A", "9-a"],
  ["Ab", "ab"],
  ["aB", "a-b"],
  ["A", "a"],
  ["ABC", "abc"],
  ["", ""],
  [" padded ", "padded"],
  ["with.dot", "with-dot"],
  ["with space", "with-space"],
  ["snake_case", "snake-case"],
  ["already-kebab", "already-kebab"],
  // The last letters of the alphabet ("Z", "z") are letters too.
  ["fooZbar", "foo-zbar"],
  ["quiz2", "quiz-2"],
  ["zipZ9", "zip-z-9"],
] as const;

describe("cliName mirrors Dagger's strcase.ToKebab", () => {
  it.each(STRCASE_V0_3_0)("%j → %j", (name, cli) => {
    expect(cliName(name)).toBe(cli);
  });
});

describe("checkName", () => {
  it("joins CLI-case segments with ':' as `dagger check -l` prints them", () => {
    expect(checkName("test", "py311")).toBe("test:py-311");
    expect(checkName("flashIntegration")).toBe("flash-integration");
    expect(checkName("btyCi", "test", "py314")).toBe("bty-ci:test:py-314");
  });

  it("refuses an empty path", () => {
    expect(() => checkName()).toThrow(/at least one path segment/);
  });
});
