/**
 * docs/reference.md equals what the SDK's own introspector registers for
 * src/ (functions, arguments, types, defaults, descriptions).
 */
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { scanModule } from "../harness/scan.js";
import { FIX, kebab, REFERENCE, type ReferenceModel, referenceModel, renderReference } from "../harness/reference.js";
import { MODULE_FILES } from "./module-files.js";

const model = referenceModel(await scanModule(MODULE_FILES));
const reference = readFileSync(REFERENCE, "utf8");

describe("docs/reference.md", () => {
  it("is in sync with the module", () => {
    if (renderReference(model) !== reference) {
      expect.fail(`docs/reference.md is out of date: run \`${FIX}\` and commit docs/reference.md`);
    }
  });

  it("would notice a changed default, a new argument or a removed function", () => {
    const current = renderReference(model);
    const changed = (edit: (m: ReferenceModel) => void) => {
      const copy = structuredClone(model);
      edit(copy);
      return renderReference(copy);
    };
    const fn = (m: ReferenceModel, name: string) => m.functions.find((f) => f.fn.name === name)!.fn;
    expect(changed((m) => void (fn(m, "plan").arguments.find((a) => a.name === "ref")!.defaultValue = "develop"))).not.toBe(current);
    expect(changed((m) => void fn(m, "allChecks").arguments.push({ ...fn(m, "allChecks").arguments[0]!, name: "extra" }))).not.toBe(current);
    expect(changed((m) => void (m.functions = m.functions.filter((f) => f.fn.name !== "workflow")))).not.toBe(current);
    expect(changed((m) => void (m.constructorArgs[1]!.defaultValue = "python:3"))).not.toBe(current);
    expect(changed((m) => void (m.functions[0]!.children = []))).toBe(current);
    expect(changed((m) => void (m.functions.find((f) => f.fn.name === "test")!.children[0]!.isCheck = false))).not.toBe(current);
  });

  it("names functions and arguments as the CLI prints them", () => {
    expect(kebab("allChecks")).toBe("all-checks");
    expect(kebab("py311")).toBe("py-311");
    expect(kebab("failOnError")).toBe("fail-on-error");
    expect(kebab("BtyCi")).toBe("bty-ci");
    const body = renderReference(model);
    expect(body).toContain("### `test py-311` → void (check)");
    expect(body).toContain("| `--changed-paths` | string[] | `[]` |");
    expect(body).toContain("| `--event` | string | **required** |");
    expect(body).toContain("| `--source` | Directory | optional |");
    // The engine passes the workspace; the CLI makes no flag for it.
    expect(body).not.toContain("--workspace");
  });
});
