/**
 * all-checks-bundle's directory (Dagger side): the layout of ./layout.ts
 * filled with the run report and the passed builds' outputs.
 */
import { dag, type Directory } from "@dagger.io/dagger";

import { BUNDLE, bundleLayout } from "./layout.js";
import { renderReport, type RunReport } from "../report.js";

/** The bundle of `version`: both renderings of `report`, and every folder whose job passed (`outputs`: job → its Directory). */
export function checksBundle(version: string, report: RunReport, outputs: ReadonlyMap<string, Directory>): Directory {
  let dir = dag
    .directory()
    .withNewFile(BUNDLE.markdown, renderReport(report, "markdown"))
    .withNewFile(BUNDLE.json, renderReport(report, "json"));
  for (const folder of bundleLayout(version)) {
    const out = outputs.get(folder.job);
    if (!out) continue;
    dir = dir.withDirectory(folder.path, folder.from ? out.directory(folder.from) : out, { include: folder.include });
  }
  return dir;
}
