#!/usr/bin/env node
// `npm run mutation [-- GROUP ...]`: StrykerJS over src/ with the unit + module
// tiers, one run per group of stryker.config.mjs (all groups by default), then
// the score of every group whose report exists and the mutants no test noticed.
// Exit 0 when every run finished, 1 when a run failed, 2 on bad usage.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import picomatch from "picomatch";

import { MUTATION_GROUPS } from "../stryker.config.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const REPORTS = join(ROOT, "reports/mutation");
const USAGE = `usage: npm run mutation [-- GROUP ...]   groups: ${Object.keys(MUTATION_GROUPS).join(", ")}
  --report   print the scores of the existing reports only (no run)`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}
const reportOnly = args.includes("--report");
const named = args.filter((a) => a !== "--report");
const unknown = named.filter((g) => !(g in MUTATION_GROUPS));
if (unknown.length) {
  console.error(`mutation: unknown group(s) ${unknown.join(", ")}\n${USAGE}`);
  process.exit(2);
}

// Every source file in exactly one group, so "all groups" is all of src/.
const sources = readdirSync(join(ROOT, "src"), { recursive: true }).map(String).filter((f) => f.endsWith(".ts")).map((f) => `src/${f}`);
const matchers = Object.entries(MUTATION_GROUPS).map(([g, globs]) => [g, picomatch(globs)]);
for (const file of sources) {
  const groups = matchers.filter(([, match]) => match(file)).map(([g]) => g);
  if (groups.length !== 1) {
    console.error(`mutation: ${file} is in ${groups.length ? `groups ${groups.join(", ")}` : "no group"}: give it exactly one in stryker.config.mjs MUTATION_GROUPS`);
    process.exit(2);
  }
}

let failed = false;
if (!reportOnly) {
  for (const group of named.length ? named : Object.keys(MUTATION_GROUPS)) {
    console.log(`\n== mutation group ${group}: ${MUTATION_GROUPS[group].join(" ")}`);
    const r = spawnSync("npx", ["stryker", "run"], { cwd: ROOT, stdio: "inherit", env: { ...process.env, BTY_CI_MUTATION_GROUP: group } });
    if (r.status !== 0) {
      console.error(`mutation: group ${group} exited ${r.status}`);
      failed = true;
    }
  }
}

// Scores from the JSON reports (mutation-testing-report-schema).
const DETECTED = new Set(["Killed", "Timeout"]);
const UNDETECTED = new Set(["Survived", "NoCoverage"]);
const rows = [];
const undetected = [];
for (const group of Object.keys(MUTATION_GROUPS)) {
  const file = join(REPORTS, group, "mutation.json");
  if (!existsSync(file)) {
    rows.push([group, "no report yet", "", "", "", ""]);
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8"));
  const count = { detected: 0, undetected: 0, ignored: 0, invalid: 0 };
  for (const [path, { mutants }] of Object.entries(report.files)) {
    for (const m of mutants) {
      if (DETECTED.has(m.status)) count.detected++;
      else if (UNDETECTED.has(m.status)) {
        count.undetected++;
        undetected.push(`${relative(ROOT, join(ROOT, path))}:${m.location.start.line}  ${m.status.padEnd(10)} ${m.mutatorName}: ${(m.replacement ?? "").split("\n")[0].slice(0, 90)}`);
      } else if (m.status === "Ignored") count.ignored++;
      else count.invalid++;
    }
  }
  const score = (100 * count.detected) / Math.max(1, count.detected + count.undetected);
  rows.push([group, `${score.toFixed(1)} %`, String(count.detected), String(count.undetected), String(count.ignored), statSync(file).mtime.toISOString().slice(0, 16)]);
  rows.total = rows.total ?? { detected: 0, undetected: 0 };
  rows.total.detected += count.detected;
  rows.total.undetected += count.undetected;
}
const table = [["group", "score", "detected", "undetected", "ignored", "report of"], ...rows];
console.log("\nmutation score (detected = killed + timed out; undetected = survived + no coverage):");
for (const r of table) console.log(r.map((c, i) => c.padEnd(i === 0 ? 9 : 12)).join(""));
if (rows.total) {
  const { detected, undetected: missed } = rows.total;
  console.log(`${"total".padEnd(9)}${`${((100 * detected) / Math.max(1, detected + missed)).toFixed(1)} %`.padEnd(12)}${String(detected).padEnd(12)}${missed}`);
}
if (undetected.length) console.log(`\nmutants no test noticed (${undetected.length}):\n${undetected.join("\n")}`);
process.exit(failed ? 1 : 0);
