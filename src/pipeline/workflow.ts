/**
 * The drop-in `.github/workflows/ci-cd.yml` for bty's repository (pure).
 * It installs the pinned Dagger CLI and calls bty-ci; everything else (what
 * runs, in which container, gated on what) is the module's. The event-to-call
 * mapping is the one `plan` describes, which a test checks by evaluating this
 * file's triggers, path filters and `if:` conditions with GitHub's own parser.
 */
import { stringify } from "yaml";

import { BTY_CI_MODULE, WORKFLOW_PINS } from "../config.js";
import { MAIN_BRANCH, PATHS_IGNORE, RELEASE_TAG_PATTERN } from "./triggers.js";
import { BUNDLE } from "../checks/bundle.js";
import { timeoutMinutes } from "./job-budget.js";
import { ASSET_GROUP_NAMES } from "../release/assets.js";
import { PROJECT_PAGE_PREFIX } from "../release/pypi.js";
import { REPORT_PASSED_MARKER } from "../checks/report.js";

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

/** A release tag's run: its push, or a dispatch on it (bty's `startsWith(github.ref, 'refs/tags/v')`). */
const IS_RELEASE_REF = `startsWith(github.ref, 'refs/tags/${RELEASE_TAG_PATTERN.replace("*", "")}')`;
/**
 * A run on main, pushed or dispatched: bty's tag-release condition, with the
 * event spelled out rather than left to a pull request's refs/pull/… ref.
 */
const IS_MAIN = `github.event_name != 'pull_request' && github.ref == 'refs/heads/${MAIN_BRANCH}'`;

/**
 * The shell prefix of every call: `-m <module> call`, or the toolchain's
 * `call bty-ci`. No --source and no --head: bty-ci takes the checkout and its
 * commit from the caller's workspace, the job's checkout of bty (D57).
 */
export function daggerCall(opts: WorkflowOptions): string {
  return opts.module ? `dagger --progress=plain -m ${opts.module} call` : "dagger --progress=plain call bty-ci";
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

/**
 * Lets the engine run arm64 binaries: build-usbboot-rpi customises Raspberry
 * Pi OS in an arm64 chroot. Ubuntu's qemu-user-static registers its
 * handlers with the F flag (the interpreter is opened now, so it works in
 * the engine's containers); must run before the engine starts.
 */
const arm64: Step = {
  name: "Run arm64 binaries: qemu-user binfmt for build-usbboot-rpi (before the Dagger engine starts)",
  run: [
    "sudo apt-get update -q",
    "sudo apt-get install -y -q --no-install-recommends qemu-user-static",
    "grep -E '^(enabled|interpreter|flags)' /proc/sys/fs/binfmt_misc/qemu-aarch64",
    "grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64",
  ].join("\n"),
};

const installDagger: Step = {
  name: `Install the Dagger CLI v${WORKFLOW_PINS.daggerCli} (dagger/dagger-for-github v8.4.1)`,
  uses: WORKFLOW_PINS.daggerAction,
  with: { version: WORKFLOW_PINS.daggerCli, verb: "version" },
};

/** Environment of every job: the Dagger Cloud token when the repository has one (empty otherwise). */
const cloudEnv = { DAGGER_CLOUD_TOKEN: "${{ secrets.DAGGER_CLOUD_TOKEN }}" };

/** Where the checks job exports all-checks-bundle (report.md, report.json, gathered/, docs-html/). */
const RUN_DIR = "$RUNNER_TEMP/run";
/** The same folder in `with:` inputs, where only expressions are expanded. */
const RUN_DIR_EXPR = "${{ runner.temp }}/run";

/** The run report's artifact: report.md and report.json, what the writing jobs verify against. */
export const REPORT_ARTIFACT = "run-report";

/** The failed end-to-end tests' debug bundles (debug/<job>/). */
export const DEBUG_ARTIFACT = "debug-bundles";

/** A checks-job step uploading one folder of the bundle as an artifact (also after a failed check: what did build is kept). */
function upload(name: string, path: string): Step {
  return {
    name: `Upload ${name}`,
    if: "${{ !cancelled() }}",
    uses: WORKFLOW_PINS.uploadArtifact,
    // A build that failed left no folder: a warning, and the verdict step fails the job.
    with: { name, path, "if-no-files-found": "warn", overwrite: true },
  };
}

/** The checks job's uploads: the run report, each release asset group as bty names it, and the HTML site. */
const uploads: Step[] = [
  upload(REPORT_ARTIFACT, `${RUN_DIR_EXPR}/${BUNDLE.markdown}\n${RUN_DIR_EXPR}/${BUNDLE.json}`),
  ...ASSET_GROUP_NAMES.map((group) => upload(group, `${RUN_DIR_EXPR}/${BUNDLE.gathered}/${group}/`)),
  upload(BUNDLE.docsHtml, `${RUN_DIR_EXPR}/${BUNDLE.docsHtml}/`),
  // Only a failed end-to-end test leaves one; none is the good case.
  { ...upload(DEBUG_ARTIFACT, `${RUN_DIR_EXPR}/${BUNDLE.debug}/`), with: { name: DEBUG_ARTIFACT, path: `${RUN_DIR_EXPR}/${BUNDLE.debug}/`, "if-no-files-found": "ignore", overwrite: true } },
];

/** A writing job's download of artifacts the checks job uploaded: `names` into gathered/<name>/, the report into run-report/. */
function downloads(names: readonly string[]): Step[] {
  return [
    {
      name: "Download the checks' release files",
      uses: WORKFLOW_PINS.downloadArtifact,
      with: { pattern: names.length > 1 ? `{${names.join(",")}}` : names[0], path: "gathered" },
    },
    { name: "Download the checks' run report", uses: WORKFLOW_PINS.downloadArtifact, with: { name: REPORT_ARTIFACT, path: REPORT_ARTIFACT } },
  ];
}

/** What the images job downloads: the iPXE seed and the wheel. */
const IMAGE_GROUPS = ["bty-ipxe-x86_64", "dist"];

/** The argument a writing call verifies its files with. */
const REPORT_ARG = `--report ${REPORT_ARTIFACT}/${BUNDLE.json}`;

/** A step running one call. */
function callStep(name: string, prefix: string, call: string, env?: Record<string, string>): Step {
  return { name, ...(env ? { env } : {}), run: `${prefix} ${call}` };
}

/** The job token, for the one step of a writing job that sends with it. */
const JOB_TOKEN = { GITHUB_TOKEN: "${{ secrets.GITHUB_TOKEN }}" };

/** The workflow as a plain object (what {@link workflowYaml} serializes). */
export function workflowObject(opts: WorkflowOptions): Record<string, unknown> {
  const dagger = daggerCall(opts);
  const jobs: Record<string, Job> = {
    checks: {
      name: "All checks, builds and e2e tests (bty-ci all-checks-bundle)",
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": timeoutMinutes({ calls: ["check-not-published", "all-checks-bundle", "tag-release"], artifactSteps: uploads.length, freesDisk: true, emulatesArm64: true }),
      // Read-only: the tag is pushed with RELEASE_PAT; everything else that
      // writes runs in the jobs below, which run no bty code.
      permissions: { contents: "read" },
      env: { ...cloudEnv, TAG: "${{ github.ref_name }}" },
      steps: [
        checkout,
        freeDisk,
        kvm,
        arm64,
        installDagger,
        { ...callStep("check-not-published", dagger, 'check-not-published --tag "$TAG"'), if: IS_RELEASE_REF },
        {
          name: "all-checks",
          run: [
            "set -euo pipefail",
            `${dagger} all-checks-bundle export --path "${RUN_DIR}"`,
            `cat "${RUN_DIR}/${BUNDLE.markdown}" >> "$GITHUB_STEP_SUMMARY"`,
          ].join("\n"),
        },
        ...uploads,
        {
          name: "Verdict",
          run: [
            `if ! grep -qxF '${REPORT_PASSED_MARKER}' "${RUN_DIR}/${BUNDLE.markdown}"; then`,
            `  echo "::error::all-checks: a job failed; its last log lines are in the job summary"`,
            "  exit 1",
            "fi",
          ].join("\n"),
        },
        // Same job, same engine, no second run of the checks: tag-release
        // goes by the report just written and returns at once if the tag exists.
        {
          ...callStep("tag-release", dagger, `tag-release --token env:RELEASE_PAT --report "${RUN_DIR}/${BUNDLE.json}"`, {
            RELEASE_PAT: "${{ secrets.RELEASE_PAT }}",
          }),
          if: IS_MAIN,
        },
      ],
    },
    "github-release": {
      name: "GitHub release of the tag (bty-ci attach-to-release)",
      needs: ["checks"],
      if: IS_RELEASE_REF,
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": timeoutMinutes({ calls: ["attach-to-release"], artifactSteps: downloads(ASSET_GROUP_NAMES).length, freesDisk: false, emulatesArm64: false }),
      permissions: { contents: "write" },
      env: { ...cloudEnv, TAG: "${{ github.ref_name }}" },
      steps: [
        checkout,
        installDagger,
        ...downloads(ASSET_GROUP_NAMES),
        callStep(
          "attach-to-release",
          dagger,
          `attach-to-release --tag "$TAG" --token env:GITHUB_TOKEN --gathered gathered ${REPORT_ARG}`,
          JOB_TOKEN,
        ),
      ],
    },
    images: {
      name: "Container images (bty-ci publish-docker, publish-tftp)",
      needs: ["github-release"],
      if: IS_RELEASE_REF,
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": timeoutMinutes({ calls: ["publish-docker", "publish-tftp"], artifactSteps: downloads(IMAGE_GROUPS).length, freesDisk: false, emulatesArm64: false }),
      permissions: { contents: "read", packages: "write" },
      env: { ...cloudEnv, TAG: "${{ github.ref_name }}" },
      steps: [
        checkout,
        installDagger,
        ...downloads(IMAGE_GROUPS),
        ...(["publish-docker", "publish-tftp"] as const).map((fn) =>
          callStep(
            fn,
            dagger,
            `${fn} --tag "$TAG" --revision "$GITHUB_SHA" --registry-user "$GITHUB_ACTOR" --registry-token env:GITHUB_TOKEN ` +
              `--ipxe-seed "gathered/bty-ipxe-x86_64/bty-ipxe-x86_64-$TAG.efi"${fn === "publish-docker" ? " --dist gathered/dist" : ""} ${REPORT_ARG}`,
            JOB_TOKEN,
          ),
        ),
      ],
    },
    pypi: {
      name: "Publish to PyPI (bty-ci publish-pypi)",
      needs: ["images"],
      if: IS_RELEASE_REF,
      "runs-on": WORKFLOW_PINS.runner,
      "timeout-minutes": timeoutMinutes({ calls: ["publish-pypi"], artifactSteps: downloads(["dist"]).length, freesDisk: false, emulatesArm64: false }),
      // Trusted publishing: this job alone can mint the OIDC token, in the
      // environment PyPI's trusted publisher names; the URL is the project
      // page publish-pypi printed (the index it asked, not a literal here).
      permissions: { contents: "read", "id-token": "write" },
      environment: { name: "pypi", url: "${{ steps.publish-pypi.outputs.url }}" },
      env: { ...cloudEnv, TAG: "${{ github.ref_name }}" },
      steps: [
        checkout,
        installDagger,
        ...downloads(["dist"]),
        {
          id: "publish-pypi",
          name: "publish-pypi",
          run: [
            "set -euo pipefail",
            `${dagger} publish-pypi --tag "$TAG" --dist gathered/dist ${REPORT_ARG} ` +
              '--oidc-request-token env:ACTIONS_ID_TOKEN_REQUEST_TOKEN --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL | tee "$RUNNER_TEMP/pypi.txt"',
            `echo "url=$(sed -n 's/^${PROJECT_PAGE_PREFIX}//p' "$RUNNER_TEMP/pypi.txt")" >> "$GITHUB_OUTPUT"`,
          ].join("\n"),
        },
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
      // A pull request's runs share a group and a newer one cancels the
      // older; every other run has a group of its own, so no push to main
      // or tag run is ever cancelled or dropped while pending.
      group: "ci-cd-${{ github.event_name == 'pull_request' && github.ref || github.run_id }}",
      "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
    },
    jobs,
  };
}

const HEADER = `bty's CI/CD through bty-ci (generated by \`dagger call workflow\`; regenerate, don't edit).
Every run: all checks, builds and e2e tests on one engine (checks, read-only),
the run report in the job summary, artifacts uploaded. main (push or dispatch):
tag-release by that report. v* tags: check-not-published first; then jobs that
run no bty code verify the checks' artifacts against the report and publish:
GitHub release, images, PyPI last. Docs-only changes are left to docs.yml.
Secrets: RELEASE_PAT (tag push), DAGGER_CLOUD_TOKEN (optional traces).`;

/** The workflow file's text. */
export function workflowYaml(opts: WorkflowOptions): string {
  const body = stringify(workflowObject(opts), { lineWidth: 0, nullStr: "", aliasDuplicateObjects: false });
  const header = HEADER.split("\n").map((l) => `# ${l}`).join("\n");
  return `${header}\n${body}`;
}
