/**
 * A scan result kept on disk, for mutation runs. StrykerJS starts a fresh
 * vitest worker for every mutant, so each mutant covered by a module test
 * would pay the SDK's scan (seconds) again, although a mutation sandbox's
 * sources never change between mutants (every mutant is compiled in and
 * switched on at run time). One scan per sandbox is frozen here and thawed by
 * every later worker.
 *
 * Freezing keeps what the scan found (objects, functions, arguments, types,
 * defaults, docs) and drops what only the scan itself used: the TypeScript
 * program's nodes, symbols, signatures and checker. Thawing gives each object
 * back its SDK class, so the SDK's own `invoke` and `Executor` use it as they
 * use a fresh scan. Anything else that is not plain data makes freezing fail,
 * loudly, rather than be lost.
 */
import { deserialize, serialize } from "node:v8";

import { DaggerArgument } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/argument.js";
import { DaggerConstructor } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/constructor.js";
import { DaggerEnum, DaggerEnumValue } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/enum.js";
import { DaggerEnumClass, DaggerEnumClassValue } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/enumClass.js";
import { DaggerFunction } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/function.js";
import { DaggerInterface } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/interface.js";
import { DaggerInterfaceFunction } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/interfaceFunction.js";
import { DaggerModule } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/module.js";
import { DaggerObject } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/object.js";
import { DaggerProperty } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/property.js";
import { DaggerTypeObject } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/typeObject.js";
import { DaggerObjectTypeProperty } from "../../node_modules/dagger-sdk/dist/src/module/introspector/dagger_module/typeObjectProperty.js";

type AnyClass = abstract new (...args: any[]) => object;
const CLASSES = new Map<string, AnyClass>(
  (
    [
      DaggerArgument, DaggerConstructor, DaggerEnum, DaggerEnumValue, DaggerEnumClass, DaggerEnumClassValue,
      DaggerFunction, DaggerInterface, DaggerInterfaceFunction, DaggerModule, DaggerObject, DaggerProperty,
      DaggerTypeObject, DaggerObjectTypeProperty,
    ] as AnyClass[]
  ).map((c) => [c.name, c]),
);
/** Fields that hold the TypeScript program the scan walked. */
const SCAN_ONLY = new Set(["node", "__node", "ast", "symbol", "signature", "userModule"]);
const CLASS = "\u0000class";

/** A plain-data copy of `value` with each SDK object tagged by its class; shared references stay shared. */
function shadow(value: unknown, path: string, memo: Map<object, unknown>): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "function" || typeof value === "symbol") throw new Error(`frozen scan: cannot keep a ${typeof value} at ${path}`);
    return value;
  }
  if (memo.has(value)) return memo.get(value);
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    memo.set(value, copy);
    value.forEach((v, i) => copy.push(shadow(v, `${path}[${i}]`, memo)));
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  const cls = proto === Object.prototype || proto === null ? undefined : proto.constructor;
  if (cls && CLASSES.get(cls.name) !== cls) throw new Error(`frozen scan: cannot keep a ${cls.name} at ${path}`);
  const copy: Record<string, unknown> = cls ? { [CLASS]: cls.name } : {};
  memo.set(value, copy);
  for (const [key, v] of Object.entries(value)) {
    if (cls && SCAN_ONLY.has(key)) continue;
    copy[key] = shadow(v, `${path}.${key}`, memo);
  }
  return copy;
}

/** Give every tagged object of a deserialized shadow its class back. */
function revive(value: unknown, seen: Set<object>): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  const record = value as Record<string, unknown>;
  const name = record[CLASS];
  if (typeof name === "string") {
    Object.setPrototypeOf(value, CLASSES.get(name)!.prototype);
    delete record[CLASS];
  }
  for (const v of Object.values(record)) revive(v, seen);
}

export function freezeScan(mod: DaggerModule): Buffer {
  return serialize(shadow(mod, mod.name, new Map()));
}

export function thawScan(frozen: Buffer): DaggerModule {
  const mod = deserialize(frozen);
  revive(mod, new Set());
  if (!(mod instanceof DaggerModule)) throw new Error("frozen scan: not a DaggerModule");
  return mod;
}
