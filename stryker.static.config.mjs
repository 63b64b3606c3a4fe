// `npm run mutation:static`: the default run (stryker.config.mjs) plus the
// static mutants, i.e. module-level constants (docs/decisions.md D26).
import base from "./stryker.config.mjs";

export default { ...base, ignoreStatic: false, incremental: false };
