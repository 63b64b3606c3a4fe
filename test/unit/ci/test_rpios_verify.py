"""ci/rpi/rpios-verify.py on synthetic disks and a file system in a dict
(the payload tier verifies a real build of a look-alike image)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import struct
import tempfile
import unittest
from pathlib import Path

from programs import load_program

rpios_verify = load_program("rpi/rpios-verify.py")
Entry = rpios_verify.Entry
MIB = 1 << 20
VERSION = "0.77.2"
SYSTEMD = "/etc/systemd/system"


def disk(
    *,
    parts: list[tuple[int, int, int]] | None = None,
    fat: bool = True,
    ext_features: int = 0x2C0,
    fs_bytes: int | None = None,
    size: int = 64 * MIB,
) -> bytearray:
    """An MBR disk: parts as (type, start MiB, size MiB); p1 gets a FAT32 boot
    sector, p2 an ext superblock (4 KiB blocks, fs_bytes long: the partition's)."""
    if parts is None:
        parts = [(0x0C, 4, 8), (0x83, 12, 52)]
    data = bytearray(size)
    for i, (ptype, start, length) in enumerate(parts):
        entry = 446 + 16 * i
        data[entry + 4] = ptype
        struct.pack_into("<II", data, entry + 8, start * 2048, length * 2048)
    data[510:512] = b"\x55\xaa"
    if len(parts) >= 1 and fat:
        boot = parts[0][1] * MIB
        data[boot + 0x52 : boot + 0x5A] = b"FAT32   "
        data[boot + 510 : boot + 512] = b"\x55\xaa"
    if len(parts) >= 2:
        sb = parts[1][1] * MIB + 1024
        blocks = (fs_bytes if fs_bytes is not None else parts[1][2] * MIB) // 4096
        struct.pack_into("<I", data, sb + 0x04, blocks)
        struct.pack_into("<I", data, sb + 0x18, 2)  # 1024 << 2 = 4 KiB
        struct.pack_into("<H", data, sb + 0x38, 0xEF53)
        struct.pack_into("<II", data, sb + 0x5C, 0x4, ext_features)
    return data


def layout(data: bytearray) -> dict[str, tuple[bool, str]]:
    results, _ = rpios_verify.layout_checks(
        lambda off, n: bytes(data[off : off + n]), len(data)
    )
    return {c: (ok, found) for c, ok, found in results}


class FakeRoot:
    """A root file system as a dict: path -> Entry, and file contents."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.data: dict[str, bytes] = {}

    def file(self, path: str, content: bytes = b"", mode: int = 0o644) -> None:
        self._dirs(path)
        self.entries[path] = Entry("file", mode, len(content))
        self.data[path] = content

    def link(self, path: str, target: str) -> None:
        self._dirs(path)
        self.entries[path] = Entry("symlink", 0o777, len(target), target)

    def remove(self, path: str) -> None:
        del self.entries[path]

    def _dirs(self, path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        for i in range(len(parts) + 1):
            self.entries.setdefault(
                "/" + "/".join(parts[:i]), Entry("dir", 0o755, 4096)
            )

    def entry(self, path: str) -> Entry | None:
        return self.entries.get(path)

    def read(self, path: str) -> bytes | None:
        e = self.entries.get(path)
        return self.data.get(path) if e and e.kind == "file" else None

    def listdir(self, path: str) -> list[str] | None:
        e = self.entries.get(path)
        if not e or e.kind != "dir":
            return None
        prefix = path.rstrip("/") + "/"
        return sorted(
            {
                p[len(prefix) :].split("/")[0]
                for p in self.entries
                if p.startswith(prefix) and p != prefix
            }
        )


def good_root() -> FakeRoot:
    """What bty's build leaves, as far as the verifier looks."""
    fs = FakeRoot()
    fs.file("/opt/bty/venv/bin/bty", b"#!python", 0o755)
    fs.link("/usr/local/bin/bty", "/opt/bty/venv/bin/bty")
    fs.file(
        f"/opt/bty/venv/lib/python3.11/site-packages/bty_lab-{VERSION}.dist-info/METADATA"
    )
    for link, target in rpios_verify.ENABLED_LINKS:
        fs.link(link, target)
        if target.startswith(SYSTEMD):
            fs.file(target, b"[Unit]\n")
    fs.file(
        f"{SYSTEMD}/bty-ssh-regen.service",
        b"ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\nExecStart=/usr/bin/ssh-keygen -A\n",
    )
    fs.link(f"{SYSTEMD}/userconfig.service", "/dev/null")
    fs.link(f"{SYSTEMD}/cancel-rename.service", "/dev/null")
    fs.link(
        f"{SYSTEMD}/getty.target.wants/getty@tty1.service",
        "/lib/systemd/system/getty@.service",
    )
    fs.file("/etc/machine-id")
    fs.file("/etc/ssh/sshd_config", b"")
    fs.file("/etc/ssh/sshd_config.d/zz-bty-live.conf", b"PermitRootLogin yes\n")
    fs.file("/etc/shadow", b"root:$y$j9T$abc:20000:0:99999:7:::\n")
    for path in rpios_verify.STAMPED:
        fs.file(path, f"bty {VERSION} live env\n".encode())
    fs.file("/usr/local/sbin/bty-on-tty1", b"#!/bin/sh\n", 0o755)
    fs.file("/usr/local/sbin/bty-boot-banner", b"VERSION='__BTY_VERSION__'\n", 0o755)
    fs.file("/tmp/.X11-unix/X0")  # a dot file survives bty's `rm -rf /tmp/*`
    fs.entries["/tmp"] = Entry("dir", 0o1777, 4096)
    return fs


def root(fs: FakeRoot) -> dict[str, tuple[bool, str]]:
    return {c: (ok, found) for c, ok, found in rpios_verify.root_checks(fs, VERSION)}


def failed(checks: dict[str, tuple[bool, str]]) -> list[str]:
    return [c for c, (ok, _) in checks.items() if not ok]


class NameAndChecksumTest(unittest.TestCase):
    def test_release_name(self) -> None:
        self.assertEqual(
            rpios_verify.name_version("bty-usbboot-rpi-arm64-v0.77.2.img.gz"), "0.77.2"
        )
        self.assertIsNone(
            rpios_verify.name_version("bty-usbboot-pc-x86_64-v0.77.2.iso")
        )

    def test_checksum(self) -> None:
        digest = "a" * 64
        ok = rpios_verify.checksum_checks(f"{digest}  x.img.gz\n", "x.img.gz", digest)
        self.assertTrue(all(r[1] for r in ok))
        wrong = rpios_verify.checksum_checks(
            f"{digest}  x.img.gz\n", "x.img.gz", "b" * 64
        )
        self.assertEqual([r[1] for r in wrong], [True, False])
        self.assertIn("does not match", wrong[1][2])
        other = rpios_verify.checksum_checks(
            f"{digest}  y.img.gz\n", "x.img.gz", digest
        )
        self.assertFalse(other[0][1])
        self.assertFalse(
            rpios_verify.checksum_checks("garbage", "x.img.gz", digest)[0][1]
        )


class LayoutTest(unittest.TestCase):
    def test_raspberry_pi_os_shape_passes(self) -> None:
        checks = layout(disk())
        self.assertEqual(failed(checks), [])
        self.assertIn(
            "p1 0x0c 8 MiB at 4 MiB, p2 0x83 52 MiB at 12 MiB",
            checks["partition table"][1],
        )
        self.assertIn("ext4 (extents, 64bit, flex_bg)", checks["p2 ext4"][1])

    def test_wrong_shapes_fail(self) -> None:
        self.assertFalse(
            layout(disk(parts=[(0x0C, 4, 8), (0x83, 12, 20), (0x83, 32, 32)]))[
                "partition table"
            ][0]
        )
        self.assertFalse(layout(disk(parts=[(0xEE, 0, 64)]))["partition table"][0])
        no_sig = disk()
        no_sig[510:512] = b"\0\0"
        self.assertIn("no MBR signature", layout(no_sig)["partition table"][1])

    def test_file_system_types(self) -> None:
        self.assertEqual(failed(layout(disk(fat=False))), ["p1 vfat"])
        self.assertEqual(
            failed(layout(disk(parts=[(0x83, 4, 8), (0x83, 12, 52)]))), ["p1 vfat"]
        )
        ext3 = layout(disk(ext_features=0))
        self.assertEqual(failed(ext3), ["p2 ext4"])
        self.assertIn("ext3", ext3["p2 ext4"][1])

    def test_grown_root(self) -> None:
        short = layout(disk(parts=[(0x0C, 4, 8), (0x83, 12, 20)]))
        self.assertEqual(failed(short), ["root partition grown"])
        small_fs = layout(disk(fs_bytes=20 * MIB))
        self.assertEqual(failed(small_fs), ["root file system grown"])
        past_end = layout(disk(parts=[(0x0C, 4, 8), (0x83, 12, 80)]))
        self.assertEqual(failed(past_end), ["partitions inside the image"])


class RootTest(unittest.TestCase):
    def test_a_good_root_passes_and_the_banner_is_noted(self) -> None:
        fs = good_root()
        self.assertEqual(failed(root(fs)), [])
        self.assertEqual(
            rpios_verify.notes(fs),
            [
                "/usr/local/sbin/bty-boot-banner keeps __BTY_VERSION__ (bty's rpios build stamps /etc only)"
            ],
        )

    def test_each_tampering_fails_its_check(self) -> None:
        def broken(change, check: str) -> None:
            fs = good_root()
            change(fs)
            self.assertEqual(failed(root(fs)), [check], check)

        broken(
            lambda fs: fs.file(f"{SYSTEMD}/userconfig.service", b"[Unit]\n"),
            "userconfig.service masked",
        )
        broken(
            lambda fs: fs.remove(f"{SYSTEMD}/cancel-rename.service"),
            "cancel-rename.service masked",
        )
        broken(
            lambda fs: fs.remove(
                f"{SYSTEMD}/multi-user.target.wants/bty-on-tty1.service"
            ),
            "services enabled",
        )
        broken(
            lambda fs: fs.remove(f"{SYSTEMD}/bty-banner-early.service"),
            "services enabled",
        )
        broken(
            lambda fs: fs.link(
                f"{SYSTEMD}/multi-user.target.wants/var-lib-bty-images.mount", "/x"
            ),
            "var-lib-bty-images.mount not enabled",
        )
        broken(
            lambda fs: fs.file("/etc/machine-id", b"0123\n"), "/etc/machine-id empty"
        )
        broken(
            lambda fs: fs.link("/var/lib/dbus/machine-id", "/etc/machine-id"),
            "no dbus machine-id",
        )
        broken(lambda fs: fs.file("/etc/ssh/ssh_host_ed25519_key"), "no ssh host keys")
        broken(
            lambda fs: fs.file("/etc/issue", b"bty __BTY_VERSION__\n"),
            "version stamped",
        )
        broken(lambda fs: fs.remove("/usr/local/bin/bty"), "/usr/local/bin/bty")
        broken(
            lambda fs: fs.file("/opt/bty/venv/bin/bty", b"", 0o644),
            "bty in /opt/bty/venv",
        )
        broken(
            lambda fs: fs.file("/opt/bty/bty_lab-0.77.2-py3-none-any.whl"),
            "bty wheel consumed",
        )
        broken(
            lambda fs: (
                fs.remove(
                    f"/opt/bty/venv/lib/python3.11/site-packages/bty_lab-{VERSION}.dist-info/METADATA"
                )
                or fs.remove(
                    f"/opt/bty/venv/lib/python3.11/site-packages/bty_lab-{VERSION}.dist-info"
                )
            ),
            "bty version installed",
        )
        broken(
            lambda fs: fs.remove(f"{SYSTEMD}/getty.target.wants/getty@tty1.service"),
            "getty@tty1 enabled",
        )
        broken(
            lambda fs: fs.file(f"{SYSTEMD}/bty-ssh-regen.service", b"[Unit]\n"),
            "bty-ssh-regen.service",
        )
        broken(
            lambda fs: fs.file("/etc/shadow", b"root:*:1:0:99999:7:::\n"),
            "root password set (0800)",
        )
        broken(
            lambda fs: fs.file("/usr/local/sbin/bty-on-tty1", b"", 0o644),
            "bty scripts executable",
        )
        broken(
            lambda fs: fs.file("/var/lib/apt/lists/deb.example_dists_x_Release"),
            "apt lists and /tmp emptied",
        )
        broken(
            lambda fs: fs.file(
                "/usr/sbin/policy-rc.d", b"# bty-ci build only\nexit 101\n"
            ),
            "no build-only leftovers",
        )
        broken(
            lambda fs: fs.file("/etc/apt/sources.list.d/bty-ci-override.list"),
            "no build-only leftovers",
        )


class DebugfsParseTest(unittest.TestCase):
    def test_stat(self) -> None:
        link = 'Inode: 257   Type: symlink    Mode:  0777   Flags: 0x0\nUser:     0   Group:     0   Project:     0   Size: 9\nFast link dest: "/dev/null"\n'
        self.assertEqual(
            rpios_verify.parse_stat(link), Entry("symlink", 0o777, 9, "/dev/null")
        )
        regular = "Inode: 12   Type: regular    Mode:  0755   Flags: 0x80000\nUser:     0   Group:     0   Project:     0   Size: 0\n"
        self.assertEqual(
            rpios_verify.parse_stat(regular), Entry("file", 0o755, 0, None)
        )
        self.assertIsNone(rpios_verify.parse_stat(""))

    def test_ls(self) -> None:
        text = "\n/13918/040755/0/0/.//\n/632/040755/0/0/..//\n/13922/040755/0/0/venv//\n/14/100644/0/0/bty_lab-1-py3-none-any.whl/12/\n/0/000000/0/0/gone//\n"
        self.assertEqual(
            rpios_verify.parse_ls(text), ["venv", "bty_lab-1-py3-none-any.whl"]
        )


class DecompressTest(unittest.TestCase):
    def test_sparse_and_complete(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            raw = b"\1" * 100 + bytes(3 * MIB) + b"\2" * 100
            gz = Path(d, "x.img.gz")
            gz.write_bytes(gzip.compress(raw))
            digest, complete = rpios_verify.decompress_sparse(gz, Path(d, "x.img"))
            self.assertTrue(complete)
            self.assertEqual(digest, hashlib.sha256(gz.read_bytes()).hexdigest())
            self.assertEqual(Path(d, "x.img").read_bytes(), raw)
            cut = Path(d, "cut.img.gz")
            cut.write_bytes(gz.read_bytes()[:-20])
            self.assertFalse(rpios_verify.decompress_sparse(cut, Path(d, "cut.img"))[1])
            bad = bytearray(gz.read_bytes())
            bad[len(bad) // 2] ^= 0xFF
            Path(d, "bad.img.gz").write_bytes(bytes(bad))
            digest, complete = rpios_verify.decompress_sparse(
                Path(d, "bad.img.gz"), Path(d, "bad.img")
            )
            self.assertFalse(complete)
            self.assertEqual(digest, hashlib.sha256(bytes(bad)).hexdigest())


class MainTest(unittest.TestCase):
    def test_usage_errors_exit_2(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(rpios_verify.main([f"{d}/none.img.gz"]), 2)
                image = Path(d, "odd-name.img.gz")
                image.write_bytes(b"")
                Path(d, "odd-name.img.gz.sha256").write_text("")
                self.assertEqual(rpios_verify.main([str(image)]), 2)
            self.assertIn("image not found", err.getvalue())
            self.assertIn("give --version", err.getvalue())


if __name__ == "__main__":
    unittest.main()
