/** The bty tree a call works on, chosen (checkout/plan.ts) and checked before any job runs. */
import { dag, type Directory, type GitRef, type Workspace } from "@dagger.io/dagger";

import { type CheckoutOrigin, chooseCheckout, headOrigin, pinnedFetchFailed, type TreeProbe } from "./plan.js";
import { BTY_RELEASE, SOURCE_IGNORE } from "../config.js";
import { MISSING_PYPROJECT, parsePyproject, ProjectError, type ProjectInfo } from "./project.js";

/** Read and validate the checkout's pyproject.toml before any job runs. */
export async function readProject(source: Directory): Promise<ProjectInfo> {
  const { pyproject } = await probe(source);
  if (pyproject === undefined) throw new ProjectError(MISSING_PYPROJECT);
  return parsePyproject(pyproject);
}

export interface Checkout {
  tree: Directory;
  origin: CheckoutOrigin;
  project: ProjectInfo;
}

async function probe(dir: Directory): Promise<TreeProbe> {
  return { pyproject: (await dir.exists("pyproject.toml")) ? await dir.file("pyproject.toml").contents() : undefined };
}

/** bty at its pinned release, through the engine's git. */
export function pinnedBty(): Directory {
  return dag.git(BTY_RELEASE.gitUrl).commit(BTY_RELEASE.commit).tree({ discardGitDir: true });
}

/**
 * --source, else the caller's workspace (its git root) when it is bty, else
 * bty at its pinned release. Only the workspace's pyproject.toml is read to
 * decide, so a call from a directory that is not bty uploads nothing of it.
 */
export async function resolveCheckout(given: Directory | undefined, workspace: Workspace | undefined): Promise<Checkout> {
  const chosen = chooseCheckout(
    given ? await probe(given) : undefined,
    workspace && !given ? await probe(workspace.directory("/", { include: ["pyproject.toml"] })) : undefined,
  );
  switch (chosen.origin) {
    case "source":
      return { ...chosen, tree: given! };
    case "workspace":
      return { ...chosen, tree: workspace!.directory("/", { exclude: [...SOURCE_IGNORE] }) };
    case "pinned": {
      const tree = pinnedBty();
      try {
        return { origin: "pinned", project: await readProject(tree), tree };
      } catch (err) {
        // The engine's git says only "exit status 128" here; its log has the cause.
        throw new ProjectError(pinnedFetchFailed(err instanceof Error ? err.message : String(err)));
      }
    }
  }
}

/** The commit a release function works on (see headOrigin). */
export function resolveHead(checkout: Checkout, head: GitRef | undefined, workspace: Workspace | undefined, fn: string): GitRef {
  if (headOrigin(checkout.origin, head !== undefined, fn) === "given") return head!;
  // Only the git directory: the tree itself is the checkout already uploaded.
  return workspace!.directory("/", { include: [".git/"] }).asGit().head();
}
