"""ci/media-manifest.py: the build manifest's sections, dpkg and git played by stand-ins."""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from programs import load_program

media_manifest = load_program("media-manifest.py")

DPKG_QUERY = (
    "ii \tbash\t5.2.15-2+b7\tamd64\n"
    "rc \tremoved-one\t1.0\tamd64\n"
    "ii \tadduser\t3.134\tall\n"
)


class SectionsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.chroot = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def test_dpkg_rows_are_the_installed_packages_sorted(self) -> None:
        (self.chroot / "var/lib/dpkg").mkdir(parents=True)
        (self.chroot / "var/lib/dpkg/status").write_text("")
        with mock.patch.object(
            media_manifest, "_run", return_value=DPKG_QUERY.strip()
        ) as run:
            rows = media_manifest.dpkg_packages(self.chroot)
        self.assertEqual(rows, ["adduser\t3.134\tall", "bash\t5.2.15-2+b7\tamd64"])
        self.assertEqual(
            run.call_args.args[0][:2],
            ["dpkg-query", f"--admindir={self.chroot}/var/lib/dpkg"],
        )

    def test_a_chroot_without_dpkg_status_or_packages_is_an_error(self) -> None:
        with self.assertRaisesRegex(
            media_manifest.ManifestError, "is not a finished chroot"
        ):
            media_manifest.dpkg_packages(self.chroot)
        (self.chroot / "var/lib/dpkg").mkdir(parents=True)
        (self.chroot / "var/lib/dpkg/status").write_text("")
        with (
            mock.patch.object(media_manifest, "_run", return_value="rc \told\t1\tall"),
            self.assertRaisesRegex(
                media_manifest.ManifestError, "no installed package"
            ),
        ):
            media_manifest.dpkg_packages(self.chroot)

    def test_no_r8125_tree_means_the_hook_did_not_run(self) -> None:
        with self.assertRaisesRegex(
            media_manifest.ManifestError, "did bty's r8125 hook run"
        ):
            media_manifest.r8125_commit(self.chroot)

    def test_a_failing_command_is_an_error_naming_it(self) -> None:
        with self.assertRaisesRegex(
            media_manifest.ManifestError,
            r"^`sh -c echo broken >&2; exit 3` failed: broken$",
        ):
            media_manifest._run(["sh", "-c", "echo broken >&2; exit 3"])

    def test_the_dpkg_section_alone(self) -> None:
        manifest = self.chroot / "manifest.txt"
        manifest.write_text(
            "[image]\nvariant\tnetboot-pc\n\n[dpkg]\nbash\t5.2\tamd64\nzstd\t1.5\tamd64\n\n[pip]\nbty-lab==1\n"
        )
        self.assertEqual(
            media_manifest.dpkg_section(manifest),
            "bash\t5.2\tamd64\nzstd\t1.5\tamd64\n",
        )


class MainTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.chroot = self.dir / "chroot"
        self.chroot.mkdir()
        self.err = io.StringIO()
        self.enterContext(contextlib.redirect_stderr(self.err))
        self.enterContext(contextlib.redirect_stdout(io.StringIO()))

    def main(self, *extra: str) -> int:
        return media_manifest.main(
            [
                "--chroot", str(self.chroot), "--variant", "netboot-pc", "--version", "0.77.2",
                "--mirror", "http://deb.example.org/debian", "--out", str(self.dir / "manifest.txt"), *extra,
            ]
        )  # fmt: skip

    def test_writes_every_section_and_the_dpkg_rows_alone(self) -> None:
        pip = self.dir / "pip.txt"
        pip.write_text("bty-lab==0.77.2\ntextual==1.0\n")
        with (
            mock.patch.object(
                media_manifest,
                "r8125_commit",
                return_value=("60c86586", "https://github.com/x/r8125"),
            ),
            mock.patch.object(
                media_manifest,
                "tool_version",
                side_effect=lambda p: {
                    "live-build": "1:20250505",
                    "debootstrap": "1.0.141",
                }[p],
            ),
            mock.patch.object(
                media_manifest,
                "dpkg_packages",
                return_value=["adduser\t3.134\tall", "bash\t5.2\tamd64"],
            ),
        ):
            code = self.main(
                "--pip-freeze",
                str(pip),
                "--artifact",
                "a.vmlinuz",
                "--artifact",
                "a.initrd",
                "--dpkg-out",
                str(self.dir / "dpkg.txt"),
            )
        self.assertEqual(code, 0, self.err.getvalue())
        self.assertEqual(
            (self.dir / "manifest.txt").read_text(),
            "[image]\nvariant\tnetboot-pc\nbty_version\t0.77.2\nartifact\ta.vmlinuz\nartifact\ta.initrd\n\n"
            "[tools]\nlive-build\t1:20250505\ndebootstrap\t1.0.141\nmirror\thttp://deb.example.org/debian\n\n"
            "[r8125]\ncommit\t60c86586\nsource\thttps://github.com/x/r8125\n\n"
            "[dpkg]\nadduser\t3.134\tall\nbash\t5.2\tamd64\n\n"
            "[pip]\nbty-lab==0.77.2\ntextual==1.0\n",
        )
        self.assertEqual(
            (self.dir / "dpkg.txt").read_text(),
            "adduser\t3.134\tall\nbash\t5.2\tamd64\n",
        )

    def test_exit_1_when_something_to_record_is_missing(self) -> None:
        self.assertEqual(self.main(), 1)
        self.assertIn("no r8125 git tree under", self.err.getvalue())
        self.assertFalse((self.dir / "manifest.txt").exists())

    def test_an_empty_pip_freeze_is_missing_too(self) -> None:
        (self.dir / "pip.txt").write_text("")
        args = argparse.Namespace(chroot=self.chroot, pip_freeze=self.dir / "pip.txt")
        with (
            mock.patch.object(media_manifest, "r8125_commit", return_value=("c", "u")),
            self.assertRaisesRegex(
                media_manifest.ManifestError, "is empty: bty's venv was not recorded"
            ),
        ):
            media_manifest.build_manifest(args)

    def test_exit_2_when_the_chroot_is_not_a_directory(self) -> None:
        self.chroot.rmdir()
        self.assertEqual(self.main(), 2)


if __name__ == "__main__":
    unittest.main()
