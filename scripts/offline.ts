/**
 * `plan` and `workflow` without a Dagger engine: the same pure code the
 * module's functions call, for a first look or an air-gapped adoption.
 *
 *   npm run -s plan -- --event pull_request [--ref main] [--changed-paths a,b] [--format json]
 *   npm run -s workflow -- [--module github.com/safl/bty-ci@<ref>] > .github/workflows/ci-cd.yml
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

import { formatPlan, plan, planJson } from "../src/pipeline/triggers.js";
import { workflowOptions, workflowYaml } from "../src/pipeline/workflow.js";

const USAGE = `usage:
  offline.ts plan --event <pull_request|push|tag|workflow_dispatch> [--ref main] [--changed-paths a,b] [--format table|json]
  offline.ts workflow [--module github.com/safl/bty-ci@<ref>]   ("" = bty-ci installed as a toolchain)
exit codes: 0 ok, 2 usage or input error`;

/** Run one command; returns the exit code and writes to the given streams. */
export function main(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const [command, ...rest] = argv;
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        event: { type: "string" },
        ref: { type: "string", default: "main" },
        "changed-paths": { type: "string", default: "" },
        format: { type: "string", default: "table" },
        module: { type: "string", default: "github.com/safl/bty-ci@v0.2.0" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
    if (values.help || command === "-h" || command === "--help") {
      out(USAGE);
      return 0;
    }
    if (command === "plan") {
      if (!values.event) throw new Error("plan needs --event (pull_request, push, tag or workflow_dispatch)");
      if (values.format !== "table" && values.format !== "json") throw new Error(`unknown --format "${values.format}": use table or json`);
      const paths = values["changed-paths"].split(",").map((p) => p.trim()).filter(Boolean);
      const p = plan(values.event, values.ref, paths);
      out(values.format === "json" ? planJson(p) : formatPlan(p));
      return 0;
    }
    if (command === "workflow") {
      out(workflowYaml(workflowOptions(values.module)).trimEnd());
      return 0;
    }
    throw new Error(`unknown command "${command ?? ""}": use plan or workflow`);
  } catch (e) {
    err(`offline.ts: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2), (s) => console.log(s), (s) => console.error(s));
}
