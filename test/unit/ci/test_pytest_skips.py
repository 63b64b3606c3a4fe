"""ci/pytest-skips.py on JUnit XML shaped as pytest 8 writes it."""

from __future__ import annotations

import contextlib
import io
import tempfile
import unittest
from pathlib import Path

from programs import load_program

pytest_skips = load_program("pytest-skips.py")

# pytest 8.4's --junitxml output for a passing, a skipped (pytest.skip and
# skipif) and a failing test, paths shortened.
REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0"
failures="1" skipped="2" tests="4"><testcase classname="tests.t" name="test_ok" time="0.000" /><testcase classname="tests.t"
name="test_trio" time="0.000"><skipped type="pytest.skip" message="ports already in use: [8899]">t.py:3: ports already in
use: [8899]</skipped></testcase><testcase classname="tests.t" name="test_skipif" time="0.000"><skipped type="pytest.skip"
message="no podman">t.py:4: no podman</skipped></testcase><testcase classname="tests.t" name="test_fail" time="0.000">
<failure message="assert False">E   assert False</failure></testcase></testsuite></testsuites>"""


class ParseTest(unittest.TestCase):
    def test_every_case_with_its_outcome_and_message(self) -> None:
        cases = pytest_skips.parse_junit(REPORT)
        self.assertEqual(
            [(c.name, c.outcome, c.message) for c in cases],
            [
                ("test_ok", "passed", ""),
                ("test_trio", "skipped", "ports already in use: [8899]"),
                ("test_skipif", "skipped", "no podman"),
                ("test_fail", "failed", "assert False"),
            ],
        )

    def test_an_error_is_its_own_outcome(self) -> None:
        xml = '<testsuite><testcase name="t"><error message="fixture broke"/></testcase></testsuite>'
        self.assertEqual(
            pytest_skips.parse_junit(xml),
            [pytest_skips.Case("t", "error", "fixture broke")],
        )

    def test_skipped_prefix_is_not_part_of_the_reason(self) -> None:
        self.assertEqual(pytest_skips.skip_reason("Skipped: no podman"), "no podman")
        self.assertEqual(pytest_skips.skip_reason("no podman"), "no podman")


class JudgeTest(unittest.TestCase):
    def case(self, name: str, outcome: str = "passed", message: str = ""):
        return pytest_skips.Case(name, outcome, message)

    def test_all_ran_is_fine(self) -> None:
        ok, lines = pytest_skips.judge(
            [self.case("a"), self.case("b", "failed")], {}, 1
        )
        self.assertTrue(ok)
        self.assertEqual(lines, ["passed   a", "failed   b"])

    def test_a_skip_fails_naming_test_and_reason(self) -> None:
        ok, lines = pytest_skips.judge(
            [self.case("a"), self.case("b", "skipped", "no podman")], {}, 1
        )
        self.assertFalse(ok)
        self.assertIn("SKIPPED  b: no podman", lines[1])

    def test_an_allowed_skip_needs_the_exact_reason(self) -> None:
        skip = self.case("trio", "skipped", "ports already in use: [8899]")
        ok, lines = pytest_skips.judge(
            [self.case("a"), skip], {"trio": "ports already in use: [8899]"}, 1
        )
        self.assertTrue(ok)
        self.assertEqual(
            lines[1],
            "allowed  trio: skipped by bty's own test: ports already in use: [8899]",
        )
        busy = self.case("trio", "skipped", "ports already in use: [8080, 8899]")
        self.assertFalse(
            pytest_skips.judge(
                [self.case("a"), busy], {"trio": "ports already in use: [8899]"}, 1
            )[0]
        )

    def test_too_few_ran(self) -> None:
        ok, lines = pytest_skips.judge([self.case("a")], {}, 2)
        self.assertFalse(ok)
        self.assertIn("only 1 test(s) ran; at least 2 must", lines[-1])
        self.assertTrue(pytest_skips.judge([self.case("a"), self.case("b")], {}, 2)[0])

    def test_allowed_skips_do_not_count_as_run(self) -> None:
        skip = self.case("trio", "skipped", "r")
        self.assertFalse(pytest_skips.judge([skip], {"trio": "r"}, 1)[0])


class AllowTest(unittest.TestCase):
    def test_pairs(self) -> None:
        self.assertEqual(pytest_skips.parse_allow(["t=a=b"]), {"t": "a=b"})

    def test_malformed(self) -> None:
        for bad in ("t", "=r", "t="):
            with self.assertRaises(ValueError, msg=bad):
                pytest_skips.parse_allow([bad])


class MainTest(unittest.TestCase):
    def run_main(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = pytest_skips.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def test_exit_codes(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "junit.xml"
            report.write_text(REPORT, encoding="utf-8")
            code, out, _ = self.run_main(
                str(report), "--allow", "test_trio=ports already in use: [8899]"
            )
            self.assertEqual(code, 1, out)  # test_skipif still skipped
            self.assertIn("SKIPPED  test_skipif: no podman", out)
            code, out, _ = self.run_main(
                str(report),
                "--allow",
                "test_trio=ports already in use: [8899]",
                "--allow",
                "test_skipif=no podman",
                "--min-run",
                "2",
            )
            self.assertEqual(code, 0, out)
            self.assertEqual(self.run_main(str(Path(tmp) / "missing.xml"))[0], 2)
            self.assertEqual(self.run_main(str(report), "--allow", "bad")[0], 2)
            report.write_text("<testsuite>", encoding="utf-8")
            self.assertEqual(self.run_main(str(report))[0], 2)


if __name__ == "__main__":
    unittest.main()
