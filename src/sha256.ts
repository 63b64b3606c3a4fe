/**
 * sha256 digests and `sha256sum` files (pure): the one grammar every reader
 * of a checksum in bty-ci uses (run report, release sidecars, report.json,
 * release.toml, pinned downloads).
 */
import { clip } from "./clip.js";

/** A sha256 digest as `sha256sum` writes it: 64 lowercase hex digits. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A line of `sha256sum` output: digest, then two spaces (text mode) or space-star (binary mode), then the name. */
const SUMS_LINE = /^([0-9a-f]{64}) [ *](.+)$/;

/** True for a digest as `sha256sum` writes it. */
export function isSha256(text: string): boolean {
  return SHA256_HEX.test(text);
}

/**
 * Parse `sha256sum` output, one `<hex>  <name>` or `<hex> *<name>` per line
 * (blank lines and CRLF endings allowed). `prefix` is the directory the sums
 * file sits in, so names become paths in the job's output.
 */
export function parseSha256Sums(text: string, prefix = ""): { name: string; sha256: string }[] {
  const base = prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix;
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const m = SUMS_LINE.exec(line);
      if (!m) throw new Error(`not a sha256sum line: "${clip(line, 80)}"`);
      return { name: `${base}${m[2]!}`, sha256: m[1]! };
    });
}
