/**
 * Which bty tree a call works on (decision D57), as a pure decision: the
 * tree given with --source, else the caller's workspace when it is a bty
 * checkout, else bty at its pinned release. Only an explicit --source that
 * is not bty is refused; a workspace that is not bty (bty-ci's own clone, a
 * home directory) means "no checkout here".
 */
import { parse as parseToml } from "smol-toml";

import { BTY_RELEASE } from "../config.js";
import { MISSING_PYPROJECT, parsePyproject, ProjectError, type ProjectInfo } from "./project.js";

/** What a tree's root holds: its pyproject.toml text, or undefined without one. */
export interface TreeProbe {
  pyproject: string | undefined;
}

export type CheckoutOrigin = "source" | "workspace" | "pinned";

export interface ChosenCheckout {
  origin: CheckoutOrigin;
  /** The chosen tree's project; for "pinned", the release pinned in config. */
  project: ProjectInfo;
}

/**
 * False only for a pyproject.toml that is valid TOML and names another
 * project (or none): a bty checkout with a broken pyproject.toml is still
 * the checkout the caller meant, and parsePyproject says what is wrong.
 */
function mayBeBty(pyproject: string): boolean {
  let data: unknown;
  try {
    data = parseToml(pyproject);
  } catch {
    return true;
  }
  const project = (data as { project?: { name?: unknown } }).project;
  return project?.name === BTY_RELEASE.project;
}

/** The checkout a call works on, or a ProjectError that names the fix. */
export function chooseCheckout(given: TreeProbe | undefined, workspace: TreeProbe | undefined): ChosenCheckout {
  if (given) {
    if (given.pyproject === undefined) throw new ProjectError(MISSING_PYPROJECT);
    const project = parsePyproject(given.pyproject);
    if (project.name !== BTY_RELEASE.project) {
      throw new ProjectError(
        `--source is not a bty checkout: its [project] name is "${project.name}", not "${BTY_RELEASE.project}"; ` +
          `pass bty's checkout with --source <path-to-bty>, or leave --source out to use the checkout you run from ` +
          `(outside one: bty ${BTY_RELEASE.version} at its pinned release)`,
      );
    }
    return { origin: "source", project };
  }
  if (workspace?.pyproject !== undefined && mayBeBty(workspace.pyproject)) {
    return { origin: "workspace", project: parsePyproject(workspace.pyproject) };
  }
  return { origin: "pinned", project: { name: BTY_RELEASE.project, version: BTY_RELEASE.version } };
}

/** Why there is no tree to work on when bty's pinned release cannot be fetched, and what to do. */
export function pinnedFetchFailed(reason: string): string {
  return (
    `no bty checkout here, and bty ${BTY_RELEASE.version} at its pinned release could not be fetched ` +
    `(${BTY_RELEASE.gitUrl} at ${BTY_RELEASE.commit}: ${reason.split("\n")[0]}): ` +
    "run from bty's checkout, or pass one with --source <path-to-bty>"
  );
}

/** The report's first line: which tree this run checked. */
export function checkoutLine(origin: CheckoutOrigin, version: string): string {
  switch (origin) {
    case "source":
      return `bty ${version}: the checkout given with --source`;
    case "workspace":
      return `bty ${version}: the checkout this was called from`;
    case "pinned":
      return `bty ${version} at its pinned release (commit ${BTY_RELEASE.commit.slice(0, 12)}): no bty checkout here; run from bty's checkout or pass --source to check yours`;
  }
}

/**
 * Where a release function's commit comes from: --head, else the workspace's
 * git HEAD when the workspace is the checkout. With --source the workspace
 * may be another tree, and bty at its pinned release is nothing to release
 * from, so both ask for what is missing.
 */
export function headOrigin(origin: CheckoutOrigin, headGiven: boolean, fn: string): "given" | "workspace" {
  if (headGiven) return "given";
  if (origin === "workspace") return "workspace";
  if (origin === "source") {
    throw new ProjectError(`${fn} with --source needs that checkout's commit too: add --head with the same path (e.g. --source ../bty --head ../bty)`);
  }
  throw new ProjectError(`${fn} releases a bty checkout, and there is none here: run it from bty's checkout (or pass --source and --head)`);
}
