/**
 * `docs`: Python 3.12, bty's TeX apt set, `uv tool install
 * ./docs/tooling`, then in `docs/`: `bty-docs-build-html` and
 * `bty-docs-build-pdf`; bty-ci gathers `html/` + `bty.pdf` with SHA256SUMS
 * into one directory it returns. TeX's generated fonts are cached (TEXMFVAR).
 */
import {
  aptInstall,
  atRoot,
  INSTALL_UV,
  type JobContract,
  PY,
  PYTHON_JOB_CACHES,
  PYTHON_JOB_ENV,
  sha256sums,
  SRC,
} from "./contract.js";

const APT = [
  "texlive-latex-recommended",
  "texlive-latex-extra",
  "texlive-fonts-recommended",
  "tex-gyre",
  "fonts-freefont-otf",
  "latexmk",
  "make",
];

export const DOCS: JobContract = {
  job: "docs",
  call: { fn: "docs" },
  image: /^python:3\.12\.\d+-slim-bookworm$/,
  setup: [INSTALL_UV, aptInstall(APT)],
  apt: APT,
  env: { ...PYTHON_JOB_ENV, TEXMFVAR: "/cache/texmf-var" },
  caches: [...PYTHON_JOB_CACHES, { path: "/cache/texmf-var", key: "bty-ci-texmf-var", sharing: "SHARED" }],
  steps: [
    atRoot(["uv", "tool", "install", "--python", PY, "./docs/tooling"]),
    { argv: ["bty-docs-build-html"], workdir: `${SRC}/docs`, privileged: false },
    { argv: ["bty-docs-build-pdf"], workdir: `${SRC}/docs`, privileged: false },
    atRoot([
      "sh",
      "-c",
      "rm -rf docs/_build/bty-ci && mkdir -p docs/_build/bty-ci && cp -a docs/_build/html docs/_build/bty-ci/html && cp docs/_build/latex/bty.pdf docs/_build/bty-ci/",
    ]),
    sha256sums("docs/_build/bty-ci"),
  ],
  returns: { directory: "/src/docs/_build/bty-ci" },
};
