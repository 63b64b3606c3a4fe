// Mutation testing of src/ against the unit and module tiers (`npm run mutation`,
// scripts/mutation.mjs). Every .ts under src/ is mutated, so files added later
// are covered unchanged. The runner runs src/ in groups (MUTATION_GROUPS), one
// Stryker run each with its own incremental file and report: on a 2-core machine
// the whole of src/ is hours, and a group's results are kept once it finishes
// (Stryker writes them only at the end of a run).
/** @type {Record<string, string[]>} */
export const MUTATION_GROUPS = {
  // The pure decisions every domain shares, the checks' rows and report, the pipeline.
  pure: [
    "src/config.ts", "src/steps.ts", "src/clip.ts", "src/sha256.ts", "src/checkout/plan.ts", "src/checkout/project.ts",
    "src/checks/plan.ts", "src/checks/report.ts", "src/python/plan.ts", "src/python/pre-commit.ts", "src/deploy/plan.ts", "src/rpi/plan.ts",
    "src/pipeline/**/*.ts",
  ],
  release: ["src/release/**/*.ts", "src/checks/bundle.ts"],
  media: ["src/media/**/*.ts", "src/ipxe/**/*.ts", "src/pxe/**/*.ts", "src/usb/**/*.ts"],
  // The facade and the Dagger side shared by every job.
  facade: ["src/index.ts", "src/containers.ts", "src/checkout/dagger.ts", "src/checks/dagger.ts", "src/python/dagger.ts",
    "src/deploy/dagger.ts", "src/rpi/dagger.ts"],
};
const group = process.env.BTY_CI_MUTATION_GROUP ?? "all";
const reports = `reports/mutation/${group}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  mutate: MUTATION_GROUPS[group] ?? ["src/**/*.ts"],
  // Run for each mutant only the tests that execute its code.
  coverageAnalysis: "perTest",
  // Default values of the module's arguments stay literal (see the plugin).
  plugins: ["@stryker-mutator/*", "./test/mutation/registered-defaults.mjs"],
  ignorers: ["registered-defaults"],
  // Static mutants (module-level constants: config.ts's pins, cache names and
  // package lists) only take effect in a fresh test process: the vitest runner
  // restarts its worker and reruns every test for each one, about a minute per
  // mutant on a busy 2-core machine. They are left out of the default run
  // (`npm run mutation:static` runs them too); the job contracts state those
  // values as literals.
  ignoreStatic: true,
  concurrency: 2,
  // Re-runs test only mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: `${reports}/stryker-incremental.json`,
  reporters: ["clear-text", "progress", "json", "html"],
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  jsonReporter: { fileName: `${reports}/mutation.json` },
  htmlReporter: { fileName: `${reports}/index.html` },
  // The payload tier's caches (venvs with symlinks, bty's checkout, built
  // images) are not needed by unit + module and cannot be copied into a sandbox.
  ignorePatterns: [".cache", "reports"],
  tempDirName: `.stryker-tmp/${group}`,
  cleanTempDir: true,
  // Added to 1.5 x a mutant's tests' own time. A worker restarted after a
  // timeout pays vitest's start and the SDK scan in its first run: a small
  // margin makes every later mutant of that worker time out in turn.
  timeoutMS: 60000,
};
