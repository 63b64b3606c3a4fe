"""ci/media-verify.py on synthetic kernels, initramfs, squashfs, hybrid ISOs and lists."""

from __future__ import annotations

import contextlib
import gzip
import io
import lzma
import struct
import tempfile
import unittest
from pathlib import Path

from programs import load_program

media_verify = load_program("media-verify.py")
VerifyError = media_verify.VerifyError

SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def bzimage(protocol: int = 0x020F) -> bytes:
    head = bytearray(0x400)
    head[0x1FE:0x200] = b"\x55\xaa"
    head[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", head, 0x206, protocol)
    return bytes(head)


def newc(*files: tuple[str, bytes]) -> bytes:
    """A newc cpio archive of (name, data), ending with its trailer, padded to 4 bytes."""
    out = b""
    for name, data in (*files, ("TRAILER!!!", b"")):
        fields = [1, 0o100644, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        header = (
            b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
        )
        out += header + b"\0" * (-len(header) % 4) + data + b"\0" * (-len(data) % 4)
    return out


def squashfs(bytes_used: int, size: int) -> bytes:
    head = bytearray(size)
    head[0:4] = b"hsqs"
    struct.pack_into("<Q", head, 40, bytes_used)
    return bytes(head)


SECTOR = 512


def hybrid_iso(
    label: str = "BTY_IMAGES",
    last_type: int = 0x07,
    parts: tuple[tuple[int, int, int], ...] = ((0x17, 0, 1024), (0x07, 1024, 1024)),
    sectors: int = 2048,
) -> bytes:
    """A hybrid image: MBR, ISO 9660's volume descriptor id, and an exFAT last
    partition whose root directory holds the volume label."""
    image = bytearray(sectors * SECTOR)
    for i, (ptype, start, count) in enumerate(parts):
        ptype = last_type if i == len(parts) - 1 else ptype
        entry = 0x1BE + 16 * i
        image[entry] = 0x80 if i == 0 else 0
        image[entry + 4] = ptype
        struct.pack_into("<II", image, entry + 8, start, count)
    image[510:512] = b"\x55\xaa"
    image[0x8001:0x8006] = b"CD001"
    exfat = parts[-1][1] * SECTOR
    image[exfat + 3 : exfat + 11] = b"EXFAT   "
    struct.pack_into("<I", image, exfat + 88, 16)  # cluster heap at sector 16
    struct.pack_into("<I", image, exfat + 96, 2)  # root directory in the first cluster
    image[exfat + 108] = 9  # 512-byte sectors
    image[exfat + 109] = 0  # one sector per cluster
    root = exfat + 16 * SECTOR
    encoded = label.encode("utf-16-le")
    image[root] = 0x83
    image[root + 1] = len(label)
    image[root + 2 : root + 2 + len(encoded)] = encoded
    return bytes(image)


class Files(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def file(self, name: str, data: bytes | str) -> Path:
        path = self.dir / name
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
        return path


class KernelTest(Files):
    def test_a_bzimage_and_its_boot_protocol(self) -> None:
        self.assertEqual(
            media_verify.check_kernel(self.file("vmlinuz", bzimage())),
            "bzImage, boot protocol 2.15",
        )

    def test_not_a_bzimage(self) -> None:
        broken = bytearray(bzimage())
        broken[0x1FE] = 0
        with self.assertRaisesRegex(VerifyError, "no boot flag 0xAA55"):
            media_verify.check_kernel(self.file("a", bytes(broken)))
        with self.assertRaisesRegex(VerifyError, 'no "HdrS" setup header'):
            media_verify.check_kernel(self.file("b", bzimage()[:0x202] + b"\0" * 0x10))
        with self.assertRaisesRegex(VerifyError, "100 bytes, too short"):
            media_verify.check_kernel(self.file("c", b"\0" * 100))


class InitrdTest(Files):
    def test_early_microcode_then_a_compressed_cpio(self) -> None:
        early = newc(("kernel/x86/microcode/GenuineIntel.bin", b"ucode"))
        main = gzip.compress(newc(("init", b"#!/bin/sh\n")))
        self.assertEqual(
            media_verify.check_initrd(self.file("initrd", early + main)),
            "1 early cpio archive(s), then a gzip-compressed cpio",
        )
        xz = lzma.compress(newc(("init", b"x")), format=lzma.FORMAT_XZ)
        self.assertEqual(
            media_verify.check_initrd(self.file("xz", xz)),
            "0 early cpio archive(s), then a xz-compressed cpio",
        )

    def test_a_stream_that_is_no_cpio_only_early_archives_or_no_stream(self) -> None:
        with self.assertRaisesRegex(
            VerifyError, "gzip stream at offset 0 does not hold a newc cpio"
        ):
            media_verify.check_initrd(
                self.file("a", gzip.compress(b"not a cpio archive"))
            )
        with self.assertRaisesRegex(
            VerifyError, "only uncompressed early cpio archives"
        ):
            media_verify.check_initrd(self.file("b", newc(("early", b"1"))))
        with self.assertRaisesRegex(
            VerifyError, r"no gzip/xz/zstd/lz4 magic at offset 0 \(found 3c68746d6c3e\)"
        ):
            media_verify.check_initrd(self.file("c", b"<html>404</html>"))


class SquashfsTest(Files):
    def unsquashfs(self, *paths: str) -> str:
        """A stand-in unsquashfs whose -l lists paths."""
        listing = "".join(f"{p}\\n" for p in paths)
        tool = self.file("unsquashfs", f"#!/bin/sh\nprintf '{listing}'\n")
        tool.chmod(0o755)
        return str(tool)

    def test_lists_the_paths_that_must_be_there(self) -> None:
        image = self.file("fs.squashfs", squashfs(4096, 8192))
        tool = self.unsquashfs("", "/usr", "/usr/bin", "/usr/bin/bty")
        self.assertEqual(
            media_verify.check_squashfs(image, ["usr/bin/bty", "/usr/"], tool),
            "squashfs, 4096 bytes used, 4 entries",
        )
        with self.assertRaisesRegex(
            VerifyError, "squashfs does not contain /opt/bty/venv"
        ):
            media_verify.check_squashfs(image, ["/opt/bty/venv"], tool)

    def test_no_magic_or_truncated(self) -> None:
        tool = self.unsquashfs("/")
        with self.assertRaisesRegex(
            VerifyError, r"no squashfs magic 'hsqs' \(found 00000000\)"
        ):
            media_verify.check_squashfs(self.file("a", b"\0" * 100), [], tool)
        with self.assertRaisesRegex(
            VerifyError, "truncated: superblock says 9000 bytes, file has 4096"
        ):
            media_verify.check_squashfs(self.file("b", squashfs(9000, 4096)), [], tool)


class IsoTest(Files):
    def test_a_hybrid_iso_whose_last_partition_is_btys_exfat(self) -> None:
        self.assertEqual(
            media_verify.check_iso(self.file("bty.iso", hybrid_iso()), "BTY_IMAGES"),
            "hybrid ISO, partitions 0x17*, 0x07, last one exFAT 'BTY_IMAGES'",
        )

    def test_what_makes_it_fail(self) -> None:
        cases = [
            (
                hybrid_iso(label="OTHER"),
                "last partition is exFAT labelled 'OTHER', not 'BTY_IMAGES'",
            ),
            (
                hybrid_iso(last_type=0x83),
                "last partition has type 0x83, not 0x07 \\(exFAT\\)",
            ),
            (hybrid_iso(sectors=1536), "last partition ends past the end of the file"),
            (
                hybrid_iso(parts=((0x17, 0, 1100), (0x07, 1024, 1024))),
                "MBR partitions overlap",
            ),
            (hybrid_iso()[:510] + b"\0\0" + hybrid_iso()[512:], "no MBR \\(0x55AA\\)"),
            (
                hybrid_iso()[:0x8001] + b"CD002" + hybrid_iso()[0x8006:],
                "no ISO 9660 volume descriptor",
            ),
        ]
        for i, (data, message) in enumerate(cases):
            with (
                self.subTest(message=message),
                self.assertRaisesRegex(VerifyError, message),
            ):
                media_verify.check_iso(self.file(f"{i}.iso", data), "BTY_IMAGES")


class ChecksumsTest(Files):
    def test_every_line_matches_its_file(self) -> None:
        self.file("a.iso", "abc")
        self.file("b.iso", "abc")
        manifest = self.file(
            "SHA256SUMS", f"{SHA256_ABC}  a.iso\n{SHA256_ABC} *b.iso\n\n"
        )
        self.assertEqual(media_verify.check_checksums(manifest), "2 checksum(s) match")

    def test_a_mismatch_a_missing_file_a_path_or_a_bad_line(self) -> None:
        self.file("a.iso", "abd")
        cases = [
            (f"{SHA256_ABC}  a.iso\n", "checksum of a.iso does not match"),
            (f"{SHA256_ABC}  gone.iso\n", "gone.iso is missing next to the manifest"),
            (f"{SHA256_ABC}  dir/a.iso\n", "dir/a.iso is not a basename"),
            ("abc  a.iso\n", "not a sha256sum line: 'abc  a.iso'"),
            ("\n", "empty checksum manifest"),
        ]
        for text, message in cases:
            with (
                self.subTest(message=message),
                self.assertRaisesRegex(VerifyError, message),
            ):
                media_verify.check_checksums(self.file("SUMS", text))


class PackagesTest(Files):
    def setUp(self) -> None:
        super().setUp()
        self.list = self.file(
            "bty.list.chroot",
            "# bty's packages\nbash zstd\n\n!chroot-only-directive\nbuild-essential # removed later\n",
        )
        self.installed = self.file(
            "installed",
            "bash\t5.2\tamd64\nzstd:amd64\t1.5\tamd64\nfirmware-misc-nonfree\t1\tall\n",
        )

    def test_list_names_skip_comments_blank_and_bang_lines(self) -> None:
        self.assertEqual(
            media_verify.package_names(self.list), ["bash", "zstd", "build-essential"]
        )

    def test_a_package_of_the_lists_missing_from_the_image(self) -> None:
        with self.assertRaisesRegex(
            VerifyError,
            r"not installed in the image: build-essential \(bty\.list\.chroot\)$",
        ):
            media_verify.check_packages(self.installed, [self.list])

    def test_one_the_build_installed_and_a_hook_removed_is_named(self) -> None:
        built = self.file("chroot.packages.install", "build-essential 12.9\n")
        self.assertEqual(
            media_verify.check_packages(self.installed, [self.list], built, 1),
            "all 3 listed packages installed, 1 firmware packages; removed after install by a hook: build-essential",
        )

    def test_too_few_firmware_packages(self) -> None:
        built = self.file("chroot.packages.install", "build-essential 12.9\n")
        with self.assertRaisesRegex(
            VerifyError,
            r"only 1 firmware package\(s\) in the image \(firmware-misc-nonfree\), expected at least 5",
        ):
            media_verify.check_packages(self.installed, [self.list], built, 5)


class MainTest(Files):
    def main(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = media_verify.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def test_exit_0_1_and_2(self) -> None:
        kernel = self.file("vmlinuz", bzimage())
        self.assertEqual(
            self.main("kernel", str(kernel)),
            (
                0,
                f"media-verify.py: ok kernel {kernel}: bzImage, boot protocol 2.15\n",
                "",
            ),
        )
        code, _, err = self.main("kernel", str(self.file("x", b"\0" * 0x300)))
        self.assertEqual(code, 1)
        self.assertRegex(err, r"^media-verify\.py: FAIL .*no boot flag 0xAA55")
        self.assertEqual(self.main("iso", str(self.dir / "none.iso"))[:1], (2,))


if __name__ == "__main__":
    unittest.main()
