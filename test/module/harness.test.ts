/**
 * Proves the module-tier harness on a tiny sample module: the SDK's introspector
 * sees what the engine would register, and functions invoked the runtime's way
 * send the expected pipeline to the recording engine.
 */
import { fileURLToPath } from "node:url";

import { beforeAll, describe, expect, it } from "vitest";

import { execError } from "../harness/engine.js";
import { callFunction, invokeFunction } from "../harness/invoke.js";
import { findArgument, listFunctions, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";

const files = [fileURLToPath(new URL("../harness/sample-module/src/index.ts", import.meta.url))];

describe("scan", () => {
  // The SDK's scan builds a TypeScript program (seconds on a busy machine): once, in a hook.
  beforeAll(() => scanModule(files));

  it("sees objects, functions, arguments, defaults and docs", async () => {
    const mod = await scanModule(files);
    expect(mod.name).toBe("BtyCi");
    expect(mod.objects.BtyCi?.description).toBe("Sample module for the test harness");

    expect(findArgument(mod, "", "source")).toMatchObject({
      kind: "OBJECT_KIND",
      type: "Directory",
      optional: false,
      defaultPath: "/",
      ignore: ["node_modules"],
      description: "Source tree; defaults to the caller's git root",
    });

    const fns = Object.fromEntries(listFunctions(mod).map((f) => [f.name, f]));
    expect(Object.keys(fns)).toEqual(["hello", "lint", "marked"]);
    expect(fns.hello).toMatchObject({ description: "Greet from a privileged container", returnType: "string", isCheck: false });
    expect(fns.hello?.arguments).toEqual([
      expect.objectContaining({ name: "greeting", type: "string", defaultValue: "hi", optional: false, description: "what to echo" }),
      expect.objectContaining({ name: "times", type: "number", defaultValue: undefined, optional: true, description: "how often" }),
    ]);
    expect(fns.lint).toMatchObject({ isCheck: true, returnType: "void", arguments: [] });
    expect(fns.marked).toMatchObject({ returnKind: "OBJECT_KIND", returnType: "Directory" });
  });
});

describe("invoke against the recording engine", () => {
  const engine = useRecordingEngine({ scan: files });

  it("constructs the object: core-object state is encoded as IDs", async () => {
    const state = await invokeFunction({ files, fnName: "", args: { source: "Directory:source" } });
    expect(state).toEqual({ source: "Directory:source" });
    // The Directory argument was loaded by ID and its ID taken again: node(id:) { ... on Directory { id } }.
    expect(engine.chains()).toEqual([[{ field: "node", args: { id: "Directory:source" }, parent: "Query" }, expect.objectContaining({ field: "id" })]]);
  });

  it("records image, cache volume, mounts, exec argv and privileges", async () => {
    engine.answer("stdout", "hi hi\n");
    const out = await invokeFunction({
      files,
      fnName: "hello",
      parentState: { source: "Directory:source" },
      args: { times: 2 },
    });
    expect(out).toBe("hi hi\n");

    expect(engine.fieldCalls("from").map((c) => c.args)).toEqual([{ address: "alpine:3.20" }]);
    const [cache] = engine.fieldCalls("withMountedCache");
    expect(cache?.args.path).toBe("/c");
    // Object arguments are sent as IDs; the engine knows which pipeline made each one.
    expect(engine.pipelineOf(String(cache?.args.cache))).toEqual([{ field: "cacheVolume", args: { key: "v" }, parent: "Query" }]);
    expect(engine.fieldCalls("withDirectory").map((c) => c.args)).toEqual([{ path: "/src", source: "Directory:source" }]);
    expect(engine.execs()).toEqual([{ args: ["echo", "hi", "hi"], insecureRootCapabilities: true }]);
    // Object arguments are resolved first (cache volume made, source loaded by ID), then the chain.
    expect(engine.calls().map((c) => c.field)).toEqual([
      "cacheVolume",
      "node",
      ...["container", "from", "withMountedCache", "withDirectory", "withExec", "stdout"],
    ]);
  });

  it("runs a check: enums go as names, void returns null, failures throw ExecError", async () => {
    const parentState = { source: "Directory:source" };
    await expect(invokeFunction({ files, fnName: "lint", parentState })).resolves.toBeNull();
    expect(engine.execs()).toEqual([{ args: ["sh", "-c", "test -d /src"], expect: "ANY" }]);

    engine.answer("exitCode", 3);
    await expect(invokeFunction({ files, fnName: "lint", parentState })).rejects.toThrow("lint failed with exit code 3");

    engine.answer("exitCode", () => {
      throw execError({ cmd: ["sh"], exitCode: 137, stderr: "killed" });
    });
    await expect(invokeFunction({ files, fnName: "lint", parentState })).rejects.toMatchObject({ name: "ExecError", exitCode: 137, stderr: "killed" });
  });

  it("returns objects as IDs of their pipeline (constructor + call, like dagger call)", async () => {
    const id = await callFunction({ files, fnName: "marked", constructorArgs: { source: "Directory:source" } });
    expect(engine.pipelineOf(String(id))).toEqual([
      { field: "node", args: { id: "Directory:source" }, parent: "Query" },
      { field: "withNewFile", args: { path: "MARK", contents: "x" }, parent: "Directory" },
    ]);
  });
});
