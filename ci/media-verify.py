#!/usr/bin/env python3
"""Verify bty's live media before they are returned.

Each subcommand checks one kind of output and exits non-zero, naming what is
wrong, on a broken one:

  kernel FILE             x86 bzImage (boot flag 0xAA55, "HdrS" at 0x202)
  initrd FILE             initramfs: optional uncompressed early cpio
                          (microcode), then a gzip/xz/zstd/lz4 stream that
                          decompresses to a newc cpio ("070701")
  squashfs FILE --path P  squashfs magic, superblock size within the file,
                          `unsquashfs -l` lists P (repeatable)
  iso FILE --label L      hybrid ISO (ISO 9660 + MBR), whose last partition
                          is exFAT and labelled L (bty's BTY_IMAGES)
  checksums MANIFEST      every "<sha256>  <basename>" line matches the file
                          next to MANIFEST
  packages --installed F --list L...
                          every package named in bty's package lists L is
                          in F (a "<package>\\t<version>..." list, as the
                          build manifest's dpkg section has)

Exit codes: 0 verified, 1 verification failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

NEWC_MAGIC = b"070701"
NEWC_CRC_MAGIC = b"070702"
SQUASHFS_MAGIC = b"hsqs"
SQUASHFS_BYTES_USED_OFFSET = 40
ISO9660_ID_OFFSET = 0x8001
EXFAT_LABEL_ENTRY = 0x83

# (magic, decompressor argv reading stdin)
COMPRESSORS = (
    (b"\x1f\x8b", ["gzip", "-dc"]),
    (b"\xfd7zXZ\x00", ["xz", "-dc"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dc"]),
    (b"\x02\x21\x4c\x18", ["lz4", "-dc"]),
)


class VerifyError(Exception):
    """An output is not what it claims to be."""


def check_kernel(path: Path) -> str:
    head = _read(path, 0x210)
    if len(head) < 0x206:
        raise VerifyError(f"{path}: {len(head)} bytes, too short for a Linux kernel")
    if head[0x1FE:0x200] != b"\x55\xaa":
        raise VerifyError(f"{path}: no boot flag 0xAA55 at 0x1FE: not an x86 bzImage")
    if head[0x202:0x206] != b"HdrS":
        raise VerifyError(f'{path}: no "HdrS" setup header at 0x202: not an x86 bzImage')
    (version,) = struct.unpack_from("<H", head, 0x206)
    return f"bzImage, boot protocol {version >> 8}.{version & 0xFF}"


def _skip_newc(data: bytes, pos: int) -> int:
    """Offset just past the uncompressed newc archive starting at pos (and its padding)."""
    while True:
        if data[pos : pos + 6] not in (NEWC_MAGIC, NEWC_CRC_MAGIC):
            raise VerifyError(f"broken cpio header at offset {pos}")
        namesize = int(data[pos + 94 : pos + 102], 16)
        filesize = int(data[pos + 54 : pos + 62], 16)
        name = data[pos + 110 : pos + 110 + namesize - 1]
        pos = _align4(pos + 110 + namesize)
        pos = _align4(pos + filesize)
        if name == b"TRAILER!!!":
            break
    while pos < len(data) and data[pos] == 0:
        pos += 1
    return pos


def _align4(n: int) -> int:
    return (n + 3) & ~3


def check_initrd(path: Path) -> str:
    data = path.read_bytes()
    pos = 0
    early = 0
    while data[pos : pos + 6] in (NEWC_MAGIC, NEWC_CRC_MAGIC):
        pos = _skip_newc(data, pos)
        early += 1
    rest = data[pos : pos + 8]
    for magic, argv in COMPRESSORS:
        if rest.startswith(magic):
            head = _decompress_head(data[pos:], argv)
            if not head.startswith((NEWC_MAGIC, NEWC_CRC_MAGIC)):
                raise VerifyError(f"{path}: {argv[0]} stream at offset {pos} does not hold a newc cpio")
            return f"{early} early cpio archive(s), then a {argv[0]}-compressed cpio"
    if early and pos >= len(data):
        raise VerifyError(f"{path}: only uncompressed early cpio archives, no compressed initramfs")
    raise VerifyError(f"{path}: no gzip/xz/zstd/lz4 magic at offset {pos} (found {rest[:6].hex()})")


def _decompress_head(blob: bytes, argv: list[str]) -> bytes:
    if argv[0] == "gzip":
        return gzip.GzipFile(fileobj=_BytesReader(blob)).read(6)
    if argv[0] == "xz":
        return lzma.LZMADecompressor().decompress(blob[: 1 << 20], max_length=6)
    tool = shutil.which(argv[0])
    if tool is None:
        raise VerifyError(f"{argv[0]} is needed to read a {argv[0]}-compressed initramfs; install it")
    proc = subprocess.run([tool, *argv[1:]], input=blob[: 4 << 20], capture_output=True, check=False)
    return proc.stdout[:6]


class _BytesReader:
    def __init__(self, blob: bytes):
        self._blob = blob
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._blob) if n < 0 else self._pos + n
        chunk = self._blob[self._pos : end]
        self._pos += len(chunk)
        return chunk


def check_squashfs(path: Path, expect: list[str], unsquashfs: str) -> str:
    head = _read(path, 96)
    if head[:4] != SQUASHFS_MAGIC:
        raise VerifyError(f"{path}: no squashfs magic 'hsqs' (found {head[:4].hex()})")
    (bytes_used,) = struct.unpack_from("<Q", head, SQUASHFS_BYTES_USED_OFFSET)
    size = path.stat().st_size
    if bytes_used > size:
        raise VerifyError(f"{path}: truncated: superblock says {bytes_used} bytes, file has {size}")
    proc = subprocess.run(
        [unsquashfs, "-l", "-no-progress", "-d", "", str(path)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise VerifyError(f"{path}: unsquashfs -l failed: {(proc.stderr or proc.stdout).strip()[-400:]}")
    listed = {line.strip() for line in proc.stdout.splitlines()}
    missing = [p for p in expect if "/" + p.strip("/") not in listed]
    if missing:
        raise VerifyError(f"{path}: squashfs does not contain {', '.join(missing)}")
    return f"squashfs, {bytes_used} bytes used, {len(listed)} entries"


def _mbr_partitions(head: bytes) -> list[tuple[int, int, int, bool]]:
    """Non-empty MBR entries as (type, first LBA, sectors, bootable)."""
    parts = []
    for i in range(4):
        entry = head[0x1BE + 16 * i : 0x1BE + 16 * (i + 1)]
        boot, ptype = entry[0], entry[4]
        start, sectors = struct.unpack_from("<II", entry, 8)
        if ptype == 0 and sectors == 0:
            continue
        parts.append((ptype, start, sectors, boot == 0x80))
    return parts


def exfat_label(path: Path, offset: int) -> str:
    """Volume label of the exFAT file system at byte offset `offset` of path."""
    boot = _read(path, 512, offset)
    if boot[3:11] != b"EXFAT   ":
        raise VerifyError(f"{path}: partition at byte {offset} is not exFAT")
    bps_shift, spc_shift = boot[108], boot[109]
    (heap_offset,) = struct.unpack_from("<I", boot, 88)
    (root_cluster,) = struct.unpack_from("<I", boot, 96)
    sector = 1 << bps_shift
    cluster = sector << spc_shift
    root = offset + heap_offset * sector + (root_cluster - 2) * cluster
    entries = _read(path, cluster, root)
    for i in range(0, len(entries), 32):
        entry = entries[i : i + 32]
        if entry[0] == 0:
            break
        if entry[0] == EXFAT_LABEL_ENTRY:
            count = entry[1]
            return entry[2 : 2 + 2 * count].decode("utf-16-le")
    return ""


def check_iso(path: Path, label: str) -> str:
    head = _read(path, 512)
    if head[510:512] != b"\x55\xaa":
        raise VerifyError(f"{path}: no MBR (0x55AA): not a hybrid image, it would not boot from USB")
    if _read(path, 5, ISO9660_ID_OFFSET) != b"CD001":
        raise VerifyError(f"{path}: no ISO 9660 volume descriptor at 0x8001")
    parts = _mbr_partitions(head)
    if not parts:
        raise VerifyError(f"{path}: the MBR has no partitions")
    size = path.stat().st_size
    spans = sorted((start, start + sectors) for _, start, sectors, _ in parts)
    for (_, end_a), (start_b, _) in zip(spans, spans[1:]):
        if start_b < end_a:
            raise VerifyError(f"{path}: MBR partitions overlap")
    ptype, start, sectors, _ = max(parts, key=lambda p: p[1])
    if (start + sectors) * 512 > size:
        raise VerifyError(f"{path}: last partition ends past the end of the file (truncated?)")
    if ptype != 0x07:
        raise VerifyError(f"{path}: last partition has type {ptype:#04x}, not 0x07 (exFAT): no {label} partition")
    found = exfat_label(path, start * 512)
    if found != label:
        raise VerifyError(f"{path}: last partition is exFAT labelled {found!r}, not {label!r}")
    types = ", ".join(f"{p[0]:#04x}{'*' if p[3] else ''}" for p in sorted(parts, key=lambda p: p[1]))
    return f"hybrid ISO, partitions {types}, last one exFAT {label!r}"


def check_checksums(manifest: Path) -> str:
    lines = [line for line in manifest.read_text().splitlines() if line.strip()]
    if not lines:
        raise VerifyError(f"{manifest}: empty checksum manifest")
    for line in lines:
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](\S+)", line)
        if not m:
            raise VerifyError(f"{manifest}: not a sha256sum line: {line!r}")
        digest, name = m.groups()
        if "/" in name:
            raise VerifyError(f"{manifest}: {name} is not a basename")
        target = manifest.parent / name
        if not target.is_file():
            raise VerifyError(f"{manifest}: {name} is missing next to the manifest")
        if _sha256(target) != digest:
            raise VerifyError(f"{manifest}: checksum of {name} does not match")
    return f"{len(lines)} checksum(s) match"


def package_names(list_file: Path) -> list[str]:
    """Package names of a live-build package list (comments and blank lines skipped)."""
    names = []
    for line in list_file.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("!"):
            names.extend(line.split())
    return names


def check_packages(installed: Path, lists: list[Path]) -> str:
    have = {line.split("\t", 1)[0].split(":", 1)[0] for line in installed.read_text().splitlines() if line.strip()}
    wanted = {name: lst.name for lst in lists for name in package_names(lst)}
    missing = sorted(name for name in wanted if name not in have)
    if missing:
        detail = ", ".join(f"{name} ({wanted[name]})" for name in missing)
        raise VerifyError(f"packages from bty's lists are not installed in the image: {detail}")
    return f"all {len(wanted)} listed packages installed"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read(path: Path, n: int, offset: int = 0) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="media-verify.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="kind", required=True)
    sub.add_parser("kernel").add_argument("file", type=Path)
    sub.add_parser("initrd").add_argument("file", type=Path)
    sq = sub.add_parser("squashfs")
    sq.add_argument("file", type=Path)
    sq.add_argument("--path", action="append", default=[], help="path that must be in the image")
    sq.add_argument("--unsquashfs", default=os.environ.get("UNSQUASHFS", "unsquashfs"))
    iso = sub.add_parser("iso")
    iso.add_argument("file", type=Path)
    iso.add_argument("--label", default="BTY_IMAGES")
    sub.add_parser("checksums").add_argument("manifest", type=Path)
    pk = sub.add_parser("packages")
    pk.add_argument("--installed", type=Path, required=True)
    pk.add_argument("--list", type=Path, action="append", required=True, dest="lists")
    args = parser.parse_args(argv)

    target = getattr(args, "file", None) or getattr(args, "manifest", None) or args.installed
    if not Path(target).is_file():
        print(f"media-verify.py: {target}: no such file", file=sys.stderr)
        return 2
    try:
        if args.kind == "kernel":
            result = check_kernel(args.file)
        elif args.kind == "initrd":
            result = check_initrd(args.file)
        elif args.kind == "squashfs":
            result = check_squashfs(args.file, args.path, args.unsquashfs)
        elif args.kind == "iso":
            result = check_iso(args.file, args.label)
        elif args.kind == "checksums":
            result = check_checksums(args.manifest)
        else:
            result = check_packages(args.installed, args.lists)
    except VerifyError as err:
        print(f"media-verify.py: FAIL {err}", file=sys.stderr)
        return 1
    print(f"media-verify.py: ok {args.kind} {target}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
