#!/usr/bin/env python3
"""Fail a pytest run whose tests skipped, naming each test and why.

bty's integration tests skip themselves when their environment is missing
(no podman, a busy port, not root). In a CI job made for them a skip means
the job proved nothing, so it must fail, not pass quietly. A skip that bty's
own test causes (not the environment) can be allowed by test name and exact
reason, and is then reported as allowed.

Reads pytest's JUnit XML (`pytest --junitxml FILE`).

Exit codes: 0 every selected test ran (or skipped as allowed) and at least
--min-run tests ran; 1 a test skipped, or too few ran; 2 usage error or an
unreadable report.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One test of the report and how it ended."""

    name: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""


def parse_junit(text: str) -> list[Case]:
    """Every testcase of a JUnit XML report, in report order."""
    root = ET.fromstring(text)
    cases = []
    for tc in root.iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            child = tc.find(kind)
            if child is not None:
                outcome = "failed" if kind == "failure" else kind
                message = child.get("message", "")
                break
        cases.append(Case(tc.get("name", "?"), outcome, message))
    return cases


def skip_reason(message: str) -> str:
    """pytest writes a skip's message as "<reason>" or "Skipped: <reason>"."""
    return message.removeprefix("Skipped: ").strip()


def parse_allow(values: list[str]) -> dict[str, str]:
    """`TEST=REASON` pairs; raises ValueError naming a malformed one."""
    allowed = {}
    for value in values:
        name, sep, reason = value.partition("=")
        if not sep or not name or not reason:
            raise ValueError(f"--allow {value!r}: expected TEST=REASON")
        allowed[name] = reason
    return allowed


def judge(
    cases: list[Case], allowed: dict[str, str], min_run: int
) -> tuple[bool, list[str]]:
    """Whether the run proved what it was selected for, and one line per test."""
    lines, bad = [], False
    ran = sum(1 for c in cases if c.outcome != "skipped")
    for c in cases:
        if c.outcome != "skipped":
            lines.append(f"{c.outcome:8} {c.name}")
            continue
        reason = skip_reason(c.message)
        if allowed.get(c.name) == reason:
            lines.append(f"allowed  {c.name}: skipped by bty's own test: {reason}")
        else:
            bad = True
            lines.append(
                f"SKIPPED  {c.name}: {reason} (a skip here proves nothing: fix the environment)"
            )
    if ran < min_run:
        bad = True
        lines.append(
            f"only {ran} test(s) ran; at least {min_run} must (check the selection: -m / -k)"
        )
    return not bad, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="pytest's --junitxml output")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="TEST=REASON",
        help="a skip bty's own test causes, allowed by exact reason",
    )
    parser.add_argument(
        "--min-run",
        type=int,
        default=1,
        metavar="N",
        help="fewest tests that must run (default 1)",
    )
    args = parser.parse_args(argv)
    try:
        allowed = parse_allow(args.allow)
        cases = parse_junit(args.report.read_text(encoding="utf-8"))
    except (OSError, ET.ParseError, ValueError) as exc:
        print(f"pytest-skips.py: {exc}", file=sys.stderr)
        return 2
    ok, lines = judge(cases, allowed, args.min_run)
    for line in lines:
        print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
