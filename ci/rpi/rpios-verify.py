#!/usr/bin/env python3
"""Verify bty's usbboot-rpi image (ci/rpi/rpios-build.py's output) before it is returned.

Checks, each reported with what was found:
  * the name is bty's release name, bty-usbboot-rpi-arm64-v<version>.img.gz;
  * the .sha256 beside it (sha256sum format, basename) matches the .img.gz,
    and the gzip stream is complete;
  * the disk: an MBR (as Raspberry Pi OS has) with exactly 2 partitions,
    p1 FAT (type 0x0c and a FAT boot sector), p2 Linux (0x83) holding ext4,
    grown: p2 reaches the end of the image and its file system fills it;
  * the root file system, read with debugfs (e2fsprogs; no mount, no root):
    bty in /opt/bty/venv (0500-bty-install) at the version, /usr/local/bin/bty
    linking to it, the wheel consumed; the services bty's hooks enable (the
    .wants links 0700, 0800 and 0900 make) and bty-ssh-regen.service;
    var-lib-bty-images.mount not enabled; userconfig.service and
    cancel-rename.service masked (-> /dev/null); getty@tty1 enabled; an
    empty /etc/machine-id, no dbus machine-id, no ssh host keys; root's
    password set and sshd's drop-in (0800); the version stamped in /etc;
    bty's /usr/local/sbin scripts executable; apt lists and /tmp emptied;
    nothing build-only of rpios-build.py left behind.

The .img.gz is decompressed into a sparse temporary file (removed after).

Exit codes: 0 all checks passed, 1 a check failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

PROG = "rpios-verify.py"
NAME_RE = re.compile(
    r"^bty-usbboot-rpi-arm64-v(?P<version>[0-9][0-9A-Za-z.+-]*)\.img\.gz$"
)
SECTOR = 512
MIB = 1 << 20
FAT_TYPES = {0x0B: "W95 FAT32", 0x0C: "W95 FAT32 (LBA)"}
LINUX_TYPE = 0x83
GPT_PROTECTIVE = 0xEE
EXT_MAGIC = 0xEF53
EXT4_INCOMPAT = {0x40: "extents", 0x80: "64bit", 0x200: "flex_bg"}
# Slack accepted between the grown partition / file system and what holds it.
GROW_SLACK = MIB

Result = tuple[str, bool, str]

SYSTEMD = "/etc/systemd/system"
# (link, target) bty's hooks and build make; the hooks' `ln -sf` fix the targets.
ENABLED_LINKS = [
    *(
        (f"{SYSTEMD}/multi-user.target.wants/{svc}", f"{SYSTEMD}/{svc}")
        for svc in (
            "bty-on-tty1.service",
            "bty-images-discover.service",
            "bty-usb-grow.service",
            "bty-banner-mid.service",
            "bty-banner-late.service",
            "bty-clock-from-http.service",
            "bty-ssh-regen.service",
        )
    ),
    (
        f"{SYSTEMD}/sysinit.target.wants/bty-banner-early.service",
        f"{SYSTEMD}/bty-banner-early.service",
    ),
    (
        f"{SYSTEMD}/sysinit.target.wants/systemd-timesyncd.service",
        "/usr/lib/systemd/system/systemd-timesyncd.service",
    ),
    (
        f"{SYSTEMD}/multi-user.target.wants/ssh.service",
        "/lib/systemd/system/ssh.service",
    ),
]
MASKED = ["userconfig.service", "cancel-rename.service"]
NOT_ENABLED = [f"{SYSTEMD}/multi-user.target.wants/var-lib-bty-images.mount"]
GETTY_TTY1 = f"{SYSTEMD}/getty.target.wants/getty@tty1.service"
STAMPED = ["/etc/issue", "/etc/motd", "/etc/profile.d/bty-version.sh"]
# Left unstamped by bty's own rpios build (it stamps /etc only): reported, not failed.
UNSTAMPED_BY_BTY = ["/usr/local/sbin/bty-boot-banner"]
BUILD_ONLY = [
    "/etc/apt/sources.list.d/bty-ci-override.list",
    "/etc/apt/bty-ci-stash",
    "/usr/sbin/policy-rc.d.bty-ci-orig",
    "/etc/resolv.conf.bty-ci-orig",
    "/tmp/bty-hooks",
]


class InputError(Exception):
    """Bad arguments or unreadable inputs (exit 2)."""


@dataclass(frozen=True)
class Entry:
    kind: str  # "file", "dir", "symlink" or "other"
    mode: int
    size: int
    target: str | None = None


class RootFs(Protocol):
    """Read-only view of the image's root file system."""

    def entry(self, path: str) -> Entry | None: ...

    def read(self, path: str) -> bytes | None: ...

    def listdir(self, path: str) -> list[str] | None: ...


# --------------------------------------------------------------------------
# pure checks
# --------------------------------------------------------------------------


def name_version(name: str) -> str | None:
    m = NAME_RE.match(name)
    return m["version"] if m else None


def checksum_checks(sha_text: str, image_name: str, actual: str) -> list[Result]:
    lines = [line for line in sha_text.splitlines() if line.strip()]
    m = re.fullmatch(r"([0-9a-f]{64}) [ *](\S+)", lines[0]) if len(lines) == 1 else None
    if not m:
        return [
            (
                "checksum file",
                False,
                f"not one sha256sum line: {sha_text.strip()[:200]!r}",
            )
        ]
    digest, named = m.groups()
    results = [
        (
            "checksum file",
            named == image_name,
            f"names {named}" + ("" if named == image_name else f", not {image_name}"),
        )
    ]
    ok = digest == actual
    results.append(
        (
            "checksum",
            ok,
            f"sha256 {actual}"
            + ("" if ok else f" does not match {digest} in the .sha256"),
        )
    )
    return results


@dataclass(frozen=True)
class Partition:
    number: int
    type: int
    start: int  # bytes
    size: int  # bytes

    @property
    def end(self) -> int:
        return self.start + self.size


def mbr_partitions(mbr: bytes) -> list[Partition]:
    """The used primary entries of an MBR (raises InputError without a signature)."""
    if len(mbr) < SECTOR or mbr[510:512] != b"\x55\xaa":
        raise InputError("no MBR signature (55 aa) in the first sector")
    parts = []
    for i in range(4):
        entry = mbr[446 + 16 * i : 446 + 16 * (i + 1)]
        ptype = entry[4]
        lba, sectors = struct.unpack_from("<II", entry, 8)
        if ptype and sectors:
            parts.append(Partition(i + 1, ptype, lba * SECTOR, sectors * SECTOR))
    return parts


def fat_kind(boot: bytes) -> str | None:
    """ "FAT32"/"FAT16"/"FAT12" from a FAT boot sector, None when it is not one."""
    if len(boot) < SECTOR or boot[510:512] != b"\x55\xaa":
        return None
    if boot[0x52:0x5A] == b"FAT32   ":
        return "FAT32"
    if boot[0x36:0x3B] == b"FAT16" or boot[0x36:0x3B] == b"FAT12":
        return boot[0x36:0x3B].decode()
    return None


def ext_info(superblock: bytes) -> tuple[str, int] | None:
    """(ext2/ext3/ext4 with its features, size in bytes) from an ext superblock."""
    if (
        len(superblock) < 1024
        or struct.unpack_from("<H", superblock, 0x38)[0] != EXT_MAGIC
    ):
        return None
    blocks_lo, log_block = (
        struct.unpack_from("<I", superblock, 0x04)[0],
        struct.unpack_from("<I", superblock, 0x18)[0],
    )
    compat, incompat = struct.unpack_from("<II", superblock, 0x5C)
    blocks_hi = struct.unpack_from("<I", superblock, 0x150)[0] if incompat & 0x80 else 0
    size = ((blocks_hi << 32) | blocks_lo) * (1024 << log_block)
    features = [name for bit, name in EXT4_INCOMPAT.items() if incompat & bit]
    kind = "ext4" if features else ("ext3" if compat & 0x4 else "ext2")
    return f"{kind} ({', '.join(features) or 'no ext4 features'})", size


def layout_checks(
    read_at: Callable[[int, int], bytes], image_size: int
) -> tuple[list[Result], Partition | None]:
    """Partition table and file system types; returns the root partition when usable."""
    try:
        parts = mbr_partitions(read_at(0, SECTOR))
    except InputError as exc:
        return [("partition table", False, str(exc))], None
    listing = ", ".join(
        f"p{p.number} 0x{p.type:02x} {p.size // MIB} MiB at {p.start // MIB} MiB"
        for p in parts
    )
    if any(p.type == GPT_PROTECTIVE for p in parts):
        return [
            (
                "partition table",
                False,
                f"a GPT disk (protective MBR: {listing}), not Raspberry Pi OS's MBR",
            )
        ], None
    shape = [p.number for p in parts] == [1, 2]
    results: list[Result] = [
        (
            "partition table",
            shape,
            f"MBR with {listing or 'no partitions'}"
            + ("" if shape else ": want exactly p1 and p2"),
        )
    ]
    if not shape:
        return results, None
    boot, root = parts
    inside = all(p.end <= image_size for p in parts) and boot.end <= root.start
    results.append(
        (
            "partitions inside the image",
            inside,
            f"p1 ends {boot.end}, p2 {root.start}..{root.end}, image {image_size} bytes",
        )
    )
    if not inside:
        return results, None
    fat = fat_kind(read_at(boot.start, SECTOR))
    results.append(
        (
            "p1 vfat",
            boot.type in FAT_TYPES and fat is not None,
            f"type 0x{boot.type:02x} ({FAT_TYPES.get(boot.type, 'not FAT32')}), {fat or 'no FAT boot sector'}",
        )
    )
    ext = ext_info(read_at(root.start + 1024, 1024))
    results.append(
        (
            "p2 ext4",
            root.type == LINUX_TYPE and ext is not None and ext[0].startswith("ext4"),
            f"type 0x{root.type:02x}, {ext[0] if ext else 'no ext superblock'}",
        )
    )
    if ext is None:
        return results, None
    results.append(
        (
            "root partition grown",
            image_size - root.end < GROW_SLACK,
            f"p2 ends {image_size - root.end} bytes before the image's end",
        )
    )
    results.append(
        (
            "root file system grown",
            0 <= root.size - ext[1] < GROW_SLACK,
            f"{ext[1]} bytes of file system in a {root.size}-byte partition",
        )
    )
    return results, root


def _link(fs: RootFs, path: str) -> str | None:
    e = fs.entry(path)
    return e.target if e and e.kind == "symlink" else None


def root_checks(fs: RootFs, version: str) -> list[Result]:
    results: list[Result] = []

    def check(name: str, ok: bool, found: str) -> None:
        results.append((name, ok, found))

    bty = fs.entry("/opt/bty/venv/bin/bty")
    check(
        "bty in /opt/bty/venv",
        bool(bty and bty.kind == "file" and bty.mode & 0o111),
        f"/opt/bty/venv/bin/bty: {describe(bty)}",
    )
    link = _link(fs, "/usr/local/bin/bty")
    check("/usr/local/bin/bty", link == "/opt/bty/venv/bin/bty", f"-> {link}")
    dist = f"bty_lab-{version}.dist-info"
    found = [
        f"/opt/bty/venv/lib/{lib}/site-packages/{dist}"
        for lib in fs.listdir("/opt/bty/venv/lib") or []
        if dist in (fs.listdir(f"/opt/bty/venv/lib/{lib}/site-packages") or [])
    ]
    check(
        "bty version installed",
        bool(found),
        found[0] if found else f"no {dist} in the venv's site-packages",
    )
    wheels = [n for n in fs.listdir("/opt/bty") or [] if n.endswith(".whl")]
    check(
        "bty wheel consumed",
        not wheels,
        f"left in /opt/bty: {wheels}" if wheels else "no wheel left in /opt/bty",
    )

    wrong = []
    for path, target in ENABLED_LINKS:
        got = _link(fs, path)
        unit = (
            fs.entry(target) if target.startswith(SYSTEMD) else Entry("file", 0o644, 1)
        )
        if got != target or not unit or unit.kind != "file":
            wrong.append(
                f"{path} -> {got} (want {target}{'' if unit and unit.kind == 'file' else ', unit file missing'})"
            )
    check(
        "services enabled",
        not wrong,
        "; ".join(wrong)
        or f"{len(ENABLED_LINKS)} .wants links as bty's hooks make them",
    )
    regen = (fs.read(f"{SYSTEMD}/bty-ssh-regen.service") or b"").decode(
        errors="replace"
    )
    check(
        "bty-ssh-regen.service",
        "ExecStart=/usr/bin/ssh-keygen -A" in regen
        and "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key" in regen,
        "regenerates missing host keys" if regen else "unit file missing",
    )
    enabled = [p for p in NOT_ENABLED if fs.entry(p)]
    check(
        "var-lib-bty-images.mount not enabled",
        not enabled,
        f"still linked: {enabled}" if enabled else "no .wants link",
    )
    for unit in MASKED:
        got = _link(fs, f"{SYSTEMD}/{unit}")
        check(f"{unit} masked", got == "/dev/null", f"{SYSTEMD}/{unit} -> {got}")
    getty = _link(fs, GETTY_TTY1)
    check(
        "getty@tty1 enabled",
        bool(getty and getty.endswith("/getty@.service")),
        f"{GETTY_TTY1} -> {getty}",
    )

    machine_id = fs.entry("/etc/machine-id")
    check(
        "/etc/machine-id empty",
        bool(machine_id and machine_id.kind == "file" and machine_id.size == 0),
        describe(machine_id),
    )
    dbus_id = fs.entry("/var/lib/dbus/machine-id")
    check(
        "no dbus machine-id",
        dbus_id is None,
        f"/var/lib/dbus/machine-id: {describe(dbus_id)}",
    )
    keys = [n for n in fs.listdir("/etc/ssh") or [] if n.startswith("ssh_host_")]
    check(
        "no ssh host keys",
        not keys,
        f"baked keys: {keys}" if keys else "none in /etc/ssh",
    )
    dropin = (fs.read("/etc/ssh/sshd_config.d/zz-bty-live.conf") or b"").decode(
        errors="replace"
    )
    check(
        "sshd drop-in (0800)",
        "PermitRootLogin yes" in dropin,
        "PermitRootLogin yes" if dropin else "zz-bty-live.conf missing",
    )
    shadow = (fs.read("/etc/shadow") or b"").decode(errors="replace")
    root_hash = next(
        (
            line.split(":")[1]
            for line in shadow.splitlines()
            if line.startswith("root:")
        ),
        "",
    )
    check(
        "root password set (0800)",
        root_hash.startswith("$"),
        "a crypt hash" if root_hash.startswith("$") else f"{root_hash[:3]!r}",
    )

    bad = []
    for path in STAMPED:
        text = (fs.read(path) or b"").decode(errors="replace")
        if f"bty {version}" not in text or "__BTY_VERSION__" in text:
            bad.append(path)
    check(
        "version stamped",
        not bad,
        f"not stamped with bty {version}: {bad}"
        if bad
        else f"bty {version} in {', '.join(STAMPED)}",
    )
    scripts = [n for n in fs.listdir("/usr/local/sbin") or [] if n.startswith("bty-")]
    not_x = [
        n
        for n in scripts
        if not ((e := fs.entry(f"/usr/local/sbin/{n}")) and e.mode & 0o111)
    ]
    check(
        "bty scripts executable",
        bool(scripts) and not not_x,
        f"not executable: {not_x}" if not_x else f"{len(scripts)} in /usr/local/sbin",
    )
    # What bty's `rm -rf /var/lib/apt/lists/* /tmp/*` removes: dot files stay.
    lists = [n for n in fs.listdir("/var/lib/apt/lists") or [] if not n.startswith(".")]
    tmp = [n for n in fs.listdir("/tmp") or [] if not n.startswith(".")]
    check(
        "apt lists and /tmp emptied",
        not lists and not tmp,
        f"apt lists {lists[:5]}, /tmp {tmp[:5]}",
    )
    left = [p for p in BUILD_ONLY if fs.entry(p)]
    policy = (fs.read("/usr/sbin/policy-rc.d") or b"").decode(errors="replace")
    if "bty-ci build only" in policy:
        left.append("/usr/sbin/policy-rc.d")
    check("no build-only leftovers", not left, f"left: {left}" if left else "none")
    return results


def notes(fs: RootFs) -> list[str]:
    """What bty's own build leaves as it is, said but not failed."""
    said = []
    for path in UNSTAMPED_BY_BTY:
        if b"__BTY_VERSION__" in (fs.read(path) or b""):
            said.append(
                f"{path} keeps __BTY_VERSION__ (bty's rpios build stamps /etc only)"
            )
    return said


def describe(e: Entry | None) -> str:
    if e is None:
        return "missing"
    if e.kind == "symlink":
        return f"symlink -> {e.target}"
    return f"{e.kind}, mode {e.mode:04o}, {e.size} bytes"


# --------------------------------------------------------------------------
# debugfs
# --------------------------------------------------------------------------


def parse_stat(text: str) -> Entry | None:
    """An Entry from `debugfs -R "stat PATH"` output; None when it names no inode."""
    m = re.search(r"Type:\s+(\S+)\s+Mode:\s+([0-7]+)", text)
    if not m:
        return None
    kinds = {"regular": "file", "directory": "dir", "symlink": "symlink"}
    kind = kinds.get(m[1], "other")
    size = re.search(r"\bSize:\s+(\d+)", text)
    target = re.search(r'Fast link dest:\s+"(.*)"', text)
    return Entry(
        kind, int(m[2], 8), int(size[1]) if size else 0, target[1] if target else None
    )


def parse_ls(text: str) -> list[str]:
    """Names from `debugfs -R "ls -p DIR"` (/inode/mode/uid/gid/name/size/), without . and .."""
    names = []
    for line in text.splitlines():
        fields = line.strip().split("/")
        if (
            len(fields) >= 7
            and fields[1].isdigit()
            and fields[1] != "0"
            and fields[5] not in (".", "..")
        ):
            names.append(fields[5])
    return names


class DebugfsRoot:
    """The ext4 file system at byte `offset` of a raw image, through debugfs."""

    def __init__(self, image: Path, offset: int):
        self.device = f"{image}?offset={offset}"

    def _run(self, request: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["debugfs", "-R", request, self.device], capture_output=True, check=False
        )

    def entry(self, path: str) -> Entry | None:
        r = self._run(f'stat "{path}"')
        e = parse_stat(r.stdout.decode(errors="replace"))
        if e and e.kind == "symlink" and e.target is None:
            # A slow symlink: the target is the inode's data.
            data = self._run(f'cat "{path}"').stdout
            e = Entry(e.kind, e.mode, e.size, data[: e.size].decode(errors="replace"))
        return e

    def read(self, path: str) -> bytes | None:
        e = self.entry(path)
        if not e or e.kind != "file":
            return None
        return self._run(f'cat "{path}"').stdout

    def listdir(self, path: str) -> list[str] | None:
        e = self.entry(path)
        if not e or e.kind != "dir":
            return None
        return parse_ls(self._run(f'ls -p "{path}"').stdout.decode(errors="replace"))


# --------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------


def decompress_sparse(gz: Path, raw: Path) -> tuple[str, bool]:
    """Decompress gz into raw, runs of zeros as holes; returns (sha256 of gz, stream complete)."""
    digest = hashlib.sha256()
    d = zlib.decompressobj(wbits=31)
    zero = bytes(1 << 20)
    complete = False
    with gz.open("rb") as src, raw.open("wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            while chunk:
                try:
                    out = d.decompress(chunk)
                except zlib.error:
                    # Keep hashing: the checksum check says what is wrong.
                    for rest in iter(lambda: src.read(1 << 20), b""):
                        digest.update(rest)
                    return digest.hexdigest(), False
                for i in range(0, len(out), len(zero)):
                    piece = out[i : i + len(zero)]
                    if piece == zero[: len(piece)]:
                        dst.seek(len(piece), os.SEEK_CUR)
                    else:
                        dst.write(piece)
                complete = d.eof
                chunk = d.unused_data  # a next gzip member
                if chunk:
                    d = zlib.decompressobj(wbits=31)
                    complete = False
        dst.truncate(dst.tell())
    return digest.hexdigest(), complete


def verify(
    image: Path, sha_file: Path, version: str, tmp: Path
) -> tuple[list[Result], list[str]]:
    """Every check of the module docstring on image (.img.gz); raw goes to a temp file in tmp."""
    results: list[Result] = []
    named = name_version(image.name)
    results.append(
        (
            "release name",
            named == version,
            image.name
            + (
                ""
                if named == version
                else f": want bty-usbboot-rpi-arm64-v{version}.img.gz"
            ),
        )
    )
    with tempfile.TemporaryDirectory(prefix="rpios-verify-", dir=tmp) as work:
        raw = Path(work) / "image.img"
        actual, complete = decompress_sparse(image, raw)
        results += checksum_checks(sha_file.read_text(), image.name, actual)
        results.append(
            (
                "gzip stream",
                complete,
                "complete" if complete else "truncated or corrupt",
            )
        )
        if not complete:
            return results, []
        size = raw.stat().st_size
        with raw.open("rb") as fh:

            def read_at(offset: int, n: int) -> bytes:
                fh.seek(offset)
                return fh.read(n)

            layout, root = layout_checks(read_at, size)
        results += layout
        if root is None:
            return results, []
        fs = DebugfsRoot(raw, root.start)
        return results + root_checks(fs, version), notes(fs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s IMAGE.img.gz [--sha256 FILE] [--version VER] [--tmp DIR]",
    )
    parser.add_argument(
        "image", type=Path, help="bty-usbboot-rpi-arm64-v<version>.img.gz"
    )
    parser.add_argument(
        "--sha256", type=Path, help="its checksum file (default: IMAGE.sha256)"
    )
    parser.add_argument(
        "--version", help="bty's version (default: from the image's name)"
    )
    parser.add_argument(
        "--tmp", type=Path, help="where the decompressed image goes (default: $TMPDIR)"
    )
    args = parser.parse_args(argv)
    sha_file = args.sha256 or args.image.with_name(args.image.name + ".sha256")
    try:
        if not args.image.is_file():
            raise InputError(f"image not found: {args.image}")
        if not sha_file.is_file():
            raise InputError(f"checksum file not found: {sha_file}")
        version = args.version or name_version(args.image.name)
        if not version:
            raise InputError(
                f"{args.image.name} is not bty-usbboot-rpi-arm64-v<version>.img.gz: give --version"
            )
        if (
            subprocess.run(
                ["debugfs", "-V"], capture_output=True, check=False
            ).returncode
            != 0
        ):
            raise InputError("debugfs not found: apt-get install e2fsprogs")
    except (InputError, FileNotFoundError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    results, said = verify(
        args.image, sha_file, version, args.tmp or Path(tempfile.gettempdir())
    )
    failed = [r for r in results if not r[1]]
    for check, ok, found in results:
        print(
            f"{'ok  ' if ok else 'FAIL'} {check}: {found}",
            file=sys.stdout if ok else sys.stderr,
        )
    for note in said:
        print(f"note {note}")
    if failed:
        print(
            f"{PROG}: {args.image.name} failed {len(failed)} check(s): "
            + "; ".join(f"{c}: {f}" for c, _, f in failed),
            file=sys.stderr,
        )
        return 1
    print(f"{PROG}: {args.image.name} passed {len(results)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
