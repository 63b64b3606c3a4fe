/**
 * Which bty tree a call works on: --source, else the caller's workspace when
 * it is bty, else bty at its pinned release; and where a release function's
 * commit comes from. Literals from bty's pyproject.toml and bty-ci's design.
 */
import { describe, expect, it } from "vitest";

import { checkoutLine, chooseCheckout, headOrigin, pinnedFetchFailed } from "../../src/checkout/plan.js";

const bty = (version = "0.77.2") => ({ pyproject: `[project]\nname = "bty-lab"\nversion = "${version}"\n` });
const other = { pyproject: '[project]\nname = "bty-ci"\nversion = "0.1.0"\n' };
const none = { pyproject: undefined };
const PINNED = { origin: "pinned", project: { name: "bty-lab", version: "0.77.2" } };

describe("chooseCheckout", () => {
  it("takes --source when it is bty, whatever the workspace is", () => {
    expect(chooseCheckout(bty("0.78.0"), bty())).toEqual({ origin: "source", project: { name: "bty-lab", version: "0.78.0" } });
    expect(chooseCheckout(bty("0.78.0"), undefined)).toEqual({ origin: "source", project: { name: "bty-lab", version: "0.78.0" } });
  });

  it("refuses a --source that is not bty, naming the fix", () => {
    expect(() => chooseCheckout(other, bty())).toThrow(
      '--source is not a bty checkout: its [project] name is "bty-ci", not "bty-lab"; pass bty\'s checkout with --source <path-to-bty>, ' +
        "or leave --source out to use the checkout you run from (outside one: bty 0.77.2 at its pinned release)",
    );
    expect(() => chooseCheckout(none, bty())).toThrow(/no pyproject\.toml at the root of the source directory.*--source <path-to-bty>/);
  });

  it("without --source takes the workspace when it is bty", () => {
    expect(chooseCheckout(undefined, bty("0.79.0.dev1"))).toEqual({ origin: "workspace", project: { name: "bty-lab", version: "0.79.0.dev1" } });
  });

  it("without --source, a workspace that is not bty (another project, no pyproject.toml, none at all) means bty's pinned release", () => {
    expect(chooseCheckout(undefined, other)).toEqual(PINNED);
    expect(chooseCheckout(undefined, none)).toEqual(PINNED);
    expect(chooseCheckout(undefined, { pyproject: '[tool.ruff]\nline-length = 100\n' })).toEqual(PINNED);
    expect(chooseCheckout(undefined, undefined)).toEqual(PINNED);
  });

  it("a workspace that is bty but broken is reported, not replaced by the pinned release", () => {
    expect(() => chooseCheckout(undefined, bty("v1"))).toThrow(/"v1" is not a PEP 440 version/);
    expect(() => chooseCheckout(undefined, { pyproject: '[project\nname = "bty-lab"' })).toThrow(/not valid TOML/);
  });
});

describe("checkoutLine", () => {
  it("says which tree the run checked", () => {
    expect(checkoutLine("source", "0.78.0")).toBe("bty 0.78.0: the checkout given with --source");
    expect(checkoutLine("workspace", "0.78.0")).toBe("bty 0.78.0: the checkout this was called from");
    expect(checkoutLine("pinned", "0.77.2")).toBe(
      "bty 0.77.2 at its pinned release (commit be25ebf13138): no bty checkout here; run from bty's checkout or pass --source to check yours",
    );
  });
});

describe("headOrigin", () => {
  it("--head wins; else the workspace's HEAD when the workspace is the checkout", () => {
    expect(headOrigin("source", true, "tag-release")).toBe("given");
    expect(headOrigin("pinned", true, "tag-release")).toBe("given");
    expect(headOrigin("workspace", true, "tag-release")).toBe("given");
    expect(headOrigin("workspace", false, "tag-release")).toBe("workspace");
  });

  it("with --source and no --head, or no checkout at all, asks for what is missing", () => {
    expect(() => headOrigin("source", false, "publish")).toThrow(
      "publish with --source needs that checkout's commit too: add --head with the same path (e.g. --source ../bty --head ../bty)",
    );
    expect(() => headOrigin("pinned", false, "tag-release")).toThrow(
      "tag-release releases a bty checkout, and there is none here: run it from bty's checkout (or pass --source and --head)",
    );
  });
});

describe("pinnedFetchFailed", () => {
  it("names the release, the repository and commit, the first line of the cause, and the fix", () => {
    expect(pinnedFetchFailed("git error: exit status 128\nmore")).toBe(
      "no bty checkout here, and bty 0.77.2 at its pinned release could not be fetched " +
        "(https://github.com/safl/bty.git at be25ebf131383bca2e0a1faefe87b1a4ef694875: git error: exit status 128): " +
        "run from bty's checkout, or pass one with --source <path-to-bty>",
    );
  });
});
