/**
 * `build-wheel`: `uv build` on Python 3.12 into `dist/` (wheel +
 * sdist), plus SHA256SUMS with basenames; returns `dist/`.
 */
import { INSTALL_UV, type JobContract, PY, PYTHON_JOB_CACHES, PYTHON_JOB_ENV, atRoot, sha256sums } from "./contract.js";

export const BUILD_WHEEL: JobContract = {
  job: "build-wheel",
  call: { fn: "buildWheel" },
  image: /^python:3\.12\.\d+-slim-bookworm$/,
  setup: [INSTALL_UV],
  apt: [],
  env: { ...PYTHON_JOB_ENV },
  caches: [...PYTHON_JOB_CACHES],
  steps: [
    atRoot(["uv", "build", "--python", PY, "--out-dir", "dist", "--no-create-gitignore"]),
    sha256sums("dist"),
  ],
  returns: { directory: "/src/dist" },
};
