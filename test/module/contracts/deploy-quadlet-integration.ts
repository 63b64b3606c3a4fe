/**
 * `deploy-quadlet-integration`, written from bty's workflow job of that
 * name: podman and podman-compose, `uv sync --all-extras --group dev`, then
 * `sudo -E uv run pytest -m integration
 * tests/test_deploy_integration.py::test_deploy_purge_redeploy_quadlet_lifecycle -v`
 * on a runner whose systemd is PID 1.
 *
 * bty-ci runs it in a privileged Debian trixie container whose own root
 * ci/deploy/quadlet-run.sh boots with systemd as PID 1 (README "Where
 * bty-ci differs"): the root's packages from apt, uv from pip, podman-compose
 * at a pinned version, and only the test command privileged. The four
 * images the units pull are served inside under the tags bty's test pins
 * (bty.__version__ = 0.65.2 for bty-web and bty-tftp; the sidecars
 * `latest`). A skipped test fails the check.
 */
import { CI_SCRIPTS, SRC } from "./contract.js";

/** The root systemd boots, and what the job container adds (pip for uv, unshare/setpriv). */
export const QUADLET_APT = [
  "systemd", "systemd-sysv", "dbus",
  "podman", "runc", "conmon", "netavark", "aardvark-dns", "containers-storage", "catatonit",
  "iptables", "nftables", "iproute2",
  "docker-registry", "skopeo",
  "python3", "python3-venv", "ca-certificates", "curl", "procps",
  "python3-pip", "util-linux",
];

/** trixie's apt caches, locked, for the install only. */
export const TRIXIE_APT_CACHES = [
  { path: "/var/cache/apt/archives", key: "bty-ci-apt-archives-trixie", sharing: "LOCKED" },
  { path: "/var/lib/apt/lists", key: "bty-ci-apt-lists-trixie", sharing: "LOCKED" },
] as const;

const DIR = "/var/lib/bty-ci/quadlet";
export const QUADLET_OUT = `${DIR}/out`;
export const QUADLET_BUNDLE = `${QUADLET_OUT}/bundle`;
export const QUADLET_JUNIT = `${QUADLET_OUT}/junit.xml`;

/** Where each unit's image is mounted, and the ref it is served as. */
export const QUADLET_TARBALLS = {
  "ghcr.io/safl/bty-web:0.65.2": `${DIR}/images/bty-web.tar`,
  "ghcr.io/safl/withcache:latest": `${DIR}/images/withcache.tar`,
  "ghcr.io/safl/nbdmux:latest": `${DIR}/images/nbdmux.tar`,
  "ghcr.io/safl/bty-tftp:0.65.2": `${DIR}/images/bty-tftp.tar`,
} as const;

/** trixie's Python: bty's environment is made with it. */
export const TRIXIE_PY = "/usr/bin/python3";

/** The job's commands after the checkout, in order (privileged: the test alone). */
export const QUADLET_STEPS = [
  { argv: ["uv", "sync", "--locked", "--all-extras", "--group", "dev", "--python", TRIXIE_PY], privileged: false },
  { argv: ["uv", "tool", "install", "--python", TRIXIE_PY, "podman-compose==1.6.0"], privileged: false },
  {
    argv: [
      "bash", `${CI_SCRIPTS}/deploy/quadlet-run.sh`, "--root", "/", "--bundle", QUADLET_BUNDLE, "--timeout", "1800",
      ...Object.entries(QUADLET_TARBALLS).flatMap(([ref, tarball]) => ["--image", `${ref}=${tarball}`]),
      "--bind", QUADLET_OUT, "--workdir", SRC,
      "--env", "UV_LINK_MODE=copy", "--env", "UV_PYTHON_DOWNLOADS=never", "--env", "UV_NO_PROGRESS=1",
      "--env", "PATH=/opt/bty-ci/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "--env", "UV_CACHE_DIR=/tmp/bty-ci-uv-cache",
      "--", "uv", "run", "--no-sync", "pytest", "-m", "integration",
      "tests/test_deploy_integration.py::test_deploy_purge_redeploy_quadlet_lifecycle", "-v", "-rs", "--junitxml", QUADLET_JUNIT,
    ],
    privileged: true,
  },
  { argv: ["python3", `${CI_SCRIPTS}/pytest-skips.py`, QUADLET_JUNIT], privileged: false },
];
