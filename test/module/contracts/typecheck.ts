/** mypy: `uv run mypy src`, once, on the 3.12 leg; no privileges. */
import { atRoot, INSTALL_UV, type JobContract, PYTHON_JOB_CACHES, PYTHON_JOB_ENV, UV_SYNC } from "./contract.js";

export const TYPECHECK: JobContract = {
  job: "typecheck",
  call: { fn: "typecheck" },
  image: /^python:3\.12\.\d+-slim-bookworm$/,
  setup: [INSTALL_UV],
  apt: [],
  env: { ...PYTHON_JOB_ENV },
  caches: [...PYTHON_JOB_CACHES],
  steps: [atRoot(UV_SYNC), atRoot(["uv", "run", "--no-sync", "mypy", "src"])],
  returns: "nothing",
};
