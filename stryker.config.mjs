// Mutation testing of src/ against the unit and module tiers (`npm run mutation`).
// Every .ts under src/ is mutated, so files added later are covered unchanged.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  mutate: ["src/**/*.ts"],
  // Run for each mutant only the tests that execute its code.
  coverageAnalysis: "perTest",
  // Static mutants (module-level constants such as config.ts) need every test run again per mutant.
  ignoreStatic: false,
  concurrency: 2,
  // Re-runs test only mutants whose code or covering tests changed since the last run.
  incremental: true,
  incrementalFile: "reports/mutation/stryker-incremental.json",
  reporters: ["clear-text", "progress", "json", "html"],
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  htmlReporter: { fileName: "reports/mutation/index.html" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
  timeoutMS: 15000,
};
