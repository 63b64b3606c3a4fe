// A StrykerJS ignorer (stryker.config.mjs `ignorers`): leaves the default
// values of the module's function arguments unmutated, and the module-level
// constants such a default or an argument's `ignore` list names
// (`image: string = WEB_IMAGE_REPOSITORY`, `ignore: SOURCE_IGNORE`).
// The Dagger SDK's scan registers a default only when it resolves to a
// literal; a mutant switch in its place (`stryMutAct(1) ? "" : "main"`) is
// not one, so every registration test of a default would fail in the
// mutation run for a reason that is not the mutant. Those defaults are held
// as literals by the module tier's registration tests, which run on the
// sources as they are (`npm test`).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { declareValuePlugin, PluginKind } from "@stryker-mutator/api/plugin";

const REASON = "a registered default value: the SDK's scan needs it literal; the registration tests hold it";
const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/**
 * Constants named as a parameter default (`name: Type = CONSTANT,`) or as an
 * `@argument({ ignore: CONSTANT })` list in src/. Read from the text: one the
 * patterns missed would fail a registration test in Stryker's initial run,
 * loudly.
 */
const DEFAULT_CONSTANTS = new Set(
  readdirSync(SRC, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => readFileSync(join(SRC, f), "utf8"))
    .flatMap((text) => [
      ...[...text.matchAll(/^\s+\w+\??:[^=\n]+=\s*([A-Z][A-Z0-9_]+)\s*,?\s*$/gm)].map((m) => m[1]),
      ...[...text.matchAll(/\bignore:\s*([A-Z][A-Z0-9_]+)\b/g)].map((m) => m[1]),
    ]),
);

/** True when `path` is the default of a parameter of a method of an `@object()` class. */
function isRegisteredDefault(path) {
  const pattern = path.parentPath;
  if (!pattern?.isAssignmentPattern() || pattern.node.right !== path.node) return false;
  const param = pattern.parentPath?.isTSParameterProperty() ? pattern.parentPath : pattern;
  const method = param.parentPath;
  if (!method?.isClassMethod()) return false;
  const cls = method.parentPath?.parentPath;
  return Boolean(cls?.node.decorators?.some((d) => d.expression?.callee?.name === "object"));
}

/** True when `path` is the initializer of a module-level constant named as a default. */
function isDefaultConstant(path) {
  const declarator = path.parentPath;
  if (!declarator?.isVariableDeclarator() || declarator.node.init !== path.node) return false;
  const declaration = declarator.parentPath;
  const scope = declaration.parentPath?.isExportNamedDeclaration() ? declaration.parentPath.parentPath : declaration.parentPath;
  return Boolean(scope?.isProgram() && DEFAULT_CONSTANTS.has(declarator.node.id.name));
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "registered-defaults", {
    shouldIgnore: (path) => (isRegisteredDefault(path) || isDefaultConstant(path) ? REASON : undefined),
  }),
];
