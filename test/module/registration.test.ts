/**
 * What the engine registers for bty-ci, read by the SDK's own introspector:
 * every function, argument, default and description, and which are checks.
 */

import { describe, expect, it } from "vitest";

import { findArgument, listFunctions, scanModule } from "../harness/scan.js";
import { MODULE_FILES } from "./module-files.js";

const mod = await scanModule(MODULE_FILES);
const byName = (objectName?: string) =>
  Object.fromEntries(listFunctions(mod, objectName).map((f) => [f.name, f]));

describe("bty-ci registration", () => {
  it("registers BtyCi as the main object, documented", () => {
    expect(mod.name).toBe("BtyCi");
    expect(mod.objects.BtyCi?.description).toMatch(/bty's CI\/CD/);
  });

  // The engine's defaultPath resolves to bty-ci's own tree under -m (D49);
  // the caller's checkout comes from the injected workspace (checkout.test.ts).
  it("takes an optional bty checkout, no defaultPath, and the caller's workspace from the engine", () => {
    expect(findArgument(mod, "", "source")).toMatchObject({
      type: "Directory",
      optional: true,
      defaultPath: undefined,
      description: expect.stringMatching(/bty checkout/),
    });
    expect(findArgument(mod, "", "workspace")).toMatchObject({ type: "Workspace", optional: true });
  });

  it("lets every image, index and mirror be overridden, with pinned defaults", () => {
    expect(findArgument(mod, "", "pythonImage")).toMatchObject({ type: "string", defaultValue: "python:{version}-slim-bookworm" });
    expect(findArgument(mod, "", "pythonIndex")).toMatchObject({ type: "string", defaultValue: "" });
    expect(findArgument(mod, "", "debianMirror")).toMatchObject({ type: "string", defaultValue: "" });
  });

  it("documents every constructor argument", () => {
    for (const arg of ["source", "pythonImage", "pythonIndex", "debianMirror", "hookManifests", "ipxeSource", "r8125Source", "extraCaCerts"]) {
      expect(findArgument(mod, "", arg).description).not.toBe("");
    }
  });

  it("has one function per bty job, named as the job, with the right kinds", () => {
    const fns = byName();
    expect(Object.keys(fns).sort()).toEqual(
      [
        "allChecks",
        "allChecksBundle",
        "buildIpxe",
        "buildWheel",
        "docs",
        "flashIntegration",
        "deployIntegration",
        "deployQuadletIntegration",
        "lint",
        "plan",
        "publishDocker",
        "publishTftp",
        "test",
        "typecheck",
        "version",
        "workflow",
        "buildNetbootPc",
        "buildRambootInit",
        "buildUsbbootPc",
        "buildUsbbootRpi",
        "testUsbGrow",
        "testUsbVentoy",
        "testPxe",
        "checkNotPublished",
        "tagRelease",
        "attachToRelease",
        "publishPypi",
        "publish",
      ].sort(),
    );
    const shape = (name: string) => {
      const f = fns[name]!;
      return { returns: f.returnType, check: f.isCheck, args: f.arguments.length };
    };
    expect(shape("lint")).toEqual({ returns: "void", check: true, args: 0 });
    expect(shape("typecheck")).toEqual({ returns: "void", check: true, args: 0 });
    expect(shape("flashIntegration")).toEqual({ returns: "void", check: true, args: 0 });
    expect(shape("deployIntegration")).toEqual({ returns: "void", check: true, args: 1 });
    expect(findArgument(mod, "deployIntegration", "images")).toMatchObject({
      type: "string",
      defaultValue: "built",
      description: expect.stringMatching(/"built" .*"published"/),
    });
    expect(shape("deployQuadletIntegration")).toEqual({ returns: "void", check: true, args: 1 });
    expect(findArgument(mod, "deployQuadletIntegration", "images")).toMatchObject({
      type: "string",
      defaultValue: "built",
      description: expect.stringMatching(/"built" .*"published"/),
    });
    expect(shape("buildUsbbootRpi")).toEqual({ returns: "Directory", check: false, args: 4 });
    expect(findArgument(mod, "buildUsbbootRpi", "rpiImage")).toMatchObject({ type: "File", optional: true });
    expect(findArgument(mod, "buildUsbbootRpi", "rpiImageChecksum")).toMatchObject({
      type: "string",
      defaultValue: "acff736ca7945e3b305f07cda4abdb870910e12634991da69783611756e381b3",
    });
    expect(findArgument(mod, "buildUsbbootRpi", "platform")).toMatchObject({ type: "string", defaultValue: "" });
    expect(shape("test")).toEqual({ returns: "TestMatrix", check: false, args: 0 });
    expect(shape("buildWheel")).toEqual({ returns: "Directory", check: false, args: 0 });
    expect(shape("docs")).toEqual({ returns: "Directory", check: false, args: 0 });
    expect(shape("buildIpxe")).toEqual({ returns: "Directory", check: false, args: 0 });
    expect(shape("allChecks")).toEqual({ returns: "string", check: false, args: 6 });
    expect(shape("allChecksBundle")).toEqual({ returns: "Directory", check: false, args: 4 });
    expect(shape("testPxe")).toEqual({ returns: "void", check: false, args: 3 });
    expect(shape("version")).toEqual({ returns: "string", check: false, args: 0 });
    for (const media of ["buildNetbootPc", "buildRambootInit", "buildUsbbootPc"]) {
      expect(shape(media)).toEqual({ returns: "Directory", check: false, args: 1 });
    }
  });

  it("takes the offline inputs of the builds on the constructor, so every call that builds (all-checks, publish) has them", () => {
    expect(findArgument(mod, "", "extraCaCerts")).toMatchObject({ optional: true, kind: "OBJECT_KIND", type: "File" });
    expect(findArgument(mod, "", "r8125Source")).toMatchObject({ optional: true, kind: "OBJECT_KIND", type: "Directory" });
    expect(findArgument(mod, "", "ipxeSource")).toMatchObject({ optional: true, kind: "OBJECT_KIND", type: "Directory" });
  });

  it("gives the media builds a time bound", () => {
    for (const media of ["buildNetbootPc", "buildRambootInit", "buildUsbbootPc"]) {
      const args = Object.fromEntries(byName()[media]!.arguments.map((a) => [a.name, a]));
      // A default makes it optional for the engine (isOptional stays false in the scan).
      expect(args.timeoutSeconds).toMatchObject({ kind: "INTEGER_KIND", defaultValue: 2400 });
      for (const arg of Object.values(args)) expect(arg.description).not.toBe("");
    }
  });

  it("models the matrix as an object of namespaced checks, test:py311 … test:py314", () => {
    const legs = byName("TestMatrix");
    expect(Object.keys(legs)).toEqual(["py311", "py312", "py313", "py314"]);
    for (const leg of Object.values(legs)) {
      expect(leg).toMatchObject({ isCheck: true, returnType: "void", arguments: [] });
    }
  });

  it("documents every function (the CLI help)", () => {
    for (const obj of ["BtyCi", "TestMatrix"]) {
      for (const f of listFunctions(mod, obj)) expect(f.description, `${obj}.${f.name}`).not.toBe("");
    }
  });
});
