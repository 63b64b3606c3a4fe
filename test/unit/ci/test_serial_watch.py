"""ci/serial-watch.py: ordered markers in a growing log, each within its budget."""

from __future__ import annotations

import contextlib
import io
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

from programs import load_program

serial_watch = load_program("serial-watch.py")


class WatchTest(unittest.TestCase):
    def setUp(self) -> None:
        self.log = Path(self.enterContext(tempfile.TemporaryDirectory())) / "serial.log"

    def watch(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        argv = ["--log", str(self.log), "--interval", "0.02", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = serial_watch.main(argv)
            except SystemExit as exc:
                code = exc.code
        return code, out.getvalue(), err.getvalue()

    def test_reports_when_each_marker_was_seen_through_terminal_control_sequences(
        self,
    ) -> None:
        self.log.write_text(
            "\x1b[2J\x1b[01;01HiPXE 2.0\r\nbty: chain\x1b[0ming to http://x\n"
        )
        code, out, _ = self.watch(
            "--marker", "a=iPXE", "--marker", "b=bty: chaining to http://x"
        )
        self.assertEqual(code, 0)
        self.assertRegex(
            out,
            r"^seen {4}a after \d+\.\ds: 'iPXE'\n"
            r"seen {4}b after \d+\.\ds: 'bty: chaining to http://x'\n"
            r"serial-watch\.py: all 2 markers seen in \d+\.\ds\n$",
        )

    def test_a_missing_marker_fails_with_what_was_seen_what_not_and_the_logs_tail(
        self,
    ) -> None:
        self.log.write_text("iPXE 2.0\nConfiguring (net0)... ok\n")
        code, out, err = self.watch(
            "--marker",
            "a=iPXE",
            "--marker",
            "b=bty: chaining@0.2",
            "--marker",
            "c=never",
        )
        self.assertEqual(code, 1)
        self.assertRegex(out, r"^seen {4}a after")
        self.assertEqual(
            err.splitlines()[:3],
            [
                "MISSING b: 'bty: chaining' (not within 0.2s)",
                "skipped c: 'never'",
                f"serial-watch.py: 1 of 3 markers seen in {self.log}; first missing: b",
            ],
        )
        self.assertTrue(
            err.endswith(
                f"---- last 60 lines of {self.log} ----\niPXE 2.0\nConfiguring (net0)... ok\n"
            )
        )

    def test_markers_must_come_in_order(self) -> None:
        self.log.write_text("second\nfirst\n")
        code, _, err = self.watch("--marker", "a=first", "--marker", "b=second@0.2")
        self.assertEqual(code, 1)
        self.assertIn("MISSING b: 'second'", err)

    def test_waits_for_a_log_that_appears_later(self) -> None:
        later = threading.Timer(0.1, lambda: self.log.write_text("login: "))
        later.start()
        self.addCleanup(later.cancel)
        code, out, _ = self.watch("--marker", "login=login:@5")
        self.assertEqual(code, 0, out)

    def test_stops_waiting_when_the_watched_process_exits(self) -> None:
        with subprocess.Popen(["true"]) as done:
            done.wait()
        start = time.monotonic()
        code, _, err = self.watch("--marker", "a=never@60", "--pid", str(done.pid))
        self.assertEqual(code, 1)
        self.assertIn(f"MISSING a: 'never' (process {done.pid} exited)", err)
        self.assertLess(time.monotonic() - start, 5)

    def test_stops_waiting_once_the_log_shows_an_abort_text(self) -> None:
        self.log.write_text(
            "Linux version 6.12\n[ 14.5] Kernel panic - not syncing: Fatal exception\n"
        )
        start = time.monotonic()
        code, out, err = self.watch(
            "--marker", "kernel=Linux version", "--marker", "flash=bty: flash@60",
            "--abort-on", "Oops:", "--abort-on", "Kernel panic - not syncing",
        )  # fmt: skip
        self.assertEqual(code, 1)
        self.assertRegex(out, r"^seen {4}kernel after")
        self.assertIn(
            "MISSING flash: 'bty: flash' (the log shows 'Kernel panic - not syncing')",
            err,
        )
        self.assertLess(time.monotonic() - start, 5)

    def test_an_abort_text_the_log_does_not_show_changes_nothing(self) -> None:
        self.log.write_text("Linux version 6.12\nbty: flash complete\n")
        code, _, _ = self.watch(
            "--marker", "flash=bty: flash@5", "--abort-on", "Kernel panic"
        )
        self.assertEqual(code, 0)

    def test_a_malformed_marker_or_none_at_all_is_a_usage_error(self) -> None:
        self.assertEqual(self.watch("--marker", "no-equals-sign")[0], 2)
        self.assertEqual(self.watch()[0], 2)


class AliveTest(unittest.TestCase):
    def test_a_running_process_a_zombie_and_a_pid_that_is_gone(self) -> None:
        with subprocess.Popen(["sleep", "60"]) as sleeper:
            self.assertTrue(serial_watch.alive(sleeper.pid))
            sleeper.kill()
            # Not reaped yet: a zombie still answers kill(0).
            deadline = time.monotonic() + 5
            while serial_watch.alive(sleeper.pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertFalse(serial_watch.alive(sleeper.pid))
        self.assertFalse(serial_watch.alive(sleeper.pid))

    def test_no_pid_watches_until_the_budget_ends(self) -> None:
        self.assertTrue(serial_watch.alive(None))

    def test_readable_drops_colours_cursor_moves_and_carriage_returns(self) -> None:
        self.assertEqual(
            serial_watch.readable("\x1b[1;32mok\x1b[0m\r\n\x1b[25;01Hnext\x1bM"),
            "ok\nnext",
        )


if __name__ == "__main__":
    unittest.main()
