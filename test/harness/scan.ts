/**
 * Registration tier: run the Dagger TypeScript SDK's own introspector over module
 * sources and read back what the engine would register (objects, functions,
 * arguments, types, defaults, `defaultPath`/`ignore`, JSDoc descriptions, checks).
 *
 * The introspector builds a TypeScript program and only recognises core types
 * (`Directory`, `Container`, ...) when their class declarations come from a
 * non-declaration source file whose name ends in `client.gen.ts` (the generated
 * `sdk/` of a real module). The npm package ships `client.gen.d.ts` only, so we
 * keep a copy of the package in os.tmpdir() where that file is renamed to
 * `client.gen.ts` (its runtime twin `client.gen.js` removed, so the copy is
 * types only), and hand that file to `scan` as an extra root file of the
 * program: the module's own `@dagger.io/dagger` import is not what the
 * introspector looks at, only class names are. The copy cannot be *executed*
 * (without `client.gen.js` its modules do not load, and bare imports such as
 * `typescript` do not resolve from tmpdir), so `scan` itself is the installed
 * SDK's: the same code, only the program differs.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { TypeDefKind } from "../../node_modules/dagger-sdk/dist/src/api/client.gen.js";
import type {
  DaggerArgument,
  DaggerFunction,
  DaggerModule,
  DaggerObjectBase,
} from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/index.js";
import { scan } from "../../node_modules/dagger-sdk/dist/src/module/introspector/index.js";
import type { TypeDef } from "../../node_modules/dagger-sdk/dist/src/module/introspector/typedef.js";
import { freezeScan, thawScan } from "./frozen-scan.js";

export type { DaggerArgument, DaggerFunction, DaggerModule, DaggerObjectBase };
export type ScanResult = DaggerModule;
export type AnyTypeDef = TypeDef<TypeDefKind>;

/** Root of the SDK package installed under the npm alias `dagger-sdk`. */
export const SDK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../node_modules/dagger-sdk");

const CLIENT_GEN = join("dist", "src", "api", "client.gen");

/**
 * Scan results, cached per process. The module project shares one module graph
 * among the test files of a worker (isolate: false), so the scan runs once per
 * worker; kept on globalThis, so a fresh evaluation of this module in the same
 * worker finds it too.
 */
const CACHE_KEY = Symbol.for("bty-ci.test.harness.scan");
const scanCache = ((globalThis as Record<symbol, unknown>)[CACHE_KEY] ??= new Map()) as Map<string, Promise<DaggerModule>>;

/**
 * Path of `client.gen.ts` inside the SDK copy. The copy is keyed by the content
 * of the SDK's `client.gen.d.ts`, made once and then shared by every process
 * (test workers are killed rather than exited, so per-process copies would be
 * left behind); it is built aside and renamed into place, so concurrent workers
 * never see half a copy.
 */
export function sdkClientGenTs(): string {
  const declarations = readFileSync(join(SDK_ROOT, `${CLIENT_GEN}.d.ts`));
  const hash = createHash("sha256").update(declarations).digest("hex").slice(0, 16);
  const dir = join(tmpdir(), `bty-ci-dagger-sdk-${hash}`);
  const target = join(dir, `${CLIENT_GEN}.ts`);
  if (existsSync(target)) return target;

  const staging = mkdtempSync(`${dir}.tmp-`);
  cpSync(SDK_ROOT, staging, { recursive: true });
  renameSync(join(staging, `${CLIENT_GEN}.d.ts`), join(staging, `${CLIENT_GEN}.ts`));
  rmSync(join(staging, `${CLIENT_GEN}.js`));
  try {
    renameSync(staging, dir);
  } catch (e) {
    // Another process finished its copy first: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(target)) throw e;
  }
  return target;
}

/**
 * A declaration file that makes the module's `@dagger.io/dagger` import resolve
 * to the installed SDK, as it does in the runtime (which mounts the SDK at
 * `node_modules/@dagger.io/dagger`; here it is installed as `dagger-sdk`).
 * Without it core types are unresolved in the program: a plain `Directory`
 * still scans by name, but an optional one (`dir?: Directory`) collapses to
 * `any` and the scan fails. It lives under node_modules/.cache, where
 * `dagger-sdk` resolves (an ambient module may not re-export a path).
 */
function daggerImportDeclaration(): string {
  const dir = resolve(SDK_ROOT, "../.cache/bty-ci-harness");
  const file = join(dir, "dagger-import.d.ts");
  const text = 'declare module "@dagger.io/dagger" {\n  export * from "dagger-sdk";\n}\n';
  if (!existsSync(file) || readFileSync(file, "utf8") !== text) {
    mkdirSync(dir, { recursive: true });
    const staging = `${file}.${process.pid}.tmp`;
    writeFileSync(staging, text);
    renameSync(staging, file);
  }
  return file;
}

/**
 * Scan module source files like the runtime does at registration
 * (`scan(files, moduleName)`), without importing them.
 * Results are cached per process by file list, file mtimes and module name.
 *
 * @param files module source files (every `.ts` under the module's `src/`)
 * @param moduleName the `name` of dagger.json; its PascalCase form is the main object
 */
export function scanModule(files: string[], moduleName = "bty-ci"): Promise<DaggerModule> {
  const absolute = files.map((f) => resolve(f));
  const key = JSON.stringify([moduleName, absolute.map((f) => [f, statSync(f).mtimeMs])]);
  let result = scanCache.get(key);
  if (!result) {
    const scanned = () => scan([...absolute, sdkClientGenTs(), daggerImportDeclaration()], moduleName, false);
    result = instrumented(absolute) ? scannedOnce(absolute, moduleName, scanned) : scanned();
    scanCache.set(key, result);
    // A failed scan is not cached, so a fixed file can be scanned again.
    result.catch(() => scanCache.delete(key));
  }
  return result;
}

/** True for a StrykerJS sandbox's sources (every mutant compiled in, switched at run time). */
export function instrumented(files: string[]): boolean {
  return files.some((f) => readFileSync(f, "utf8").includes("stryMutAct_"));
}

/** Where the frozen scan of these sources lives (os.tmpdir()). */
export function frozenScanPath(files: string[], moduleName = "bty-ci"): string {
  const hash = createHash("sha256").update(readFileSync(join(SDK_ROOT, "package.json"))).update(moduleName);
  for (const f of files.map((f) => resolve(f))) hash.update(f).update(readFileSync(f));
  return join(tmpdir(), `bty-ci-frozen-scan-${hash.digest("hex").slice(0, 24)}.bin`);
}

/**
 * A mutation run's scan, made once per sandbox and frozen on disk for every
 * later worker (frozen-scan.ts says why); keyed by the SDK's version, the
 * module name and every file's path and content.
 */
async function scannedOnce(files: string[], moduleName: string, scanned: () => Promise<DaggerModule>): Promise<DaggerModule> {
  const frozen = frozenScanPath(files, moduleName);
  if (existsSync(frozen)) return thawScan(readFileSync(frozen));
  const mod = await scanned();
  const staging = `${frozen}.${process.pid}.tmp`;
  writeFileSync(staging, freezeScan(mod));
  renameSync(staging, frozen);
  return mod;
}

/** An object (class or type alias object) of the module, by name; throws if absent. */
export function getObject(mod: DaggerModule, name: string = mod.name): DaggerObjectBase {
  const object = mod.objects[name];
  if (!object) {
    throw new Error(`object ${name} not found; module has: ${Object.keys(mod.objects).join(", ")}`);
  }
  return object;
}

/**
 * A function of an object by its TypeScript name (or its `@func("alias")`); throws if absent.
 * The constructor is addressed as "" (as the runtime does).
 */
export function getFunction(object: DaggerObjectBase, name: string): DaggerFunction | NonNullable<DaggerObjectBase["_constructor"]> {
  if (name === "") {
    if (!object._constructor) throw new Error(`object ${object.name} has no constructor`);
    return object._constructor;
  }
  const fn = Object.values(object.methods).find((m) => m.name === name) ?? object.methods[name];
  if (!fn) {
    throw new Error(
      `function ${name} not found on ${object.name}; it has: ${Object.values(object.methods)
        .map((m) => m.name)
        .join(", ")}`,
    );
  }
  return fn;
}

/** An argument of a function (or constructor) by name; throws if absent. */
export function getArgument(fn: Pick<DaggerFunction, "arguments">, name: string): DaggerArgument {
  const arg = fn.arguments[name];
  if (!arg) throw new Error(`argument ${name} not found; have: ${Object.keys(fn.arguments).join(", ")}`);
  return arg;
}

/**
 * Readable type of a TypeDef: core/module object, enum, interface and scalar
 * names as is, primitives as `string`/`number`/`float`/`boolean`/`void`,
 * lists as `T[]`.
 */
export function typeName(typeDef: AnyTypeDef | undefined): string {
  if (!typeDef) return "unknown";
  switch (typeDef.kind) {
    case TypeDefKind.ListKind:
      return `${typeName((typeDef as TypeDef<TypeDefKind.ListKind>).typeDef)}[]`;
    case TypeDefKind.StringKind:
      return "string";
    case TypeDefKind.IntegerKind:
      return "number";
    case TypeDefKind.FloatKind:
      return "float";
    case TypeDefKind.BooleanKind:
      return "boolean";
    case TypeDefKind.VoidKind:
      return "void";
    default:
      return (typeDef as { name?: string }).name ?? typeDef.kind;
  }
}

/** The facts about one argument that the engine registers, as plain data. */
export interface ArgumentInfo {
  name: string;
  /** TypeDefKind value, e.g. "STRING_KIND", "OBJECT_KIND". */
  kind: TypeDefKind | undefined;
  /** See {@link typeName}, e.g. "Directory", "string[]". */
  type: string;
  optional: boolean;
  nullable: boolean;
  variadic: boolean;
  /** Statically resolved default value (undefined when none or not resolvable). */
  defaultValue: unknown;
  defaultPath: string | undefined;
  defaultAddress: string | undefined;
  ignore: string[] | undefined;
  description: string;
  deprecated: string | undefined;
}

export function argumentInfo(arg: DaggerArgument): ArgumentInfo {
  return {
    name: arg.name,
    kind: arg.type?.kind,
    type: typeName(arg.type),
    optional: arg.isOptional,
    nullable: arg.isNullable,
    variadic: arg.isVariadic,
    defaultValue: arg.defaultValue,
    defaultPath: arg.defaultPath,
    defaultAddress: arg.defaultAddress,
    ignore: arg.ignore,
    description: arg.description,
    deprecated: arg.deprecated,
  };
}

/** The facts about one function that the engine registers, as plain data. */
export interface FunctionInfo {
  /** TypeScript name. */
  name: string;
  /** Name registered with the engine (alias or TS name; CLI shows it kebab-cased). */
  registeredName: string;
  description: string;
  returnKind: TypeDefKind | undefined;
  /** See {@link typeName}. */
  returnType: string;
  isCheck: boolean;
  isGenerator: boolean;
  /** `@func({ cache })`: "never", "session" or a duration; undefined = default. */
  cache: string | undefined;
  arguments: ArgumentInfo[];
}

export function functionInfo(fn: DaggerFunction): FunctionInfo {
  return {
    name: fn.name,
    registeredName: fn.alias ?? fn.name,
    description: fn.description,
    returnKind: fn.returnType?.kind,
    returnType: typeName(fn.returnType),
    isCheck: fn.isCheck,
    isGenerator: fn.isGenerator,
    cache: fn.cache,
    arguments: Object.values(fn.arguments).map(argumentInfo),
  };
}

/** Shorthand: facts about `objectName.fnName(argName)`; constructor is fnName "". */
export function findArgument(mod: DaggerModule, fnName: string, argName: string, objectName = mod.name): ArgumentInfo {
  return argumentInfo(getArgument(getFunction(getObject(mod, objectName), fnName), argName));
}

/** Shorthand: facts about every exposed function of an object (main object by default). */
export function listFunctions(mod: DaggerModule, objectName = mod.name): FunctionInfo[] {
  return Object.values(getObject(mod, objectName).methods).map(functionInfo);
}
