/**
 * The frozen scan of mutation runs (test/harness/frozen-scan.ts) stands for a
 * fresh scan: it registers the same facts and, through the SDK's own invoke,
 * sends the engine the same queries. A mutation run's module tests read only
 * frozen scans, so its results are only as good as this equivalence.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { answerCheckout } from "../harness/checkout.js";
import { freezeScan, thawScan } from "../harness/frozen-scan.js";
import { invokeFunction } from "../harness/invoke.js";
import { argumentInfo, frozenScanPath, getObject, listFunctions, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { INSTRUMENTED, MODULE_FILES } from "./module-files.js";

const REPO = resolve(import.meta.dirname, "../..");
/** A copy of src/ marked as a mutation sandbox's (inside the repository, so its imports resolve). */
const SANDBOX = join(REPO, ".cache", `frozen-scan-test-${process.pid}`);
let frozenFile = "";
const sandboxFiles = MODULE_FILES.map((f) => join(SANDBOX, relative(REPO, f)));

const engine = useRecordingEngine({ scan: MODULE_FILES, answers: answerCheckout });
afterAll(() => {
  rmSync(SANDBOX, { recursive: true, force: true });
  if (frozenFile) rmSync(frozenFile, { force: true });
});

const STATE = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };

describe("a frozen scan", () => {
  it("registers every object, function, argument, default and doc the scan found", async () => {
    const fresh = await scanModule(MODULE_FILES);
    const thawed = thawScan(freezeScan(fresh));
    expect(Object.keys(thawed.objects)).toEqual(Object.keys(fresh.objects));
    expect(Object.keys(thawed.objects)).toEqual(["BtyCi", "TestMatrix"]);
    for (const name of Object.keys(fresh.objects)) {
      expect(listFunctions(thawed, name)).toEqual(listFunctions(fresh, name));
      const constructorArgs = (mod: typeof fresh) => Object.values(getObject(mod, name)._constructor?.arguments ?? {}).map(argumentInfo);
      expect(constructorArgs(thawed)).toEqual(constructorArgs(fresh));
    }
    // The SDK's own serialisation of what it registers, too.
    expect(JSON.stringify(thawed)).toBe(JSON.stringify(fresh));
  });

  // In a mutation run the copy would be of the instrumented sources: loading it
  // inside this test would charge every module-level mutant to this test, and
  // StrykerJS would then try those mutants against it alone.
  it.skipIf(INSTRUMENTED)("is what scanModule gives a mutation sandbox's sources after the first scan, and invokes like a fresh scan (skipped in a mutation run: its sources are the sandbox's)", async () => {
    mkdirSync(SANDBOX, { recursive: true });
    // As Stryker's sandbox is: src/ under its own tsconfig.json (decorators on).
    cpSync(join(REPO, "src"), join(SANDBOX, "src"), { recursive: true });
    cpSync(join(REPO, "tsconfig.json"), join(SANDBOX, "tsconfig.json"));
    const marked = sandboxFiles[0]!;
    writeFileSync(marked, `${readFileSync(marked, "utf8")}\n// stryMutAct_: marks this copy as a mutation sandbox's\n`);
    frozenFile = frozenScanPath(sandboxFiles);
    expect(existsSync(frozenFile)).toBe(false);
    const first = await scanModule(sandboxFiles);
    expect(existsSync(frozenFile)).toBe(true);
    // A later worker: the in-process cache misses (new mtime), the disk copy answers.
    const later = new Date(Date.now() + 5000);
    utimesSync(marked, later, later);
    const second = await scanModule(sandboxFiles);
    expect(second).not.toBe(first);
    // Thawed, not scanned again: the TypeScript program is not kept.
    expect("ast" in first).toBe(true);
    expect("ast" in second).toBe(false);
    expect(Object.getPrototypeOf(second)).toBe(Object.getPrototypeOf(first));
    expect(listFunctions(second)).toEqual(listFunctions(first));

    const typecheck = async (files: string[]) => {
      engine.reset();
      answerCheckout(engine);
      await invokeFunction({ files, fnName: "typecheck", parentState: STATE });
      return engine.queries().map((q) => q.query);
    };
    const viaFresh = await typecheck(MODULE_FILES);
    const viaFrozen = await typecheck(sandboxFiles);
    expect(viaFrozen.length).toBeGreaterThan(0);
    expect(viaFrozen).toEqual(viaFresh);
  });
});
