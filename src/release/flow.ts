/**
 * The tag flow of `publish` as data: the ordered steps, what each needs, how
 * a re-run decides what is left, and the report of a partial failure. The
 * order makes publishing from a red build impossible (every check passes
 * before anything leaves) and puts PyPI last, the one step that can never
 * be undone. Every step can run again: the release and PyPI detect what is
 * done (the release matches its manifest, the files are on the index), and
 * the images are built and pushed again under the same tags, so running the
 * flow again finishes whatever a failure left.
 */
import { ReleaseInputError } from "./version.js";
import { type CheckResult, failureTail } from "../checks/report.js";

export const PUBLISH_STEPS = ["gate", "checks", "release", "images", "pypi"] as const;
export type PublishStep = (typeof PUBLISH_STEPS)[number];

/** What each step does, for the plan and the reports. */
export const STEP_DESCRIPTIONS: Record<PublishStep, string> = {
  gate: "tag = v<pyproject version>, PEP 440, tag on the checked-out commit, version not yet on the index",
  checks: "every check and build (all-checks); any failure stops the flow here",
  release: "GitHub release for the tag: every asset + .sha256 + release.toml, read back and verified",
  images: "bty-web and bty-tftp container images, tags <version> and latest",
  pypi: "wheel + sdist to the package index (skip-existing); last, it cannot be undone",
};

/** Credentials the caller supplied (presence only: never the values). */
export interface CredentialPresence {
  githubToken: boolean;
  registryUser: boolean;
  registryToken: boolean;
  pypiToken: boolean;
  /** Both ACTIONS_ID_TOKEN_REQUEST_TOKEN and _URL (PyPI trusted publishing). */
  oidc: boolean;
}

/**
 * Refuse a flow whose credentials are missing, before anything is built:
 * naming every missing one, and how to pass it.
 */
export function assertCredentials(have: CredentialPresence): void {
  const missing: string[] = [];
  if (!have.githubToken) missing.push("release: --github-token env:GITHUB_TOKEN");
  if (!have.registryUser) missing.push("images: --registry-user (GITHUB_ACTOR)");
  if (!have.registryToken) missing.push("images: --registry-token env:GITHUB_TOKEN (packages: write)");
  if (!have.pypiToken && !have.oidc) {
    missing.push(
      "pypi: --pypi-token env:PYPI_TOKEN, or trusted publishing with --oidc-request-token " +
        "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL",
    );
  }
  if (missing.length > 0) throw new ReleaseInputError(`missing credentials: ${missing.join("; ")}`);
}

/** What the package index holds for the version: its file names, or null for an unknown project. */
export type IndexState = string[] | null;

/**
 * The index gate of a (re-)run. Nothing on the index: publish. Some but not
 * all of the distribution files: a previous run failed inside its last
 * step, so the flow may finish it. All of them: this version is released;
 * refuse (a re-tag of a published version must not rebuild and re-upload).
 */
export function indexGate(state: IndexState, distFiles: string[], version: string, where = "the package index"): "publish" | "finish" {
  if (state === null || state.length === 0) return "publish";
  const present = state.filter((f) => distFiles.includes(f));
  if (present.length === distFiles.length) {
    throw new ReleaseInputError(
      `${where} already has bty-lab ${version} (${present.join(", ")}): ` +
        "bump [project] version in pyproject.toml and tag again",
    );
  }
  if (present.length === 0) {
    throw new ReleaseInputError(
      `${where} has bty-lab ${version} with other files (${state.join(", ")}): ` +
        "it was published from elsewhere; bump the version",
    );
  }
  return "finish";
}

/** How each step of one run ended (seconds: how long it ran). */
export type StepOutcome =
  | { step: PublishStep; status: "done"; detail: string; seconds?: number }
  | { step: PublishStep; status: "failed"; detail: string; seconds?: number }
  | { step: PublishStep; status: "not run" };

/** Run the steps in order; stop at the first failure, reporting the rest as not run. */
export async function runInOrder(
  steps: Record<PublishStep, () => Promise<string>>,
  clock: () => number = () => performance.now(),
): Promise<{ ok: boolean; outcomes: StepOutcome[] }> {
  const outcomes: StepOutcome[] = [];
  let failed = false;
  for (const step of PUBLISH_STEPS) {
    if (failed) {
      outcomes.push({ step, status: "not run" });
      continue;
    }
    const start = clock();
    const seconds = () => (clock() - start) / 1000;
    try {
      const detail = await steps[step]();
      outcomes.push({ step, status: "done", detail, seconds: seconds() });
    } catch (err) {
      failed = true;
      outcomes.push({ step, status: "failed", detail: err instanceof Error ? err.message : String(err), seconds: seconds() });
    }
  }
  return { ok: !failed, outcomes };
}

/**
 * The steps as check results, for the run report's Markdown and JSON: a step
 * that did not run is reported failed with that reason, its failure's last
 * lines as the tail.
 */
export function outcomesAsResults(outcomes: StepOutcome[]): CheckResult[] {
  return outcomes.map((o) => {
    if (o.status === "not run") return { name: o.step, ok: false, seconds: 0, reason: "not run: an earlier step failed", tail: [] };
    return {
      name: o.step,
      ok: o.status === "done",
      seconds: o.seconds ?? 0,
      reason: o.detail.split("\n")[0]!, // split gives at least one element
      tail: o.status === "failed" ? failureTail(o.detail) : [],
    };
  });
}

/** The report of a run: one line per step; on failure, how to finish. */
export function formatOutcomes(tag: string, outcomes: StepOutcome[]): string {
  const lines = outcomes.map((o) => `${o.step.padEnd(8)} ${o.status.padEnd(8)}${"detail" in o ? ` ${o.detail}` : ""}`);
  const failed = outcomes.find((o) => o.status === "failed");
  const done = outcomes.filter((o) => o.status === "done").map((o) => o.step);
  if (failed) {
    lines.push(
      `publish ${tag} stopped at "${failed.step}"; completed: ${done.length > 0 ? done.join(", ") : "nothing"}. ` +
        "Fix the cause and run publish again: completed steps are detected and kept, the rest is finished.",
    );
  } else {
    lines.push(`publish ${tag}: every step completed`);
  }
  return lines.join("\n");
}

/** The dry-run plan: every step in order with what it would do. */
export function formatPlan(tag: string, extra: Partial<Record<PublishStep, string>>): string {
  return [
    `publish ${tag} (dry run: nothing is sent)`,
    ...PUBLISH_STEPS.map((s, i) => `${i + 1}. ${s.padEnd(8)} ${STEP_DESCRIPTIONS[s]}${extra[s] ? `\n   ${extra[s]}` : ""}`),
  ].join("\n");
}

/**
 * check-not-published's verdict. Refuses a version the index has completely
 * (every distribution file) or from elsewhere; a version with some of its
 * files passes, so that re-running a release whose PyPI upload failed
 * half-way finishes it (bty's gate refuses any file, which leaves "Re-run
 * failed jobs" no way through).
 */
export function notPublishedVerdict(answer: { index: string; files: string[] | null }, version: string, distFiles: string[]): string {
  if (answer.files === null) return `${answer.index} does not know bty-lab yet: ${version} is not published`;
  if (indexGate(answer.files, distFiles, version, answer.index) === "finish") {
    return `${answer.index} has part of bty-lab ${version} (${answer.files.join(", ")}): not completely published; a re-run of its release finishes it`;
  }
  return `${answer.index} has no bty-lab ${version}: not published`;
}

/** tag-release runs on main only (bty: `if: github.ref == 'refs/heads/main'`). */
export function assertOnMain(ref: string): void {
  if (ref !== "refs/heads/main" && ref !== "main") {
    throw new ReleaseInputError(`tag-release creates release tags from main only; the checkout is on "${ref}": run it on main`);
  }
}
