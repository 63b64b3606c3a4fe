/**
 * Invocation tier: run a module function the way the module runtime does
 * (dist/src/module/entrypoint/entrypoint.js), with the SDK's own code:
 * `connection()` opens the session (here: the recording engine, through
 * DAGGER_SESSION_PORT/TOKEN), the module files are imported, an `Executor` is
 * built over them and the scan result, and `invoke` decodes parent state and
 * arguments, calls the function and encodes the result.
 *
 * Differences from the runtime, on purpose:
 * - module files are imported by vitest (so TypeScript sources load), not by the
 *   SDK's `load()`, whose plain `import()` cannot load `.ts` on Node 20;
 * - the call context (parent name, state, arguments) comes from the caller instead
 *   of `dag.currentFunctionCall()`, and the result is returned instead of being
 *   sent with `returnValue`. Errors are thrown instead of `returnError` + exit(1).
 *
 * The SDK keeps one global client (`dag`): do not run invocations concurrently.
 */
import { resolve } from "node:path";
import type Module from "node:module";

import { connection } from "../../node_modules/dagger-sdk/dist/src/connect.js";
import { invoke } from "../../node_modules/dagger-sdk/dist/src/module/entrypoint/invoke.js";
import { Executor } from "../../node_modules/dagger-sdk/dist/src/module/executor.js";
import { getObject, scanModule } from "./scan.js";

/** JSON as it travels between engine and runtime. */
type Wire = unknown;

export interface InvokeOptions {
  /** Module source files (every `.ts` under the module's `src/`). */
  files: string[];
  /** dagger.json `name`; default "bty-ci". */
  moduleName?: string;
  /** Object the function belongs to; default the main object (PascalCase module name). */
  parentName?: string;
  /** Function by TS name or registered alias; "" calls the constructor. */
  fnName: string;
  /**
   * Parent object state as the engine sends it: property name -> JSON value,
   * core objects as IDs (e.g. { source: "Directory:1" }), module objects as
   * their own state. Typically the result of invoking the constructor.
   */
  parentState?: Record<string, Wire>;
  /** Arguments as the engine sends them: JSON values, core objects as IDs, enums as member names. */
  args?: Record<string, Wire>;
}

/**
 * Invoke one function and return its result as the runtime would send it to the
 * engine, decoded from JSON: core objects as IDs, module objects as their state,
 * enums as member names, void (and undefined/null) as null.
 *
 * Requires a running recording engine ({@link startRecordingEngine}).
 */
export async function invokeFunction(opts: InvokeOptions): Promise<Wire> {
  if (!process.env.DAGGER_SESSION_PORT) {
    // Without it, connection() would try to download and start a real engine.
    throw new Error("invokeFunction: DAGGER_SESSION_PORT is not set; start the recording engine first");
  }
  const files = opts.files.map((f) => resolve(f));
  const moduleName = opts.moduleName ?? "bty-ci";
  const scanned = await scanModule(files, moduleName);
  const parentName = opts.parentName ?? scanned.name;
  const fnName = registeredName(getObject(scanned, parentName).methods, opts.fnName);
  const modules = (await Promise.all(files.map((f) => import(f)))) as Module[];

  // Arguments and state go through JSON exactly as they would over the wire.
  const wire = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null)) as T;
  let result: Wire;
  await connection(async () => {
    result = await invoke(new Executor(modules, scanned), scanned, {
      parentName,
      fnName,
      parentArgs: wire(opts.parentState ?? {}),
      fnArgs: wire(opts.args ?? {}),
    });
  });
  return wire(result);
}

/** Options of {@link callFunction}: a constructor call followed by a function call. */
export type CallOptions = Omit<InvokeOptions, "parentState"> & {
  /** Constructor arguments (engine wire format), e.g. { source: "Directory:source" }. */
  constructorArgs?: Record<string, Wire>;
};

/**
 * What `dagger call --ctor-arg=... fn --arg=...` does: invoke the constructor,
 * then the function with the constructed state as parent.
 */
export async function callFunction(opts: CallOptions): Promise<Wire> {
  const { constructorArgs, ...rest } = opts;
  const parentState = await invokeFunction({ ...rest, fnName: "", args: constructorArgs });
  return invokeFunction({ ...rest, parentState: parentState as Record<string, Wire> });
}

/** The runtime receives the registered name (alias ?? TS name); accept either. */
function registeredName(methods: Record<string, { name: string }>, fnName: string): string {
  if (fnName === "" || methods[fnName]) return fnName;
  const entry = Object.entries(methods).find(([, m]) => m.name === fnName);
  if (!entry) throw new Error(`function ${fnName} not found; have: ${Object.keys(methods).join(", ")}`);
  return entry[0];
}
