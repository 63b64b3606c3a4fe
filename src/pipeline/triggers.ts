/**
 * Which bty-ci functions run for a GitHub event (pure): the trigger table of
 * bty's workflows with the promises of bty's CI page kept
 * where bty's workflow breaks them:
 *
 * - a manual dispatch runs what a push of that ref runs, as bty's workflow
 *   does (on main it can tag, on a `v*` tag it publishes), whatever changed;
 * - tagging (main) and publishing (`v*` tags) wait for every check, build
 *   and end-to-end test; publishing runs in order, PyPI last;
 * - each end-to-end test waits only for the builds it boots (PXE: iPXE and
 *   netboot-pc, not ramboot-init; USB: usbboot-pc).
 *
 * The drop-in workflow (workflow.ts) is tested against this plan for every
 * event and path filter.
 */
import { CHECK_ROWS, type CheckRow } from "../checks/plan.js";

/** Events bty's workflows react to; `tag` is shorthand for a push of a tag. */
export const PLAN_EVENTS = ["pull_request", "push", "tag", "workflow_dispatch"] as const;
export type PlanEvent = (typeof PLAN_EVENTS)[number];

/** bty's `paths-ignore` for pull requests and pushes to main. */
export const PATHS_IGNORE = ["docs/**", "README.md", "CHANGELOG.md", "LICENSE", ".github/workflows/docs.yml"];

/** The branch bty's workflows watch. */
export const MAIN_BRANCH = "main";

/** The tags that release (`push: tags: ["v*"]`). */
export const RELEASE_TAG_PATTERN = "v*";

/** Which workflow file of bty's repository runs a planned call. */
export type WorkflowFile = "ci-cd.yml" | "docs.yml";

/** One function call the event starts. */
export interface PlannedCall {
  /** Job name as `dagger check -l` prints it (legs and firmwares as `fn:variant`). */
  name: string;
  /** Arguments after `dagger call` (a `{tag}` placeholder becomes the tag name). */
  call: string[];
  kind: "preflight" | "check" | "build" | "e2e" | "release";
  /** Names that must succeed before this call starts. */
  needs: string[];
  workflow: WorkflowFile;
}

/** The whole answer for one event. */
export interface Plan {
  event: Exclude<PlanEvent, "tag">;
  ref: string;
  changedPaths: string[];
  /** One sentence: why these calls (or none) run. */
  reason: string;
  /** Calls grouped in stages: a stage starts when everything it needs is done. */
  stages: PlannedCall[][];
  /** What bty's own workflow does differently for this event, if anything. */
  differsFromBty: string[];
}

const planned = (r: CheckRow): PlannedCall => ({ name: r.name, call: r.call, kind: r.kind, needs: r.needs, workflow: "ci-cd.yml" });

/** Every check and build, in the order of the run report. */
export const CHECKS: readonly PlannedCall[] = CHECK_ROWS.filter((r) => r.kind !== "e2e").map(planned);

/** End-to-end tests and exactly the builds each one boots. */
export const E2E: readonly PlannedCall[] = CHECK_ROWS.filter((r) => r.kind === "e2e").map(planned);

/** How test-pxe's needs differ from bty's, on every event that runs it. */
const PXE_NEEDS_DIFFER = "bty's test-pxe waits for the ramboot-init build too; here it waits for build-ipxe and build-netboot-pc only";

/** The docs.yml build bty keeps (it also deploys GitHub Pages on main). */
const DOCS_YML_BUILD: PlannedCall = { name: "docs", call: ["docs"], kind: "build", needs: [], workflow: "docs.yml" };

/** Normalized event and ref, or an error naming the fix. */
function normalize(event: string, ref: string): { event: Plan["event"]; ref: string } {
  if (!(PLAN_EVENTS as readonly string[]).includes(event)) {
    throw new Error(`unknown event "${event}": use one of ${PLAN_EVENTS.join(", ")}`);
  }
  const trimmed = ref.trim();
  if (!trimmed) throw new Error(`empty ref: pass a branch (main), a tag (v1.2.3) or a full ref (refs/heads/main)`);
  if (event === "tag") {
    if (trimmed.startsWith("refs/heads/")) throw new Error(`event "tag" needs a tag ref, got ${trimmed}: use --event push for branches`);
    return { event: "push", ref: trimmed.startsWith("refs/tags/") ? trimmed : `refs/tags/${trimmed}` };
  }
  if (trimmed.startsWith("refs/")) return { event: event as Plan["event"], ref: trimmed };
  // A bare name a push starts from: a release-tag name is the tag push bty
  // releases from (a branch by that name: pass refs/heads/<name>).
  const tagPush = event === "push" && globToRegExp(RELEASE_TAG_PATTERN).test(trimmed);
  return { event: event as Plan["event"], ref: tagPush ? `refs/tags/${trimmed}` : `refs/heads/${trimmed}` };
}

// GitHub's filter patterns: `**` is any path, and a `**` followed by a slash may
// also be no directory at all (the cheat sheet's `docs/**` + `/*.md` matches
// `docs/README.md`); `*` and `?` stay within one path segment.
/** A GitHub filter pattern as a regular expression. */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*" && pattern[i + 2] === "/") {
      re += "(?:.*/)?";
      i += 2;
    } else if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** True when every changed path is ignored (GitHub then starts no run); an unknown change list never is. */
export function onlyIgnoredPaths(changedPaths: readonly string[], ignore: readonly string[] = PATHS_IGNORE): boolean {
  if (changedPaths.length === 0) return false;
  const patterns = ignore.map(globToRegExp);
  return changedPaths.every((p) => patterns.some((re) => re.test(p)));
}

/** Group calls into stages by their needs (Kahn's algorithm, input order kept within a stage). */
export function toStages(calls: readonly PlannedCall[]): PlannedCall[][] {
  const done = new Set<string>();
  const names = new Set(calls.map((c) => c.name));
  for (const c of calls) {
    for (const n of c.needs) if (!names.has(n)) throw new Error(`${c.name} needs ${n}, which is not planned`);
  }
  const stages: PlannedCall[][] = [];
  let rest = [...calls];
  while (rest.length) {
    const ready = rest.filter((c) => c.needs.every((n) => done.has(n)));
    if (!ready.length) throw new Error(`dependency cycle among ${rest.map((c) => c.name).join(", ")}`);
    stages.push(ready);
    for (const c of ready) done.add(c.name);
    rest = rest.filter((c) => !ready.includes(c));
  }
  return stages;
}

const withNeeds = (c: PlannedCall, extra: string[]): PlannedCall => ({ ...c, needs: [...extra, ...c.needs] });

/**
 * The calls an event starts.
 *
 * @param event pull_request (ref = the PR's base branch), push, tag or workflow_dispatch
 * @param ref branch or tag name, or a full ref
 * @param changedPaths files the push or pull request changes (empty: unknown, assume code)
 */
export function plan(event: string, ref: string, changedPaths: readonly string[] = []): Plan {
  const n = normalize(event, ref);
  const paths = [...changedPaths];
  const result = (reason: string, calls: PlannedCall[], differsFromBty: string[] = []): Plan => ({
    event: n.event,
    ref: n.ref,
    changedPaths: paths,
    reason,
    stages: toStages(calls),
    differsFromBty,
  });
  const mainRef = `refs/heads/${MAIN_BRANCH}`;
  const isTag = n.ref.startsWith("refs/tags/");
  const tagName = isTag ? n.ref.slice("refs/tags/".length) : "";
  const releaseTag = isTag && globToRegExp(RELEASE_TAG_PATTERN).test(tagName);
  const everything = [...CHECKS, ...E2E];
  const gate = everything.map((c) => c.name);

  const dispatch = n.event === "workflow_dispatch";
  if (dispatch && !(isTag && releaseTag) && n.ref !== mainRef) {
    return result(
      `manual dispatch on ${n.ref}: every check, build and e2e test (path filters do not apply); no tag, no publish`,
      everything,
      [PXE_NEEDS_DIFFER],
    );
  }

  if (isTag && n.event !== "pull_request") {
    const how = dispatch ? `manual dispatch on release tag ${tagName}` : `push of release tag ${tagName}`;
    if (!releaseTag) return result(`push of tag ${tagName}: not a release tag (${RELEASE_TAG_PATTERN}), nothing runs`, []);
    const preflight: PlannedCall = {
      name: "check-not-published",
      call: ["check-not-published", "--tag", "{tag}"],
      kind: "preflight",
      needs: [],
      workflow: "ci-cd.yml",
    };
    const release = (name: string, needs: string[]): PlannedCall => ({ name, call: [name, "--tag", "{tag}"], kind: "release", needs, workflow: "ci-cd.yml" });
    return result(
      `${how}: path filters do not apply to tags; every check, build and e2e test, then jobs that run no bty code ` +
        "verify the checks' artifacts against their report and publish: the GitHub release, the images, PyPI last",
      [
        preflight,
        ...everything.map((c) => withNeeds(c, ["check-not-published"])),
        release("attach-to-release", ["check-not-published", ...gate]),
        release("publish-docker", ["attach-to-release"]),
        release("publish-tftp", ["attach-to-release"]),
        release("publish-pypi", ["publish-docker", "publish-tftp"]),
      ],
      [
        "bty's attach-to-release, publish-pypi and publish-docker do not wait for lint, flash-integration or the deploy tests; here every writing job waits for every check",
        "bty's check-not-published refuses a version with any file on the index; here only a completely published one, so re-running a release whose PyPI upload failed finishes it",
        PXE_NEEDS_DIFFER,
      ],
    );
  }

  const branch = n.ref.startsWith("refs/heads/") ? n.ref.slice("refs/heads/".length) : n.ref;
  if (n.ref !== mainRef) {
    const what = n.event === "pull_request" ? `pull request to ${branch}` : `push to ${branch}`;
    return result(`${what}: bty's workflows watch ${MAIN_BRANCH} only, nothing runs`, []);
  }

  const docsYml = [DOCS_YML_BUILD];
  if (!dispatch && onlyIgnoredPaths(paths)) {
    return result(
      `${n.event === "pull_request" ? "pull request" : "push"} changing only ignored paths (${PATHS_IGNORE.join(", ")}): ci-cd.yml does not start; docs.yml builds the docs${n.event === "push" ? " and deploys GitHub Pages" : ""}`,
      docsYml,
    );
  }
  if (n.event === "pull_request") {
    return result(
      `pull request to ${MAIN_BRANCH}: every check, build and e2e test (no tag, no publish); docs.yml builds the docs as well`,
      [...everything, ...docsYml],
      [PXE_NEEDS_DIFFER],
    );
  }
  const tagRelease: PlannedCall = {
    name: "tag-release",
    call: ["tag-release", "--token", "env:RELEASE_PAT"],
    kind: "release",
    needs: gate,
    workflow: "ci-cd.yml",
  };
  const what = dispatch ? `manual dispatch on ${MAIN_BRANCH} (path filters do not apply)` : `push to ${MAIN_BRANCH}`;
  return result(
    `${what}: every check, build and e2e test, then tag-release tags a new version by that run's report` +
      (dispatch ? "" : "; docs.yml builds the docs and deploys GitHub Pages"),
    [...everything, tagRelease, ...(dispatch ? [] : docsYml)],
    [PXE_NEEDS_DIFFER],
  );
}

/** Every planned call, stage by stage. */
export function plannedCalls(p: Plan): PlannedCall[] {
  return p.stages.flat();
}

/** The planned `dagger call` argument list with the tag filled in. */
export function callArgs(p: Plan, c: PlannedCall): string[] {
  const tag = p.ref.startsWith("refs/tags/") ? p.ref.slice("refs/tags/".length) : "";
  return c.call.map((a) => (a === "{tag}" ? tag : a));
}

/** Plain-text table: stage, workflow, job, call, needs. */
export function formatPlan(p: Plan): string {
  const head = [`${p.event} ${p.ref}${p.changedPaths.length ? ` (${p.changedPaths.length} changed paths)` : ""}`, p.reason];
  const rows = p.stages.flatMap((stage, i) =>
    stage.map((c) => [String(i + 1), c.workflow, c.name, `dagger call ${callArgs(p, c).join(" ")}`, summarizeNeeds(c.needs)]),
  );
  if (!rows.length) return [...head, "", "nothing runs"].join("\n");
  const header = ["stage", "workflow", "job", "call", "needs"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  const notes = [
    ...p.differsFromBty.map((d) => `differs from bty: ${d}`),
  ];
  return [...head, "", line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ...(notes.length ? ["", ...notes] : [])].join("\n");
}

/** Long needs lists (the release gates) are shown as a count. */
export function summarizeNeeds(needs: string[]): string {
  if (needs.length === 0) return "-";
  if (needs.length > 4) return `every check, build and e2e test (${needs.length})`;
  return needs.join(", ");
}

/** The plan as JSON (stable key order, two-space indent). */
export function planJson(p: Plan): string {
  return JSON.stringify(
    {
      ...p,
      stages: p.stages.map((s) => s.map((c) => ({ ...c, call: callArgs(p, c) }))),
    },
    null,
    2,
  );
}
