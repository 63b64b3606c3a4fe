/**
 * all-checks-bundle's layout (pure): the run report and every build's
 * release files, where the writing jobs take them from. The drop-in uploads
 * these folders as bty's workflow artifacts of the same names.
 */
import { checkName } from "./plan.js";
import { assetGroups } from "../release/assets.js";

/** Top-level names of the bundle. */
export const BUNDLE = {
  markdown: "report.md",
  json: "report.json",
  gathered: "gathered",
  docsHtml: "docs-html",
  /** debug/<job>/: the debug bundle of each end-to-end test that failed. */
  debug: "debug",
} as const;

/** One folder of the bundle: the job whose output fills it, and which of its files. */
export interface BundleFolder {
  /** Path in the bundle, e.g. gathered/dist. */
  path: string;
  /** The all-checks job (CLI name) whose Directory it copies. */
  job: string;
  /** Paths inside that Directory to copy (files, or a folder's contents for docs-html). */
  include: string[];
  /** Copy this folder of the job's output instead of its root (docs-html: html). */
  from?: string;
}

/**
 * The folders of a bundle of `version`: one per release asset group under
 * gathered/ (released files and their sidecars, nothing else), and the HTML
 * site the docs job built.
 */
export function bundleLayout(version: string): BundleFolder[] {
  const groups = assetGroups(version).map(
    (g): BundleFolder => ({ path: `${BUNDLE.gathered}/${g.group}`, job: checkName(g.builtBy), include: [...g.files, ...g.sidecars] }),
  );
  return [...groups, { path: BUNDLE.docsHtml, job: checkName("docs"), include: ["**"], from: "html" }];
}


/** A failed job's debug folder: debug/<job>, the job's `:` (test-pxe:bios) as `-`. */
export function debugFolder(job: string): string {
  return `${BUNDLE.debug}/${job.replace(/:/g, "-")}`;
}
