"""ci/usb/usb-vm.py: the USB boot test's phases, with stand-ins for QEMU and SSH."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import tempfile
import unittest
from pathlib import Path
from unittest import mock

from programs import CI, load_program

usb_vm = load_program("usb/usb-vm.py")
qemu_vm = usb_vm.qemu_vm

# Stand-in QEMU: the serial console shows a login prompt; it runs until killed.
FAKE_QEMU = """#!/bin/sh
for arg; do case "$arg" in file:*) serial=${arg#file:} ;; esac; done
echo $$ > "$(dirname "$0")/qemu.pid"
printf 'Debian GNU/Linux 12 bty ttyS0\\n\\nbty login: ' > "$serial"
exec sleep 60
"""
# Stand-in sshpass (-e ssh ... COMMAND): records COMMAND, fails the ones named
# in $(dirname $0)/fail, powers the stand-in QEMU off.
FAKE_SSHPASS = """#!/bin/sh
[ "$SSHPASS" = bty ] || { echo "SSHPASS is not bty's live password" >&2; exit 5; }
for command; do :; done
tools=$(dirname "$0")
printf '%s\\n' "$command" >> "$tools/commands"
if [ -f "$tools/fail" ] && grep -qF "$(cat "$tools/fail")" <<EOF
$command
EOF
then echo "check failed in the guest"; exit 1; fi
case "$command" in systemctl\\ poweroff*) kill "$(cat "$tools/qemu.pid")" ;; esac
echo "guest ok"
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def vm_args(work: Path, **override: object) -> argparse.Namespace:
    """Arguments as main() leaves them for Run."""
    values: dict[str, object] = {
        "scenario": "grow",
        "workdir": work,
        "disk": work / "disk.img",
        "accel": "tcg",
        "accel_probe": CI / "qemu-accel.sh",
        "serial_watch": CI / "serial-watch.py",
        "qemu": "qemu-system-x86_64",
        "memory": "1G",
        "ssh_port": 2222,
        "timeouts": usb_vm.parse_timeouts([]),
        "tcg_scale": 3.0,
        "local_image": "demo.img.gz",
        "catalog_entry": "fedora",
        "tail": 60,
    }
    values.update(override)
    return argparse.Namespace(**values)


class OutputCapture(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.out, self.err = io.StringIO(), io.StringIO()
        self.enterContext(contextlib.redirect_stdout(self.out))
        self.enterContext(contextlib.redirect_stderr(self.err))

    def main(self, *argv: str) -> int:
        saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            return usb_vm.main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
        finally:
            for s, handler in saved.items():
                signal.signal(s, handler)


class PlanTest(unittest.TestCase):
    def test_budgets_default_to_btys_and_take_overrides(self) -> None:
        timeouts = usb_vm.parse_timeouts(["login=2", "ssh=480"])
        self.assertEqual(timeouts["login"], 2)
        self.assertEqual(timeouts["ssh"], 480)
        self.assertEqual(timeouts["wizard"], 60)

    def test_a_budget_for_an_unknown_marker_or_not_a_number_is_refused(self) -> None:
        with self.assertRaisesRegex(
            argparse.ArgumentTypeError, r"bad --timeout 'boot=5': use one of login, ssh"
        ):
            usb_vm.parse_timeouts(["boot=5"])
        with self.assertRaisesRegex(
            argparse.ArgumentTypeError, "SECONDS must be a number"
        ):
            usb_vm.parse_timeouts(["ssh=soon"])

    def test_grow_checks_the_wizard_only_ventoy_its_contract_first(self) -> None:
        grow = usb_vm.guest_checks(vm_args(Path("/w")), 180)
        self.assertEqual([key for key, _ in grow], ["wizard"])
        self.assertIn("while [ $i -lt 180 ]", grow[0][1])
        ventoy = usb_vm.guest_checks(vm_args(Path("/w"), scenario="ventoy"), 60)
        self.assertEqual(
            [key for key, _ in ventoy],
            ["ventoy-contract", "local-image", "catalog", "wizard"],
        )
        self.assertIn('"demo.img.gz" in names', ventoy[1][1])
        self.assertIn('"fedora" in names', ventoy[2][1])

    def test_qemu_boots_the_disk_as_ide_with_ssh_forwarded_and_no_reboot(self) -> None:
        run = usb_vm.Run(vm_args(Path("/w")))
        run.accel, run.port = "tcg", 2222
        self.assertEqual(
            run.qemu_argv(),
            [
                "qemu-system-x86_64", "-machine", "pc", "-cpu", "max", "-accel", "tcg", "-smp", "2", "-m", "1G",
                "-display", "none", "-monitor", "none", "-serial", "file:/w/serial.log",
                "-netdev", "user,id=n1,ipv6=off,hostfwd=tcp:127.0.0.1:2222-:22", "-device", "virtio-net-pci,netdev=n1",
                "-drive", "file=/w/disk.img,format=raw,if=ide", "-no-reboot",
            ],
        )  # fmt: skip
        run.accel = "kvm"
        self.assertEqual(run.qemu_argv()[3:7], ["-cpu", "host", "-accel", "kvm"])

    def test_budgets_are_scaled_under_tcg(self) -> None:
        run = usb_vm.Run(
            vm_args(Path("/w"), timeouts=usb_vm.parse_timeouts(["login=2"]))
        )
        run.accel = "tcg"
        self.assertEqual(run.timeout("login"), 6)
        run.accel = "kvm"
        self.assertEqual(run.timeout("login"), 2)

    def test_a_free_loopback_port_unless_one_is_given(self) -> None:
        run = usb_vm.Run(vm_args(Path("/w"), ssh_port=0))
        run.choose_port()
        self.assertGreater(run.port, 1023)
        given = usb_vm.Run(vm_args(Path("/w"), ssh_port=2200))
        given.choose_port()
        self.assertEqual(given.port, 2200)


class UsageTest(OutputCapture):
    def test_list_checks_prints_marker_and_command(self) -> None:
        self.assertEqual(self.main("--scenario", "ventoy", "--list-checks"), 0)
        lines = self.out.getvalue().splitlines()
        self.assertEqual(
            [line.split("\t")[0] for line in lines],
            ["ventoy-contract", "local-image", "catalog", "wizard"],
        )
        self.assertIn('"demo-bty-ventoy-test.img.gz" in names', lines[1])

    def test_a_bad_budget_is_refused_before_anything_starts(self) -> None:
        (self.dir / "disk.img").write_bytes(b"")
        work = self.dir / "vm"
        code = self.main(
            "--scenario",
            "grow",
            "--disk",
            str(self.dir / "disk.img"),
            "--workdir",
            str(work),
            "--timeout",
            "boot=5",
        )
        self.assertEqual(code, 2)
        self.assertIn(
            "bad --timeout 'boot=5': use one of login, ssh, wizard, grown, poweroff",
            self.err.getvalue(),
        )
        self.assertFalse(work.exists())

    def test_booting_needs_a_disk_that_exists_and_a_workdir(self) -> None:
        self.assertEqual(
            self.main("--scenario", "grow", "--workdir", str(self.dir / "vm")), 2
        )
        self.assertIn("--disk and --workdir are required to boot", self.err.getvalue())
        code = self.main(
            "--scenario",
            "grow",
            "--disk",
            str(self.dir / "none.img"),
            "--workdir",
            str(self.dir / "vm"),
        )
        self.assertEqual(code, 2)
        self.assertIn("run the stage program first", self.err.getvalue())

    def test_a_tcg_scale_below_one(self) -> None:
        self.assertEqual(
            self.main("--scenario", "grow", "--list-checks", "--tcg-scale", "0.5"), 2
        )


class ScenarioTest(OutputCapture):
    """main() end to end, QEMU and SSH played by stand-ins."""

    def setUp(self) -> None:
        super().setUp()
        self.tools = self.dir / "bin"
        self.tools.mkdir()
        self.qemu = executable(self.tools / "qemu", FAKE_QEMU)
        executable(self.tools / "sshpass", FAKE_SSHPASS)
        self.enterContext(
            mock.patch.dict(os.environ, {"PATH": f"{self.tools}:{os.environ['PATH']}"})
        )
        (self.dir / "disk.img").write_bytes(b"")
        self.work = self.dir / "vm"

    def boot(self, scenario: str, *extra: str) -> int:
        return self.main(
            "--scenario", scenario, "--disk", str(self.dir / "disk.img"), "--workdir", str(self.work),
            "--qemu", str(self.qemu), "--accel", "tcg", *extra,
        )  # fmt: skip

    def bundle(self) -> dict[str, object]:
        return json.loads((self.work / "markers.json").read_text())

    def commands(self) -> list[str]:
        return (self.tools / "commands").read_text().splitlines()

    def test_grow_login_ssh_diagnostics_wizard_poweroff(self) -> None:
        self.assertEqual(self.boot("grow"), 0, self.err.getvalue())
        bundle = self.bundle()
        self.assertEqual(
            list(bundle["markers"]),
            ["qemu-started", "login", "ssh", "wizard", "poweroff"],
        )
        self.assertEqual(bundle["accelerator"], "tcg")
        self.assertIsNone(bundle["failure"])
        commands = self.commands()
        self.assertEqual(commands[0], "true")
        self.assertEqual(
            commands[1:8], [f"{c} || true" for c in usb_vm.GROW_DIAGNOSTICS]
        )
        self.assertTrue(
            commands[8].startswith("systemctl is-active bty-on-tty1.service;")
        )
        # Under TCG: asked whether bty's grow unit finished at boot; it did.
        self.assertEqual(commands[9], "systemctl is-active bty-usb-grow.service")
        self.assertEqual(commands[10], usb_vm.POWEROFF)
        self.assertEqual(bundle["grow_path"], "boot")
        self.assertRegex(
            self.out.getvalue(),
            r"usb-vm\.py: grow passed in [\d.]+s \(tcg, grown at boot\)\n$",
        )
        self.assertIn(
            "$ true\n(exit 0)\nguest ok\n", (self.work / "steps.log").read_text()
        )
        self.assertTrue(
            (self.work / "qemu-cmdline.txt")
            .read_text()
            .startswith(f"{self.qemu} -machine pc -cpu max")
        )

    def test_under_tcg_a_grow_that_missed_its_boot_is_started_over_ssh_with_its_cap_lifted(
        self,
    ) -> None:
        (self.tools / "fail").write_text("systemctl is-active bty-usb-grow.service")
        self.assertEqual(self.boot("grow"), 0, self.err.getvalue())
        bundle = self.bundle()
        self.assertEqual(
            list(bundle["markers"]),
            ["qemu-started", "login", "ssh", "wizard", "grown", "poweroff"],
        )
        self.assertEqual(bundle["grow_path"], "runtime")
        runtime = self.commands()[10]
        self.assertEqual(
            runtime.split("; "),
            [
                "set -e",
                "mkdir -p /run/systemd/system/bty-usb-grow.service.d",
                "printf '[Unit]\\nJobTimeoutSec=infinity\\n' > /run/systemd/system/bty-usb-grow.service.d/50-bty-ci-tcg.conf",
                "systemctl daemon-reload",
                "systemctl stop var-lib-bty-images.mount",
                "systemctl reset-failed bty-usb-grow.service || true",
                "systemctl start bty-usb-grow.service",
                "systemctl start var-lib-bty-images.mount",
                "cat /run/bty-usb-grow.status",
                "grep -q 'grown to fill' /run/bty-usb-grow.status",
            ],
        )
        self.assertEqual(self.commands()[11], usb_vm.POWEROFF)
        self.assertIn(
            "usb-vm.py: TCG: starting bty-usb-grow.service now", self.out.getvalue()
        )
        self.assertRegex(self.out.getvalue(), r"\(tcg, grown at runtime\)\n$")

    def test_a_runtime_grow_that_fails_fails_the_run_before_poweroff(self) -> None:
        (self.tools / "fail").write_text("bty-usb-grow.service")
        self.assertEqual(self.boot("grow"), 1)
        bundle = self.bundle()
        self.assertEqual(bundle["grow_path"], "runtime")
        self.assertEqual(bundle["failure"], "grown: exit 1: check failed in the guest")
        self.assertNotIn(usb_vm.POWEROFF, self.commands())

    def test_under_kvm_the_grow_is_btys_boot_time_path_unasked(self) -> None:
        self.assertEqual(self.boot("grow", "--accel", "kvm"), 0, self.err.getvalue())
        self.assertEqual(self.bundle()["grow_path"], "boot")
        self.assertNotIn("systemctl is-active bty-usb-grow.service", self.commands())
        self.assertRegex(self.out.getvalue(), r"\(kvm, grown at boot\)\n$")

    def test_ventoy_has_no_grow(self) -> None:
        self.assertEqual(self.boot("ventoy"), 0, self.err.getvalue())
        self.assertIsNone(self.bundle()["grow_path"])
        self.assertFalse(
            any(
                "bty-usb-grow.service" in c and "is-active" in c
                for c in self.commands()
            )
        )

    def test_a_failed_ventoy_check_fails_the_run_and_stops_qemu(self) -> None:
        (self.tools / "fail").write_text("mountpoint -q /var/lib/bty/images")
        self.assertEqual(self.boot("ventoy"), 1)
        bundle = self.bundle()
        self.assertEqual(list(bundle["markers"]), ["qemu-started", "ssh"])
        self.assertEqual(
            bundle["failure"], "ventoy-contract: exit 1: check failed in the guest"
        )
        pid = int((self.tools / "qemu.pid").read_text())
        self.assertFalse(
            Path(f"/proc/{pid}").exists(), "QEMU was not stopped and reaped"
        )
        err = self.err.getvalue()
        self.assertIn(
            "usb-vm.py: FAILED: ventoy-contract: exit 1: check failed in the guest\n",
            err,
        )
        self.assertIn("---- last 40 lines of steps.log ----\n", err)
        self.assertTrue(
            err.endswith(
                "---- last 60 lines of serial.log ----\nDebian GNU/Linux 12 bty ttyS0\n\nbty login: \n"
            )
        )

    def test_a_probe_that_cannot_decide_fails_before_qemu_starts(self) -> None:
        probe = executable(
            self.tools / "probe", "#!/bin/sh\necho 'OVMF not found' >&2\nexit 2\n"
        )
        self.assertEqual(
            self.boot("grow", "--accel", "auto", "--accel-probe", str(probe)), 1
        )
        self.assertEqual(self.bundle()["failure"], "KVM probe failed: OVMF not found")
        self.assertIn("qemu: (not started)\n", self.err.getvalue())
        self.assertFalse((self.work / "qemu-cmdline.txt").exists())


class PhaseTest(OutputCapture):
    def setUp(self) -> None:
        super().setUp()
        self.vm = usb_vm.Run(vm_args(self.dir))

    def test_the_serial_marker_times_out_naming_what_is_missing(self) -> None:
        with subprocess.Popen(["true"]) as done:
            done.wait()
        self.vm.qemu = done
        with self.assertRaisesRegex(
            usb_vm.CheckFailed,
            rf"^serial marker login \('login:'\) not seen: MISSING login: 'login:' \(process {done.pid} exited\)$",
        ):
            self.vm.wait_serial("login", "login:")
        self.assertEqual(self.vm.markers, {})

    def test_the_grow_units_timeout_is_a_warning_naming_the_fix(self) -> None:
        self.vm.accel = "tcg"
        self.vm.note_grow_timeout(
            "... systemd[1]: Job bty-usb-grow.service/start timed out.\n"
        )
        self.assertEqual(
            self.vm.warnings,
            [
                "bty-usb-grow.service's start job timed out in the guest (bty's unit caps it at "
                "JobTimeoutSec=20s); a TCG boot is too slow for it; it is started again after the wizard check, the cap lifted"
            ],
        )
        kvm = usb_vm.Run(vm_args(self.dir))
        kvm.accel = "kvm"
        kvm.note_grow_timeout("Job bty-usb-grow.service/start timed out")
        self.assertTrue(kvm.warnings[0].endswith("; the guest reached it too late"))
        kvm.note_grow_timeout("bty-usb-grow.service: Finished")
        self.assertEqual(len(kvm.warnings), 1)


if __name__ == "__main__":
    unittest.main()
