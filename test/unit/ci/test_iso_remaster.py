"""ci/iso-remaster.py: live-build's recorded xorriso line and the checksum update.

The real remaster (mksquashfs, xorriso, boot records compared) runs in the
payload tier (test/payload/media.test.ts).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from programs import load_program

iso_remaster = load_program("iso-remaster.py")

# As live-build 20250505 wrote it into bty's usbboot-pc ISO (.disk/mkisofs).
RECORDED = (
    "xorriso -as mkisofs -R -r -J -joliet-long -l -cache-inodes -iso-level 3 "
    '-isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -partition_offset 16 -A "Debian Live" '
    '-p "live-build 20250505+deb13u1; https://salsa.debian.org/live-team/live-build" '
    '-V "Debian trixie 20261204-19:37" --modification-date=2026120419374000 '
    "-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "
    "-eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat -isohybrid-apm-hfsplus "
    "-o live-image-amd64.hybrid.iso binary\n"
)


class XorrisoArgvTest(unittest.TestCase):
    def test_live_builds_line_with_our_output(self) -> None:
        argv = iso_remaster.xorriso_argv(RECORDED, "/out/bty.iso")
        self.assertEqual(argv[:3], ["xorriso", "-as", "mkisofs"])
        self.assertEqual(argv[-3:], ["-o", "/out/bty.iso", "binary"])
        # Quoted values stay one argument each; nothing else changes.
        self.assertIn("Debian trixie 20261204-19:37", argv)
        self.assertIn(
            "live-build 20250505+deb13u1; https://salsa.debian.org/live-team/live-build",
            argv,
        )
        self.assertEqual(len(argv), 39)
        self.assertNotIn("live-image-amd64.hybrid.iso", argv)

    def test_refuses_other_commands(self) -> None:
        cases = {
            "rm -rf / binary": "does not start with 'xorriso -as mkisofs'",
            "xorriso -as mkisofs -o x.iso /": "does not end with the source tree 'binary'",
            "xorriso -as mkisofs -R binary": r"-o \(found 0\)",
            "xorriso -as mkisofs -o a.iso -o b.iso binary": r"-o \(found 2\)",
            "xorriso -as mkisofs -o binary": r"-o \(found 1\)",
            'xorriso -as mkisofs -V "open binary': "not one command line",
        }
        for recorded, message in cases.items():
            with self.subTest(recorded=recorded):
                with self.assertRaisesRegex(iso_remaster.InputError, message):
                    iso_remaster.xorriso_argv(recorded, "/out.iso")


class ChecksumTest(unittest.TestCase):
    SUMS = (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  ./.bty-bootloader-hook-ran\n"
        "4bbb927ffc3708217ce2d6b32cf887c1fcfd001009bd457482db5f5fecee5f7b  ./live/filesystem.squashfs\n"
        "6d881e94d508acaf0c624411911d882873805e4da5e5bba9ab592e0633ad0026  ./live/filesystem.packages\n"
    )

    def test_replaces_only_that_files_line(self) -> None:
        new = iso_remaster.with_checksum(
            self.SUMS, "live/filesystem.squashfs", "ab" * 32
        )
        self.assertEqual(
            new.splitlines(),
            [
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  ./.bty-bootloader-hook-ran",
                f"{'ab' * 32}  ./live/filesystem.squashfs",
                "6d881e94d508acaf0c624411911d882873805e4da5e5bba9ab592e0633ad0026  ./live/filesystem.packages",
            ],
        )
        self.assertTrue(new.endswith("packages\n"))

    def test_a_file_listed_never_or_twice_is_refused(self) -> None:
        with self.assertRaisesRegex(
            iso_remaster.InputError, r"lists ./live/filesystem.squashfs 0 times"
        ):
            iso_remaster.with_checksum(
                "aa  ./live/vmlinuz\n", "live/filesystem.squashfs", "00"
            )
        # A deeper path that ends the same way is another file.
        other = self.SUMS + "00  ./other/live/filesystem.squashfs\n"
        self.assertIn(
            "00  ./other/live/filesystem.squashfs",
            iso_remaster.with_checksum(other, "live/filesystem.squashfs", "11"),
        )
        twice = self.SUMS + "00  ./live/filesystem.squashfs\n"
        with self.assertRaisesRegex(iso_remaster.InputError, "2 times"):
            iso_remaster.with_checksum(twice, "live/filesystem.squashfs", "00")

    def test_sha256_of_a_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp, "f")
            path.write_bytes(b"abc")
            self.assertEqual(
                iso_remaster.sha256_file(path),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            )


class LinkTreeTest(unittest.TestCase):
    def test_links_files_keeps_links_and_times_skips_what_changes(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "binary"), Path(tmp, "copy")
            (src / "live").mkdir(parents=True)
            (src / "live/filesystem.squashfs").write_text("base")
            (src / "live/vmlinuz").write_text("kernel")
            (src / "sha256sum.txt").write_text("sums")
            (src / "isolinux").symlink_to("live")
            os.utime(src / "live", (1_000_000, 1_000_000))
            iso_remaster.link_tree(
                src, dst, {"live/filesystem.squashfs", "sha256sum.txt"}
            )
            self.assertEqual(
                sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")),
                ["isolinux", "live", "live/vmlinuz"],
            )
            self.assertTrue((dst / "live/vmlinuz").samefile(src / "live/vmlinuz"))
            self.assertEqual(os.readlink(dst / "isolinux"), "live")
            self.assertEqual((dst / "live").stat().st_mtime, 1_000_000)

    def test_a_file_under_two_names_is_linked_from_the_copys_first_name(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "binary"), Path(tmp, "copy")
            (src / "live").mkdir(parents=True)
            (src / "live/initrd.img").write_text("initrd")
            os.link(src / "live/initrd.img", src / "live/initrd.img-6.12")
            links: list[tuple[str, str]] = []
            real_link = os.link

            def record(a: Path, b: Path) -> None:
                links.append(
                    (
                        Path(a).relative_to(tmp).as_posix(),
                        Path(b).relative_to(tmp).as_posix(),
                    )
                )
                real_link(a, b)

            with mock.patch.object(iso_remaster.os, "link", record):
                iso_remaster.link_tree(src, dst, set())
            self.assertEqual(
                links,
                [
                    ("binary/live/initrd.img", "copy/live/initrd.img"),
                    ("copy/live/initrd.img", "copy/live/initrd.img-6.12"),
                ],
            )


def cli_args(tmp: str) -> list[str]:
    """main's arguments for an lb/ and a layer/ under `tmp`."""
    paths = {"--lb-dir": "lb", "--layer": "layer", "--work": "w", "--out": "o.iso"}
    return [arg for flag, name in paths.items() for arg in (flag, str(Path(tmp, name)))]


class MainTest(unittest.TestCase):
    def run_main(self, argv: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = iso_remaster.main(argv)
            except SystemExit as exc:
                code = int(exc.code or 0)
        return code, err.getvalue()

    def test_usage_errors_exit_2(self) -> None:
        self.assertEqual(self.run_main([])[0], 2)

    def test_a_tree_without_live_builds_files_exits_2_naming_the_fix(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            lb = Path(tmp, "lb")
            (lb / "binary/live").mkdir(parents=True)
            layer = Path(tmp, "layer")
            (layer / "opt").mkdir(parents=True)
            args = cli_args(tmp)
            code, err = self.run_main(args)
            self.assertEqual(code, 2)
            self.assertIn(
                "binary/live/filesystem.squashfs: run live-build's binary stage first",
                err,
            )
            for name in ("live/filesystem.squashfs", "sha256sum.txt", ".disk/mkisofs"):
                (lb / "binary" / name).parent.mkdir(parents=True, exist_ok=True)
                (lb / "binary" / name).write_text("x")
            (layer / "opt").rmdir()
            code, err = self.run_main(args)
            self.assertEqual(code, 2)
            self.assertIn("has no opt/: run the install-bty stage first", err)

    def test_a_failing_tool_exits_1_with_its_output(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            lb = Path(tmp, "lb")
            for name, text in (
                ("live/filesystem.squashfs", "not a squashfs"),
                ("sha256sum.txt", ""),
                (".disk/mkisofs", RECORDED),
            ):
                (lb / "binary" / name).parent.mkdir(parents=True, exist_ok=True)
                (lb / "binary" / name).write_text(text)
            layer = Path(tmp, "layer")
            (layer / "opt").mkdir(parents=True)
            code, err = self.run_main(cli_args(tmp))
            self.assertEqual(code, 1)
            self.assertIn("mksquashfs exited", err)
            # The tree live-build made is left as it was.
            self.assertEqual(
                (lb / "binary/live/filesystem.squashfs").read_text(), "not a squashfs"
            )


if __name__ == "__main__":
    unittest.main()
