/**
 * `flash-integration`: Python 3.12, bty's apt set (plus what a
 * container lacks and a VM runner has: curl, udev, fdisk — README "Design"),
 * `uv sync`, then `pytest -m integration -v` as root with `CI=true` (the
 * fixtures fail instead of skipping), inside ci/flash-env.sh (exFAT fallback,
 * loop partition nodes). Only that command is privileged.
 */
import {
  aptInstall,
  CI_SCRIPTS,
  INSTALL_UV,
  type JobContract,
  PYTHON_JOB_CACHES,
  PYTHON_JOB_ENV,
  SRC,
  UV_SYNC,
} from "./contract.js";

const APT = ["qemu-utils", "zstd", "gdisk", "e2fsprogs", "parted", "exfatprogs", "exfat-fuse", "curl", "udev", "fdisk"];

export const FLASH_INTEGRATION: JobContract = {
  job: "flash-integration",
  call: { fn: "flashIntegration" },
  image: /^python:3\.12\.\d+-slim-bookworm$/,
  setup: [INSTALL_UV, aptInstall(APT)],
  apt: APT,
  env: { ...PYTHON_JOB_ENV },
  caches: [...PYTHON_JOB_CACHES],
  steps: [
    { argv: UV_SYNC, workdir: SRC, privileged: true },
    {
      argv: ["bash", `${CI_SCRIPTS}/flash-env.sh`, "--", "uv", "run", "--no-sync", "pytest", "-m", "integration", "--ignore=tests/test_deploy_integration.py", "-v"],
      workdir: SRC,
      privileged: true,
      env: { CI: "true" },
    },
  ],
  returns: "nothing",
};
