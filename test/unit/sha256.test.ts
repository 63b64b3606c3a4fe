/** The one sha256sum grammar: the run report, release sidecars and pinned checksums all read it. */
import { describe, expect, it } from "vitest";

import { isSha256, parseSha256Sums } from "../../src/sha256.js";

const SHA_A = "a".repeat(64);
const SHA_B = "0123456789abcdef".repeat(4);

describe("parseSha256Sums", () => {
  it("reads sha256sum lines (text and binary mode) relative to the sums file's directory", () => {
    expect(parseSha256Sums(`${SHA_A}  a.whl\n${SHA_B} *b.tar.gz\n\n`, "dist")).toEqual([
      { name: "dist/a.whl", sha256: SHA_A },
      { name: "dist/b.tar.gz", sha256: SHA_B },
    ]);
    expect(parseSha256Sums(`${SHA_A}  x.iso`)).toEqual([{ name: "x.iso", sha256: SHA_A }]);
    expect(parseSha256Sums(`${SHA_A}  x.iso`, "out/")).toEqual([{ name: "out/x.iso", sha256: SHA_A }]);
    // A sums file written on Windows or indented in a log still reads.
    expect(parseSha256Sums(`${SHA_A}  x.iso\r\n  ${SHA_B}  y.iso\r\n`)).toEqual([
      { name: "x.iso", sha256: SHA_A },
      { name: "y.iso", sha256: SHA_B },
    ]);
  });

  it("rejects a line that is not sha256sum output, quoting it folded and shortened", () => {
    expect(() => parseSha256Sums("abc  x.iso")).toThrow('not a sha256sum line: "abc x.iso"');
    expect(() => parseSha256Sums(`0${SHA_A}  x.iso`)).toThrow(/^not a sha256sum line/);
    expect(() => parseSha256Sums(`${SHA_A} x.iso`)).toThrow(/^not a sha256sum line/);
    // sha256sum writes lowercase: upper case is something else's output.
    expect(() => parseSha256Sums(`${SHA_B.toUpperCase()}  x.iso`)).toThrow(/^not a sha256sum line/);
    const long = `${"x".repeat(100)}`;
    expect(() => parseSha256Sums(long)).toThrow(`not a sha256sum line: "${"x".repeat(79)}…"`);
    expect(() => parseSha256Sums("x".repeat(80))).toThrow(`not a sha256sum line: "${"x".repeat(80)}"`);
  });
});

describe("isSha256", () => {
  it("takes 64 lowercase hex digits and nothing else", () => {
    expect(isSha256(SHA_B)).toBe(true);
    expect(isSha256(SHA_B.toUpperCase())).toBe(false);
    expect(isSha256(SHA_B.slice(1))).toBe(false);
    expect(isSha256(`${SHA_B}0`)).toBe(false);
    expect(isSha256(`${SHA_B.slice(1)}g`)).toBe(false);
  });
});
