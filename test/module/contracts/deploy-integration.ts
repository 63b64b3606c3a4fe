/**
 * `deploy-integration`, written from bty's workflow job of that name: podman
 * and podman-compose, `uv sync --all-extras --group dev`, then
 * `uv run pytest -m integration tests/test_deploy_integration.py -v -k "not quadlet"`.
 *
 * bty-ci runs it on Python 3.12 with a rootful podman of the job's own
 * (README "Where bty-ci differs"): podman and what it needs without systemd
 * from apt, podman-compose at a pinned version, and only the pytest command
 * privileged, inside ci/deploy/podman-env.sh, which loads the stack's images
 * from tarballs (`--image REF=TARBALL`) with podman's state on a tmpfs. A
 * test that skips fails the check: ci/pytest-skips.py judges pytest's JUnit
 * report, allowing only the skip bty 0.77.2's own test causes.
 */
import {
  aptInstall,
  atRoot,
  CI_SCRIPTS,
  INSTALL_UV,
  type JobContract,
  PY,
  PYTHON_JOB_CACHES,
  PYTHON_JOB_ENV,
  SRC,
  UV_SYNC,
} from "./contract.js";

/** podman and its runtime pieces where there is no systemd. */
export const DEPLOY_APT = ["podman", "netavark", "aardvark-dns", "runc", "conmon", "iptables", "catatonit"];

/** podman's state: a tmpfs (overlay storage cannot sit on the container's overlayfs). */
export const PODMAN_STATE = "/var/lib/bty-ci-podman";
/** pytest's JUnit report, read by the skip judge. */
export const JUNIT = "/tmp/bty-ci-deploy-junit.xml";

/** The stack's images as bty's compose file names them, and where their tarballs are mounted. */
export const STACK_TARBALLS = {
  "ghcr.io/safl/bty-web:latest": "/opt/bty-ci/images/bty-web.tar",
  "ghcr.io/safl/withcache:latest": "/opt/bty-ci/images/withcache.tar",
  "ghcr.io/safl/nbdmux:latest": "/opt/bty-ci/images/nbdmux.tar",
} as const;

/** The sidecars' pinned sdists: version and the package index's sha256. */
export const SIDECAR_SDISTS = {
  withcache: { version: "0.13.3", sha256: "5b835d83060f8accb93e0a7d4f37d266c087205127e59e4d3777d64063f9ce45" },
  nbdmux: { version: "0.9.2", sha256: "aaec9854036feb7fa4295ab4796dff1d43971468b4bdd5d1a7f6c74bf7d45224" },
} as const;

const imageArgs = (images: "built" | "published") =>
  images === "built" ? Object.entries(STACK_TARBALLS).flatMap(([ref, tarball]) => ["--image", `${ref}=${tarball}`]) : [];

/** The job's contract on built images (the default) or on bty's published ones. */
export function deployIntegration(images: "built" | "published"): JobContract {
  return {
    job: "deploy-integration",
    call: { fn: "deployIntegration" },
    image: /^python:3\.12\.\d+-slim-bookworm$/,
    setup: [INSTALL_UV, aptInstall(DEPLOY_APT)],
    apt: DEPLOY_APT,
    env: { ...PYTHON_JOB_ENV },
    caches: [...PYTHON_JOB_CACHES],
    steps: [
      atRoot(UV_SYNC),
      atRoot(["uv", "tool", "install", "--python", PY, "podman-compose==1.6.0"]),
      {
        argv: [
          "bash", `${CI_SCRIPTS}/deploy/podman-env.sh`, "--state", PODMAN_STATE, ...imageArgs(images), "--",
          "uv", "run", "--no-sync", "pytest", "-m", "integration", "tests/test_deploy_integration.py", "-v", "-k", "not quadlet",
          "-rs", "--junitxml", JUNIT,
        ],
        workdir: SRC,
        privileged: true,
      },
      atRoot([
        "python3", `${CI_SCRIPTS}/pytest-skips.py`, JUNIT,
        "--allow", "test_trio_ramboot_e2e_image_native_kernel=ports already in use: [8899]",
      ]),
    ],
    returns: "nothing",
  };
}

export const DEPLOY_INTEGRATION = deployIntegration("built");
