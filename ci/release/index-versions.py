#!/usr/bin/env python3
"""Ask a package index which files it has for one version of a project.

Prints one JSON object: {"project", "version", "index", "files"}, where
"files" is the list of file names of that version (empty when the project
exists without it) or null when the index does not know the project at all
(a project's first release is not an error). An index that cannot be asked
(connection refused, timeout, 5xx) is an error, never "not published".

The index is --index-url, else pip's configuration (PIP_INDEX_URL), else
pip's own default index, so the answer comes from the index pip would use.

Exit codes: 0 answered; 1 --require-absent and the version has files;
2 usage; 3 the index could not be asked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.names.append(unquote(urlsplit(href).path.rsplit("/", 1)[-1]))


def default_index() -> str:
    """The index pip uses: PIP_INDEX_URL, else pip's built-in default."""
    configured = os.environ.get("PIP_INDEX_URL")
    if configured:
        return configured
    from pip._internal.models.index import PyPI  # pip's own default index

    return PyPI.simple_url


def version_of(filename: str, project: str) -> str | None:
    """The version a distribution file name carries, or None for other files."""
    from pip._vendor.packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return str(version) if name == canonicalize_name(project) else None


def index_files(index: str, project: str, timeout: float) -> list[str] | None:
    from pip._vendor.packaging.utils import canonicalize_name

    url = f"{index.rstrip('/')}/{canonicalize_name(project)}/"
    request = urllib.request.Request(
        url, headers={"Accept": ACCEPT, "User-Agent": "bty-ci-index-versions"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read().decode("utf-8")
            kind = response.headers.get_content_type()
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise
    if kind == "application/vnd.pypi.simple.v1+json":
        return [f["filename"] for f in json.loads(body)["files"]]
    parser = _Anchors()
    parser.feed(body)
    return parser.names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--project", required=True, help="distribution name, e.g. bty-lab"
    )
    parser.add_argument(
        "--version", required=True, help="version to look for, e.g. 0.77.2"
    )
    parser.add_argument(
        "--index-url", default="", help="simple index URL (default: pip's index)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per request (default 30)"
    )
    parser.add_argument(
        "--require-absent",
        action="store_true",
        help="exit 1 when the version has files",
    )
    args = parser.parse_args(argv)

    from pip._vendor.packaging.version import InvalidVersion, Version

    try:
        wanted = str(Version(args.version))
    except InvalidVersion:
        print(
            f"index-versions: {args.version!r} is not a PEP 440 version",
            file=sys.stderr,
        )
        return 2
    index = args.index_url or default_index()
    try:
        names = index_files(index, args.project, args.timeout)
    except (urllib.error.URLError, OSError, ValueError) as err:
        print(
            f"index-versions: cannot ask {index} about {args.project}: {err}; "
            "check the network or --index-url (an unreachable index never counts as 'not published')",
            file=sys.stderr,
        )
        return 3
    files = (
        None
        if names is None
        else sorted(n for n in names if version_of(n, args.project) == wanted)
    )
    print(
        json.dumps(
            {"project": args.project, "version": wanted, "index": index, "files": files}
        )
    )
    if args.require_absent and files:
        print(
            f"index-versions: {index} already has {args.project} {wanted} ({', '.join(files)}): "
            "bump [project] version in pyproject.toml and tag again",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
