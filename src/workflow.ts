/**
 * The drop-in `.github/workflows/ci-cd.yml` for bty's repository (pure).
 * It installs the pinned Dagger CLI and calls bty-ci; everything else (what
 * runs, in which container, gated on what) is the module's. The event-to-call
 * mapping is the one `plan` describes, which a test checks by evaluating this
 * file's triggers, path filters and `if:` conditions with GitHub's own parser.
 */
import { stringify } from "yaml";

import { BTY_CI_MODULE, WORKFLOW_PINS } from "./config.js";
import { MAIN_BRANCH, PATHS_IGNORE, RELEASE_TAG_PATTERN, TEST_LEGS } from "./plan.js";
import { REPORT_PASSED_MARKER } from "./report.js";

/** How the workflow reaches bty-ci. */
export interface WorkflowOptions {
  /**
   * Module reference with a pinned ref (`github.com/safl/bty-ci@v1.2.3`);
   * empty: bty-ci is installed as a toolchain of bty's repository.
   */
  module: string;
}

type Step = Record<string, unknown>;
type Job = Record<string, unknown>;

const IS_TAG = "startsWith(github.ref, 'refs/tags/')";
const IS_RELEASE_TAG = `github.event_name == 'push' && startsWith(github.ref, 'refs/tags/${RELEASE_TAG_PATTERN.replace("*", "")}')`;
const IS_MAIN_PUSH = `github.event_name == 'push' && github.ref == 'refs/heads/${MAIN_BRANCH}'`;

/** The shell prefix of every call: `-m <module> call --source .`, or the toolchain's `call bty-ci`. */
export function daggerCall(opts: WorkflowOptions): string {
  return opts.module ? `dagger --progress=plain -m ${opts.module} call --source .` : "dagger --progress=plain call bty-ci";
}

/** Validated options, or an error naming the fix. */
export function workflowOptions(module: string): WorkflowOptions {
  const m = module.trim();
  if (m && !/^[\w.-]+(\/[\w.-]+)+@[\w./-]+$/.test(m)) {
    throw new Error(
      `module "${module}" has no pinned ref: pass e.g. ${BTY_CI_MODULE}@v1.2.3 (a tag or commit), or "" when bty-ci is installed as a toolchain`,
    );
  }
  return { module: m };
}

const checkout: Step = { name: "Check out bty", uses: WORKFLOW_PINS.checkout, with: { "persist-credentials": false } };

const freeDisk: Step = {
  name: "Free disk space for the live image builds",
  run: [
    "sudo rm -rf /usr/share/dotnet /usr/local/lib/android /opt/ghc /opt/hostedtoolcache/CodeQL",
    "sudo docker image prune --all --force",
    "df -h /",
  ].join("\n"),
};

/** Opens /dev/kvm to the engine's QEMU; must run before the engine starts. */
const kvm: Step = {
  name: "Allow KVM (before the Dagger engine starts)",
  run: [
    `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' | sudo tee /etc/udev/rules.d/99-kvm4all.rules`,
    "sudo udevadm control --reload-rules",
    "sudo udevadm trigger --name-match=kvm",
    "ls -l /dev/kvm",
  ].join("\n"),
};

const installDagger: Step = {
  name: `Install the Dagger CLI v${WORKFLOW_PINS.daggerCli} (dagger/dagger-for-github v8.4.1)`,
  uses: WORKFLOW_PINS.daggerAction,
  with: { version: WORKFLOW_PINS.daggerCli, verb: "version" },
};

/** Environment of every job: the Dagger Cloud token when the repository has one (empty otherwise). */
const cloudEnv = { DAGGER_CLOUD_TOKEN: "${{ secrets.DAGGER_CLOUD_TOKEN }}" };

/**
 * The argument every call that takes the checked-out commit passes. `head`
 * is a GitRef whose `defaultPath: "/"` Dagger v0.21.8 resolves to the
 * module's own repository, under `-m` and as a toolchain alike (seen on a
 * real engine): without it, tag-release would tag a bty-ci commit and
 * publish's gate would compare the tag with one. `.` is bty's checkout.
 */
const HEAD_ARG = "--head .";

/** A step that runs `call`, writes its Markdown report to the job summary and fails unless it passed. */
function reportStep(name: string, prefix: string, call: string, file: string): Step {
  return {
    name,
    run: [
      "set -euo pipefail",
      `report="$RUNNER_TEMP/${file}"`,
      `${prefix} ${call} --format markdown --fail-on-error=false > "$report"`,
      `cat "$report" >> "$GITHUB_STEP_SUMMARY"`,
      `if ! grep -qxF '${REPORT_PASSED_MARKER}' "$report"; then`,
      `  echo "::error::${name}: a job failed; its last log lines are in the job summary"`,
      "  exit 1",
      "fi",
    ].join("\n"),
  };
}

/** A step running one call. */
function callStep(name: string, prefix: string, call: string, env?: Record<string, string>): Step {
  return { name, ...(env ? { env } : {}), run: `${prefix} ${call}` };
}

/** The workflow as a plain object (what {@link workflowYaml} serializes). */
export function workflowObject(opts: WorkflowOptions): Record<string, unknown> {
  const dagger = daggerCall(opts);
  const jobs: Record<string, Job> = {
    checks: {
      name: "All checks, builds and e2e tests (bty-ci all-checks)",
      if: `github.event_name != 'workflow_dispatch' && !${IS_TAG}`,
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": 150,
      permissions: { contents: "read" },
      env: cloudEnv,
      steps: [checkout, freeDisk, kvm, installDagger, reportStep("all-checks", dagger, "all-checks", "all-checks.md")],
    },
    "tag-release": {
      name: "Tag a new version (bty-ci tag-release)",
      needs: ["checks"],
      if: IS_MAIN_PUSH,
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": 15,
      // The tag is pushed with RELEASE_PAT so that it starts a new run
      // (a GITHUB_TOKEN push would not); the job token needs nothing more.
      permissions: { contents: "read" },
      env: cloudEnv,
      steps: [
        checkout,
        installDagger,
        callStep("tag-release", dagger, `tag-release ${HEAD_ARG} --token env:RELEASE_PAT`, { RELEASE_PAT: "${{ secrets.RELEASE_PAT }}" }),
      ],
    },
    release: {
      name: "Check, build, test and publish the tag (bty-ci publish)",
      if: IS_RELEASE_TAG,
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": 180,
      // Release assets (contents), ghcr.io images (packages), PyPI trusted
      // publishing (id-token, environment pypi).
      permissions: { contents: "write", packages: "write", "id-token": "write" },
      environment: "pypi",
      env: { ...cloudEnv, TAG: "${{ github.ref_name }}" },
      steps: [
        checkout,
        freeDisk,
        kvm,
        installDagger,
        callStep("check-not-published", dagger, 'check-not-published --tag "$TAG"'),
        // Checks and publish share this runner's engine: what publish ships
        // is what all-checks just built and tested.
        reportStep("all-checks", dagger, "all-checks", "all-checks.md"),
        // Release with the job token, images to ghcr.io as the actor, PyPI
        // by trusted publishing (the runner's OIDC request values).
        {
          ...reportStep(
            "publish",
            dagger,
            `publish --tag "$TAG" ${HEAD_ARG} --github-token env:GITHUB_TOKEN --registry-user "$GITHUB_ACTOR" --registry-token env:GITHUB_TOKEN ` +
              "--oidc-request-token env:ACTIONS_ID_TOKEN_REQUEST_TOKEN --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL",
            "publish.md",
          ),
          env: { GITHUB_TOKEN: "${{ secrets.GITHUB_TOKEN }}" },
        },
      ],
    },
    smoke: {
      name: "Package smoke test (bty-ci test + build-wheel)",
      if: "github.event_name == 'workflow_dispatch'",
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": 60,
      permissions: { contents: "read" },
      env: cloudEnv,
      steps: [
        checkout,
        installDagger,
        ...TEST_LEGS.map((leg) => callStep(`test ${leg}`, dagger, `test ${leg}`)),
        callStep("build-wheel", dagger, "build-wheel"),
      ],
    },
  };
  return {
    name: "CI",
    on: {
      pull_request: { branches: [MAIN_BRANCH], "paths-ignore": [...PATHS_IGNORE] },
      push: { branches: [MAIN_BRANCH], tags: [RELEASE_TAG_PATTERN], "paths-ignore": [...PATHS_IGNORE] },
      workflow_dispatch: null,
    },
    permissions: {},
    concurrency: {
      group: "ci-cd-${{ github.ref }}",
      // Superseded pull request runs stop; a push to main or a tag never
      // stops half-way through tagging or publishing.
      "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
    },
    jobs,
  };
}

const HEADER = `bty's CI/CD through bty-ci (generated by \`dagger call workflow\`; regenerate, don't edit).
Pull requests and pushes to main: every check, build and e2e test (all-checks);
main also tags a new version (tag-release). v* tags: check-not-published,
all-checks, then publish, on one engine. Manual dispatch: test + build-wheel
only, never tags or publishes. Docs-only changes are left to docs.yml.
Secrets: RELEASE_PAT (tag push), DAGGER_CLOUD_TOKEN (optional traces).`;

/** The workflow file's text. */
export function workflowYaml(opts: WorkflowOptions): string {
  const body = stringify(workflowObject(opts), { lineWidth: 0, nullStr: "", aliasDuplicateObjects: false });
  const header = HEADER.split("\n").map((l) => `# ${l}`).join("\n");
  return `${header}\n${body}`;
}
