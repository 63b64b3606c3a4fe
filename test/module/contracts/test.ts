/**
 * `test`: one leg per Python 3.11–3.14, each `uv sync --all-extras
 * --group dev`, `uv run ruff check`, `uv run ruff format --check`, `uv run
 * pytest`; no privileges, no outputs. (mypy runs in its own job: typecheck.ts.)
 */
import { atRoot, INSTALL_UV, type JobContract, PYTHON_JOB_CACHES, PYTHON_JOB_ENV, UV_SYNC } from "./contract.js";

const leg = (minor: "11" | "12" | "13" | "14"): JobContract => ({
  job: `test (python 3.${minor})`,
  call: { parent: "TestMatrix", fn: `py3${minor}` },
  image: new RegExp(`^python:3\\.${minor}\\.\\d+-slim-bookworm$`),
  setup: [INSTALL_UV],
  apt: [],
  env: { ...PYTHON_JOB_ENV },
  caches: [...PYTHON_JOB_CACHES],
  steps: [
    atRoot(UV_SYNC),
    atRoot(["uv", "run", "--no-sync", "ruff", "check"]),
    atRoot(["uv", "run", "--no-sync", "ruff", "format", "--check"]),
    atRoot(["uv", "run", "--no-sync", "pytest"]),
  ],
  returns: "nothing",
});

export const TEST_LEGS: JobContract[] = [leg("11"), leg("12"), leg("13"), leg("14")];
