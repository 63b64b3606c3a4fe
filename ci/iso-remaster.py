#!/usr/bin/env python3
"""Put bty's /opt layer into the ISO live-build made without it.

usbboot-pc's `lb binary` runs on a root file system whose /opt is left out
of the squashfs (live-build's config/rootfs/excludes), so the engine keeps
that stage, the slow one, across a change to bty's Python code alone. This
program then makes the ISO bty's build would have made:

  1. a hard-linked copy of live-build's binary tree under --work (the
     tree itself is left as it is, so a second run starts from the same
     base; the two files that change are written anew in the copy);
  2. bty's layer (--layer: a directory holding opt/) appended to a copy of
     live/filesystem.squashfs with mksquashfs (the base's compressed blocks
     are kept, only the layer is compressed, with the base's compressor);
  3. that file's line in sha256sum.txt (live-build's checksums of the
     medium, read by live-boot's verify-checksums) brought up to date;
  4. live-build's own xorriso command, as it recorded it in the tree's
     .disk/mkisofs (volume id, dates, El Torito and hybrid MBR/GPT boot
     records), run again on the copy, writing --out.

The copy is left under --work for the caller's checks (its squashfs can be
listed) and removed by the caller.

Exit codes: 0 made, 1 a step failed, 2 usage or input error.
Python standard library only; needs mksquashfs and xorriso.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

SQUASHFS = "live/filesystem.squashfs"
SUMS = "sha256sum.txt"
RECORDED = ".disk/mkisofs"
# How live-build calls xorriso in binary_iso: mkisofs emulation, the
# binary tree last.
XORRISO_PREFIX = ["xorriso", "-as", "mkisofs"]
SOURCE_TREE = "binary"


class InputError(Exception):
    """Bad arguments or a tree live-build did not make: exit 2."""


class StepError(Exception):
    """A tool failed: exit 1."""


def xorriso_argv(recorded: str, out: str) -> list[str]:
    """live-build's xorriso command from .disk/mkisofs, writing `out` instead.

    Refuses anything but `xorriso -as mkisofs ... -o NAME binary`: the file
    is run, so what it may run is narrow.
    """
    try:
        argv = shlex.split(recorded)
    except ValueError as exc:
        raise InputError(f"{RECORDED} is not one command line: {exc}") from exc
    if argv[: len(XORRISO_PREFIX)] != XORRISO_PREFIX:
        raise InputError(
            f"{RECORDED} does not start with '{' '.join(XORRISO_PREFIX)}': {recorded.strip()[:80]!r}"
        )
    if argv[-1] != SOURCE_TREE:
        raise InputError(
            f"{RECORDED} does not end with the source tree '{SOURCE_TREE}'"
        )
    outputs = [i for i, arg in enumerate(argv) if arg == "-o"]
    if len(outputs) != 1 or outputs[0] + 1 >= len(argv) - 1:
        raise InputError(
            f"{RECORDED} must name its output once with -o (found {len(outputs)})"
        )
    at = outputs[0] + 1
    return [*argv[:at], out, *argv[at + 1 :]]


def with_checksum(sums: str, path: str, digest: str) -> str:
    """sha256sum.txt with `path`'s line (`<hex>  ./<path>`) set to `digest`."""
    suffix = f"  ./{path}"
    lines = sums.splitlines()
    hits = [i for i, line in enumerate(lines) if line.endswith(suffix)]
    if len(hits) != 1:
        raise InputError(f"{SUMS} lists ./{path} {len(hits)} times (expected once)")
    lines[hits[0]] = f"{digest}{suffix}"
    return "\n".join(lines) + "\n"


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def run(argv: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise StepError(f"{argv[0]} exited {proc.returncode}:\n{tail}")


def check_inputs(lb_dir: Path, layer: Path) -> Path:
    binary = lb_dir / SOURCE_TREE
    for need in (binary / SQUASHFS, binary / SUMS, binary / RECORDED):
        if not need.is_file():
            raise InputError(
                f"no {need}: run live-build's binary stage first (usbboot-pc)"
            )
    if not (layer / "opt").is_dir():
        raise InputError(
            f"--layer {layer} has no opt/: run the install-bty stage first"
        )
    return binary


def link_tree(src: Path, dst: Path, skip: set[str]) -> None:
    """`dst` as `src` with every file hard-linked, except the paths in `skip`.

    No file is copied: a 1 GB tree costs nothing here (on an overlay file
    system a link copies a lower layer's file up, so the squashfs, which is
    replaced anyway, is skipped rather than linked). Directories keep their
    modes and times, symbolic links their targets.
    """
    # live-build links the kernel and initrd under two names each, and xorriso
    # stores a linked file once. Overlay file systems break links on copy-up,
    # so later names are linked to the copy's first name, not to `src`.
    first: dict[tuple[int, int], Path] = {}
    for top, dirs, files in os.walk(src):
        rel = Path(top).relative_to(src)
        (dst / rel).mkdir(exist_ok=True)
        for name in sorted(files + [d for d in dirs if (Path(top) / d).is_symlink()]):
            path = Path(top) / name
            if (rel / name).as_posix() in skip:
                continue
            if path.is_symlink():
                os.symlink(os.readlink(path), dst / rel / name)
                continue
            st = path.stat()
            inode = (st.st_dev, st.st_ino)
            os.link(first.get(inode, path), dst / rel / name)
            first.setdefault(inode, dst / rel / name)
    for top, _dirs, _files in os.walk(src):
        rel = Path(top).relative_to(src)
        shutil.copystat(top, dst / rel)


def remaster(lb_dir: Path, layer: Path, work: Path, out: Path) -> Path:
    """Steps 1-4; returns the copy's squashfs."""
    binary = check_inputs(lb_dir, layer)
    argv = xorriso_argv(
        (binary / RECORDED).read_text(encoding="utf-8"), str(out.resolve())
    )
    copy = work / SOURCE_TREE
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # The two files that change are written anew in the copy; live-build's
    # tree is never changed, so a second run starts from the same base.
    link_tree(binary, copy, {SQUASHFS, SUMS})
    squashfs = copy / SQUASHFS
    shutil.copyfile(binary / SQUASHFS, squashfs)
    print(f"iso-remaster.py: appending {layer}/opt to {SQUASHFS}")
    run(["mksquashfs", str(layer), str(squashfs), "-no-progress", "-no-recovery"])
    updated = with_checksum(
        (binary / SUMS).read_text(encoding="utf-8"), SQUASHFS, sha256_file(squashfs)
    )
    (copy / SUMS).write_text(updated, encoding="utf-8")
    shutil.copystat(binary / SUMS, copy / SUMS)
    # Directory times as live-build left them (the writes above touched two).
    for top in (copy, copy / "live"):
        shutil.copystat(binary / top.relative_to(copy), top)
    print(f"iso-remaster.py: live-build's xorriso command again, writing {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    run(argv, cwd=work)
    return squashfs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="iso-remaster.py",
        description="Append bty's /opt layer to the squashfs of live-build's binary tree and rerun "
        "live-build's own xorriso command (.disk/mkisofs) on a copy of the tree.",
        epilog="exit codes: 0 made, 1 a step failed, 2 usage or input error",
    )
    parser.add_argument(
        "--lb-dir",
        type=Path,
        required=True,
        help="live-build's directory (holds binary/)",
    )
    parser.add_argument(
        "--layer", type=Path, required=True, help="directory holding bty's opt/"
    )
    parser.add_argument(
        "--work", type=Path, required=True, help="scratch directory for the tree's copy"
    )
    parser.add_argument("--out", type=Path, required=True, help="the ISO to write")
    args = parser.parse_args(argv)
    try:
        squashfs = remaster(args.lb_dir, args.layer, args.work, args.out)
    except InputError as exc:
        print(f"iso-remaster.py: {exc}", file=sys.stderr)
        return 2
    except StepError as exc:
        print(f"iso-remaster.py: {exc}", file=sys.stderr)
        return 1
    print(
        f"iso-remaster.py: {args.out} ({args.out.stat().st_size} bytes); its squashfs: {squashfs}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
