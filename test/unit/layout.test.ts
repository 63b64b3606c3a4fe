/**
 * src/'s layout says what is pure and what talks to the engine: the Dagger
 * side of a domain is its dagger.ts (release: release/dagger/), shared by
 * containers.ts, registered by index.ts. Everything else is pure, and a pure
 * file imports no Dagger-side file, so the unit tier can load it alone.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

import { describe, expect, it } from "vitest";

const SRC = resolve(import.meta.dirname, "../../src");
const FILES = readdirSync(SRC, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".ts"))
  .sort();

/** Where the Dagger side may live. */
const isDaggerSide = (file: string) =>
  file === "index.ts" || file === "containers.ts" || /^[a-z-]+\/dagger\.ts$/.test(file) || /^[a-z-]+\/dagger\/[a-z-]+\.ts$/.test(file);

const text = (file: string) => readFileSync(join(SRC, file), "utf8");
const importsSdk = (file: string) => /from "@dagger\.io\/dagger(\/[a-z]+)?"/.test(text(file));
/** The src/ files a file imports, relative to src/. */
const localImports = (file: string) =>
  [...text(file).matchAll(/from "(\.{1,2}\/[^"]+)\.js"/g)].map((m) => relative(SRC, resolve(SRC, dirname(file), `${m[1]!}.ts`)));

describe("src/ layout", () => {
  it("tells the rule apart: a domain's dagger.ts is Dagger side, its plan.ts is not", () => {
    expect(isDaggerSide("usb/dagger.ts")).toBe(true);
    expect(isDaggerSide("release/dagger/jobs.ts")).toBe(true);
    expect(isDaggerSide("usb/plan.ts")).toBe(false);
    expect(isDaggerSide("steps.ts")).toBe(false);
  });

  it.each(FILES.filter((f) => !isDaggerSide(f)))("%s is pure: no Dagger SDK, no Dagger-side file", (file) => {
    expect(importsSdk(file)).toBe(false);
    expect(localImports(file).filter(isDaggerSide)).toEqual([]);
  });

  it("every domain folder has its pure plan.ts", () => {
    const domains = [...new Set(FILES.filter((f) => f.includes("/")).map((f) => f.split("/")[0]!))];
    const withoutPlan = domains.filter((d) => d !== "pipeline" && d !== "release" && !FILES.includes(`${d}/plan.ts`));
    expect(withoutPlan).toEqual([]);
  });
});
