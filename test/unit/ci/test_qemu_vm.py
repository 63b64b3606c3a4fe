"""ci/qemu_vm.py: the QEMU and serial-marker code chain-test.py and usb-vm.py share."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from programs import CI

import qemu_vm


def running(pid: int) -> bool:
    """pid exists and is no zombie (a dead child its reaper has not got to yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


class MarkerTest(unittest.TestCase):
    def test_a_spec_with_its_budget(self) -> None:
        self.assertEqual(
            qemu_vm.parse_marker("kernel-booting=Linux version@30"),
            qemu_vm.Marker("kernel-booting", "Linux version", 30.0),
        )

    def test_the_default_budget_when_the_spec_has_none(self) -> None:
        self.assertEqual(
            qemu_vm.parse_marker("login=login:", 120),
            qemu_vm.Marker("login", "login:", 120),
        )

    def test_a_needle_may_hold_at_signs_equals_signs_and_newlines(self) -> None:
        marker = qemu_vm.parse_marker("a=x@y=z\nw@2.5")
        self.assertEqual((marker.needle, marker.timeout), ("x@y=z\nw", 2.5))

    def test_no_budget_and_no_default_is_refused_naming_the_syntax(self) -> None:
        with self.assertRaisesRegex(
            ValueError, r"bad marker 'a=b': use KEY=NEEDLE@SECONDS$"
        ):
            qemu_vm.parse_marker("a=b")

    def test_malformed_specs_are_refused(self) -> None:
        for spec in ("no-equals-sign", "=needle@5", "key with space=x@5", "k="):
            with self.subTest(spec=spec), self.assertRaises(ValueError):
                qemu_vm.parse_marker(spec, 10)

    def test_spec_is_what_parse_marker_reads_back(self) -> None:
        marker = qemu_vm.Marker(
            "flash-complete", "bty: flash complete; rebooting", 720.0
        )
        self.assertEqual(
            marker.spec(), "flash-complete=bty: flash complete; rebooting@720"
        )
        self.assertEqual(qemu_vm.parse_marker(marker.spec()), marker)


class AcceleratorTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def test_a_requested_accelerator_is_taken_without_probing(self) -> None:
        probe = script(self.dir, "probe", 'echo probed > "$0.ran"; echo kvm\n')
        self.assertEqual(
            qemu_vm.choose_accel("tcg", [str(probe)]), ("tcg", "given with --accel")
        )
        self.assertFalse((self.dir / "probe.ran").exists())

    def test_auto_takes_the_probes_answer_and_reason(self) -> None:
        probe = script(
            self.dir, "probe", "echo 'qemu-accel.sh: tcg (no /dev/kvm)' >&2; echo tcg\n"
        )
        self.assertEqual(
            qemu_vm.choose_accel("auto", [str(probe)]),
            ("tcg", "qemu-accel.sh: tcg (no /dev/kvm)"),
        )

    def test_a_probe_that_fails_or_answers_nonsense_is_an_error(self) -> None:
        for body in ("echo 'OVMF not found' >&2; exit 2\n", "echo maybe\n"):
            probe = script(self.dir, "probe", body)
            with (
                self.subTest(body=body),
                self.assertRaisesRegex(qemu_vm.VmError, "KVM probe failed"),
            ):
                qemu_vm.choose_accel("auto", [str(probe)])
        with self.assertRaisesRegex(
            qemu_vm.VmError, "KVM probe failed: .*No such file"
        ):
            qemu_vm.choose_accel("auto", [str(self.dir / "missing")])

    def test_budgets_grow_under_tcg_only(self) -> None:
        self.assertEqual(qemu_vm.scaled(30, "tcg", 4), 120)
        self.assertEqual(qemu_vm.scaled(30, "kvm", 4), 30)


class ArgvTest(unittest.TestCase):
    def test_serial_console(self) -> None:
        self.assertEqual(
            qemu_vm.serial_console_args(Path("/w/serial.log")),
            ["-monitor", "none", "-serial", "file:/w/serial.log"],
        )

    def test_watch_argv_runs_the_watcher_with_every_marker_in_order(self) -> None:
        markers = [
            qemu_vm.Marker("a", "iPXE", 30),
            qemu_vm.Marker("b", "Linux version", 7.5),
        ]
        watcher = CI / "serial-watch.py"
        self.assertEqual(
            qemu_vm.watch_argv(watcher, Path("/w/serial.log"), markers, 42, 1),
            [
                sys.executable, str(watcher), "--log", "/w/serial.log", "--pid", "42",
                "--interval", "1", "--marker", "a=iPXE@30", "--marker", "b=Linux version@7.5",
            ],
        )  # fmt: skip
        self.assertNotIn(
            "--interval", qemu_vm.watch_argv(watcher, Path("/l"), markers, 1)
        )

    def test_watch_argv_passes_each_abort_text(self) -> None:
        argv = qemu_vm.watch_argv(
            Path("/w.py"), Path("/l"), [qemu_vm.Marker("a", "x", 1)], 7,
            abort_on=["Kernel panic", "Oops"],
        )  # fmt: skip
        self.assertEqual(
            argv[6:], ["--abort-on", "Kernel panic", "--abort-on", "Oops", "--marker", "a=x@1"]
        )  # fmt: skip


class ProcessTest(unittest.TestCase):
    def setUp(self) -> None:
        self.work = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def test_start_qemu_records_the_command_line_and_logs_the_output(self) -> None:
        qemu = script(self.work, "qemu", "echo out; echo 'KVM internal error' >&2\n")
        proc = qemu_vm.start_qemu([str(qemu), "-accel", "tcg", "-m", "1 G"], self.work)
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertEqual(
            (self.work / "qemu-cmdline.txt").read_text(),
            f"{qemu} -accel tcg -m '1 G'\n",
        )
        self.assertEqual(
            (self.work / "qemu.log").read_text(), "out\nKVM internal error\n"
        )

    def test_a_started_process_dies_with_its_parent_even_on_sigkill(self) -> None:
        code = (
            "import sys, time; from pathlib import Path; import qemu_vm; "
            "child = qemu_vm.start_logged(['sleep', '60'], Path(sys.argv[1])); "
            "print(child.pid, flush=True); time.sleep(60)"
        )
        argv = [sys.executable, "-c", code, str(self.work / "child.log")]
        env = {**os.environ, "PYTHONPATH": str(CI)}
        with subprocess.Popen(
            argv, stdout=subprocess.PIPE, text=True, env=env
        ) as parent:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            parent.kill()
        deadline = time.monotonic() + 5
        while running(child) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertFalse(running(child), "the child outlived its SIGKILLed parent")

    def test_stop_terminates_then_kills_what_ignores_sigterm(self) -> None:
        code = (
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ignoring SIGTERM', flush=True); time.sleep(60)"
        )
        with subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE
        ) as stubborn:
            assert stubborn.stdout is not None
            stubborn.stdout.readline()
            polite = subprocess.Popen(["sleep", "60"])
            done = subprocess.Popen(["true"])
            done.wait()
            qemu_vm.stop_processes([stubborn, polite, done], grace=0.3)
        self.assertEqual(
            [p.returncode for p in (stubborn, polite, done)],
            [-signal.SIGKILL, -signal.SIGTERM, 0],
        )


class StopSignalTest(unittest.TestCase):
    def setUp(self) -> None:
        saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        self.addCleanup(lambda: [signal.signal(s, h) for s, h in saved.items()])

    def test_sigterm_raises_once_then_is_ignored(self) -> None:
        class Stopped(Exception):
            pass

        qemu_vm.raise_on_stop_signals(
            lambda signum: Stopped(signal.Signals(signum).name)
        )
        with self.assertRaisesRegex(Stopped, "^SIGTERM$"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        self.assertIs(signal.getsignal(signal.SIGTERM), signal.SIG_IGN)
        self.assertIs(signal.getsignal(signal.SIGINT), signal.SIG_IGN)


class LogTest(unittest.TestCase):
    def test_read_log_before_the_log_exists_and_with_bytes_that_are_not_utf8(
        self,
    ) -> None:
        work = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.assertEqual(qemu_vm.read_log(work / "serial.log"), "")
        (work / "serial.log").write_bytes(b"iPXE \xff\n")
        self.assertEqual(qemu_vm.read_log(work / "serial.log"), "iPXE \ufffd\n")

    def test_tail_block_keeps_the_last_lines_under_a_heading(self) -> None:
        text = "".join(f"line {i}\n" for i in range(1, 6))
        self.assertEqual(
            qemu_vm.tail_block("serial.log", text, 2),
            "---- last 2 lines of serial.log ----\nline 4\nline 5",
        )


if __name__ == "__main__":
    unittest.main()
