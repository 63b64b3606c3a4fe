"""ci/usb-iso-finish.py: bty's steps run in order through the run_local stand-in."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import unittest
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

from programs import load_program

usb_iso_finish = load_program("usb-iso-finish.py")

SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
# A stand-in for bty's cijoe/scripts/usb_iso_build.py: its steps go through run_local.
USB_ISO_BUILD = """
from helper import STEP_LOG


def _verify_bootloader_suppression(cijoe, build_dir):
    err, state = cijoe.run_local(f"sudo echo verified {build_dir.name}")
    STEP_LOG.append(state.output())
    return err


def _extend_with_exfat(cijoe, iso):
    return cijoe.run_local(f"echo extended >> {iso}")[0]


def _verify_iso(cijoe, iso):
    return cijoe.run_local(f"grep -q extended {iso}")[0]
"""


class StepsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.iso = self.dir / "bty-usbboot-pc-x86_64-v1.0.iso"
        self.iso.write_text("abc")
        self.args = argparse.Namespace(build_dir=self.dir / "lb", iso=self.iso)
        self.enterContext(contextlib.redirect_stdout(io.StringIO()))
        self.err = self.enterContext(contextlib.redirect_stderr(io.StringIO()))

    def test_btys_three_steps_in_order_then_the_sha256_sidecar(self) -> None:
        calls: list[tuple[str, Path]] = []
        bty = SimpleNamespace(
            **{
                step: (
                    lambda cijoe, target, step=step: calls.append((step, target)) or 0
                )
                for step in (
                    "_verify_bootloader_suppression",
                    "_extend_with_exfat",
                    "_verify_iso",
                )
            }
        )
        self.assertEqual(
            usb_iso_finish.finish(bty, usb_iso_finish.LocalCijoe({}), self.args), 0
        )
        self.assertEqual(
            calls,
            [
                ("_verify_bootloader_suppression", self.dir / "lb"),
                ("_extend_with_exfat", self.iso),
                ("_verify_iso", self.iso),
            ],
        )
        self.assertEqual(
            (self.dir / "bty-usbboot-pc-x86_64-v1.0.iso.sha256").read_text(),
            f"{SHA256_ABC}  bty-usbboot-pc-x86_64-v1.0.iso\n",
        )

    def test_a_failed_step_stops_before_the_next_and_writes_no_sidecar(self) -> None:
        later: list[str] = []
        bty = SimpleNamespace(
            _verify_bootloader_suppression=lambda cijoe, target: 0,
            _extend_with_exfat=lambda cijoe, target: 1,
            _verify_iso=lambda cijoe, target: later.append("ran") or 0,
        )
        self.assertEqual(
            usb_iso_finish.finish(bty, usb_iso_finish.LocalCijoe({}), self.args), 1
        )
        self.assertEqual(later, [])
        self.assertIn("bty's _extend_with_exfat failed", self.err.getvalue())
        self.assertFalse(self.iso.with_name(self.iso.name + ".sha256").exists())

    def test_a_bty_without_a_step_needs_bty_ci_updated(self) -> None:
        bty = SimpleNamespace(_verify_bootloader_suppression=lambda cijoe, target: 0)
        self.assertEqual(
            usb_iso_finish.finish(bty, usb_iso_finish.LocalCijoe({}), self.args), 1
        )
        self.assertIn(
            "has no _extend_with_exfat: bty-ci needs updating", self.err.getvalue()
        )

    def test_run_local_returns_the_exit_status_and_stdout_in_the_environment_given(
        self,
    ) -> None:
        cijoe = usb_iso_finish.LocalCijoe({"PATH": "/usr/bin:/bin", "STICK": "sda"})
        err, state = cijoe.run_local('echo "stick $STICK"; echo noise >&2; exit 3')
        self.assertEqual((err, state.output()), (3, "stick sda\n"))


class MainTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.scripts = self.dir / "cijoe/scripts"
        self.scripts.mkdir(parents=True)
        (self.scripts / "usb_iso_build.py").write_text(USB_ISO_BUILD)
        (self.scripts / "helper.py").write_text("STEP_LOG = []\n")
        self.iso = self.dir / "bty.iso"
        self.iso.write_text("iso\n")
        (self.dir / "lb").mkdir()
        self.err = self.enterContext(contextlib.redirect_stderr(io.StringIO()))
        self.enterContext(contextlib.redirect_stdout(io.StringIO()))

    def main(self, *argv: str) -> int:
        return usb_iso_finish.main(
            [
                "--bty-scripts",
                str(self.scripts),
                "--build-dir",
                str(self.dir / "lb"),
                "--iso",
                str(self.iso),
                *argv,
            ]
        )

    def test_as_root_without_sudo_btys_commands_get_a_pass_through_sudo(self) -> None:
        with (
            mock.patch.object(usb_iso_finish.os, "geteuid", return_value=0),
            mock.patch.object(usb_iso_finish.shutil, "which", return_value=None),
        ):
            self.assertEqual(self.main(), 0, self.err.getvalue())
        self.assertEqual(sys.modules["helper"].STEP_LOG, ["verified lb\n"])
        self.assertEqual(self.iso.read_text(), "iso\nextended\n")
        self.assertTrue(
            self.iso.with_name("bty.iso.sha256").read_text().endswith("  bty.iso\n")
        )

    def test_exit_2_without_root_the_iso_or_btys_scripts(self) -> None:
        with mock.patch.object(usb_iso_finish.os, "geteuid", return_value=1000):
            self.assertEqual(self.main(), 2)
        self.assertIn("run as root", self.err.getvalue())
        (self.scripts / "usb_iso_build.py").unlink()
        self.assertEqual(self.main(), 2)
        self.assertIn("--bty-scripts must be bty's cijoe/scripts", self.err.getvalue())
        self.iso.unlink()
        self.assertEqual(self.main(), 2)
        self.assertIn(f"--iso {self.iso}: no such file", self.err.getvalue())


if __name__ == "__main__":
    unittest.main()
