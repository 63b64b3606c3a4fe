/**
 * all-checks-bundle's directory (Dagger side): the layout of ./layout.ts
 * filled with the run report and the passed builds' outputs.
 */
import { dag, type Directory } from "@dagger.io/dagger";

import { BUNDLE, bundleLayout, debugFolder } from "./layout.js";
import { renderReport, type RunReport } from "../report.js";

/**
 * The bundle of `version`: both renderings of `report`, every folder whose
 * job passed (`outputs`: job → its Directory) and each failed job's debug
 * bundle (`failures`: job → its bundle) under debug/<job>/.
 */
export function checksBundle(
  version: string,
  report: RunReport,
  outputs: ReadonlyMap<string, Directory>,
  failures: ReadonlyMap<string, Directory> = new Map(),
): Directory {
  let dir = dag
    .directory()
    .withNewFile(BUNDLE.markdown, renderReport(report, "markdown"))
    .withNewFile(BUNDLE.json, renderReport(report, "json"));
  for (const folder of bundleLayout(version)) {
    const out = outputs.get(folder.job);
    if (!out) continue;
    dir = dir.withDirectory(folder.path, folder.from ? out.directory(folder.from) : out, { include: folder.include });
  }
  for (const [job, bundle] of failures) dir = dir.withDirectory(debugFolder(job), bundle);
  return dir;
}
