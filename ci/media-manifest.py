#!/usr/bin/env python3
"""Write the build manifest of a bty live image: what went into it.

Reads the finished live-build chroot (no chroot(8) needed) and writes one
text file with sections:

  [image]       variant, bty version, artifact names
  [tools]       live-build and debootstrap versions, Debian mirror
  [r8125]       commit (and source URL) of the realtek-r8125-dkms tree
                that bty's 0600-bty-r8125-dkms hook built, from its .git
  [dpkg]        every Debian package installed in the chroot:
                "<package>\\t<version>\\t<architecture>" (dpkg-query --admindir)
  [pip]         `pip freeze --all` of bty's venv (/opt/bty/venv)

Exit codes: 0 written, 1 something to record is missing, 2 usage error.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


class ManifestError(Exception):
    """Something the manifest must record could not be read."""


def _run(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ManifestError(f"`{' '.join(argv)}` failed: {(proc.stderr or proc.stdout).strip()}")
    return proc.stdout.strip()


def dpkg_packages(chroot: Path) -> list[str]:
    admindir = chroot / "var/lib/dpkg"
    if not (admindir / "status").is_file():
        raise ManifestError(f"{admindir}/status missing: {chroot} is not a finished chroot")
    out = _run(["dpkg-query", f"--admindir={admindir}", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"])
    rows = [line.split("\t", 1)[1] for line in out.splitlines() if line.startswith("ii")]
    if not rows:
        raise ManifestError(f"no installed package in {admindir}")
    return sorted(rows)


def r8125_commit(chroot: Path) -> tuple[str, str]:
    """(commit, origin URL) of the r8125 source the DKMS hook built."""
    trees = sorted((chroot / "usr/src").glob("r8125-*/.git"))
    if not trees:
        raise ManifestError(f"no r8125 git tree under {chroot}/usr/src: did bty's r8125 hook run?")
    git = ["git", f"--git-dir={trees[-1]}"]
    commit = _run([*git, "rev-parse", "HEAD"])
    origin = subprocess.run([*git, "config", "remote.origin.url"], capture_output=True, text=True, check=False)
    return commit, origin.stdout.strip()


def tool_version(package: str) -> str:
    return _run(["dpkg-query", "-W", "-f", "${Version}", package])


def build_manifest(args: argparse.Namespace) -> str:
    commit, origin = r8125_commit(args.chroot)
    pip = args.pip_freeze.read_text().strip() if args.pip_freeze else ""
    if args.pip_freeze and not pip:
        raise ManifestError(f"{args.pip_freeze} is empty: bty's venv was not recorded")
    sections = [
        "[image]",
        f"variant\t{args.variant}",
        f"bty_version\t{args.version}",
        *(f"artifact\t{name}" for name in args.artifact),
        "",
        "[tools]",
        f"live-build\t{tool_version('live-build')}",
        f"debootstrap\t{tool_version('debootstrap')}",
        f"mirror\t{args.mirror}",
        "",
        "[r8125]",
        f"commit\t{commit}",
        f"source\t{origin}",
        "",
        "[dpkg]",
        *dpkg_packages(args.chroot),
        "",
        "[pip]",
        *(pip.splitlines() if pip else ["(no bty venv in this image)"]),
    ]
    return "\n".join(sections) + "\n"


def dpkg_section(manifest: Path) -> str:
    """The [dpkg] rows of a manifest, for `media-verify.py packages`."""
    rows, inside = [], False
    for line in manifest.read_text().splitlines():
        if line.startswith("["):
            inside = line == "[dpkg]"
        elif inside and line:
            rows.append(line)
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="media-manifest.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chroot", type=Path, required=True, help="live-build's chroot/ directory")
    parser.add_argument("--variant", required=True)
    parser.add_argument("--version", required=True, help="bty's version")
    parser.add_argument("--mirror", required=True, help="Debian mirror the image was built from")
    parser.add_argument("--pip-freeze", type=Path, help="`pip freeze --all` of bty's venv")
    parser.add_argument("--artifact", action="append", default=[], help="artifact basename (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="manifest file to write")
    parser.add_argument("--dpkg-out", type=Path, help="also write the [dpkg] rows alone here")
    args = parser.parse_args(argv)
    if not args.chroot.is_dir():
        print(f"media-manifest.py: --chroot {args.chroot} is not a directory", file=sys.stderr)
        return 2
    try:
        text = build_manifest(args)
    except ManifestError as err:
        print(f"media-manifest.py: {err}", file=sys.stderr)
        return 1
    args.out.write_text(text)
    if args.dpkg_out:
        args.dpkg_out.write_text(dpkg_section(args.out))
    print(f"media-manifest.py: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
