/**
 * The pinned Python images exist and are current: every leg's tag is listed
 * by the official images (a dated fixture of docker-library/official-images)
 * and is the newest patch of its minor there.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { PYTHON_MATRIX } from "../../src/config.js";

const FIXTURE = resolve(import.meta.dirname, "../fixtures/official-images-python-slim-bookworm.txt");
const fixture = readFileSync(FIXTURE, "utf8");

/** Every tag on the fixture's "Tags:" lines. */
const published = fixture
  .split("\n")
  .filter((line) => line.startsWith("Tags: "))
  .flatMap((line) => line.slice("Tags: ".length).split(",").map((tag) => tag.trim()));

/** The newest exact X.Y.Z-slim-bookworm release per minor X.Y in the fixture. */
function newestPatch(minor: string): string | undefined {
  const patches = published
    .map((tag) => tag.match(/^(\d+)\.(\d+)\.(\d+)-slim-bookworm$/))
    .filter((m): m is RegExpMatchArray => m !== null && `${m[1]}.${m[2]}` === minor)
    .map((m) => Number(m[3]))
    .sort((a, b) => b - a);
  return patches.length ? `${minor}.${patches[0]}` : undefined;
}

describe("official-images fixture", () => {
  it("says where and when it was read, and holds the 3.11–3.14 slim-bookworm tags", () => {
    expect(fixture).toMatch(/^# .*docker-library\/official-images/m);
    expect(fixture).toMatch(/commit [0-9a-f]{40}\s+\(\d{4}-\d{2}-\d{2}\)/);
    expect(published).toEqual(expect.arrayContaining(["3.11-slim-bookworm", "3.12-slim-bookworm", "3.13-slim-bookworm", "3.14-slim-bookworm"]));
    expect(published.filter((tag) => !/(^|-)slim-bookworm$/.test(tag))).toEqual([]);
  });

  it("newestPatch compares patch numbers as numbers", () => {
    // 3.13.15 is listed; a string sort would rank a 3.13.9 above it.
    expect(newestPatch("3.13")).toBe("3.13.15");
    expect(newestPatch("3.9")).toBeUndefined();
  });
});

/** bty's ci-cd.yml, job `test`: `matrix: python: ["3.11", "3.12", "3.13", "3.14"]`. */
const BTY_WORKFLOW_PYTHONS = ["3.11", "3.12", "3.13", "3.14"];

/**
 * bty-ci pins each of bty's Pythons to a patch release. A bump changes this
 * list, the config and the fixture together.
 */
const EXPECTED_PINS = { py311: "3.11.16", py312: "3.12.14", py313: "3.13.15", py314: "3.14.7" };
const legs = Object.entries(EXPECTED_PINS);

describe("pinned Python images", () => {
  it("the matrix is bty's workflow's Pythons, one leg each, at these patch releases", () => {
    expect(PYTHON_MATRIX).toEqual(EXPECTED_PINS);
    expect(Object.values(EXPECTED_PINS).map((v) => v.split(".").slice(0, 2).join("."))).toEqual(BTY_WORKFLOW_PYTHONS);
  });

  it.each(legs)("%s: its slim-bookworm tag is published by the official images", (_leg, version) => {
    expect(published).toContain(`${version}-slim-bookworm`);
  });

  it.each(legs)("%s: pins the newest patch release published for its minor", (_leg, version) => {
    expect(version).toBe(newestPatch(version.split(".").slice(0, 2).join(".")));
  });
});
