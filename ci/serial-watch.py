#!/usr/bin/env python3
"""Wait for markers to appear, in order, in a growing log (a VM's serial console, a server log).

Each marker is KEY=NEEDLE (a substring). Markers must appear in the order
given: a marker is looked for only after the end of the previous one's match.
Each has its own time budget, counted from when the previous marker was
seen (--timeout, or KEY=NEEDLE@SECONDS for one marker). The watch stops early
when the process given with --pid exits, or as soon as the log shows a text
given with --abort-on (a guest's "Kernel panic - not syncing": no marker comes
after it, so waiting out the budget would only cost time).

Terminal control sequences and carriage returns (firmware consoles are full
of them) are removed before matching.

Prints, for every marker, when it was seen (seconds since the start) or that
it was not; on failure also the last lines of the log.
Exit codes: 0 every marker seen, 1 a marker missing (timeout, --pid exited
or an --abort-on text seen), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

# qemu_vm.py is beside this program. ci/ is part of bty-ci's module source:
# no __pycache__ is left in it.
sys.dont_write_bytecode = True
from qemu_vm import Marker, parse_marker, read_log, tail_block  # noqa: E402


def alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0): look at its state too.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


# CSI sequences (colours, cursor moves) and other ESC sequences.
CONTROL = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])|\r")


def readable(raw: str) -> str:
    return CONTROL.sub("", raw)


def abort_text(text: str, abort_on: list[str]) -> str | None:
    """The first of the --abort-on texts the log shows, if any."""
    return next((needle for needle in abort_on if needle in text), None)


def watch(
    log: Path,
    markers: list[Marker],
    pid: int | None,
    interval: float,
    tail_lines: int,
    abort_on: list[str],
) -> int:
    start = time.monotonic()
    position = 0
    for index, marker in enumerate(markers):
        deadline = time.monotonic() + marker.timeout
        while True:
            text = readable(read_log(log))
            found = text.find(marker.needle, position)
            if found != -1:
                position = found + len(marker.needle)
                print(
                    f"seen    {marker.key} after {time.monotonic() - start:.1f}s: {marker.needle!r}",
                    flush=True,
                )
                break
            dead = not alive(pid)
            aborted = abort_text(text, abort_on)
            if dead or aborted or time.monotonic() >= deadline:
                if aborted:
                    why = f"the log shows {aborted!r}"
                elif dead:
                    why = f"process {pid} exited"
                else:
                    why = f"not within {marker.timeout:g}s"
                print(
                    f"MISSING {marker.key}: {marker.needle!r} ({why})", file=sys.stderr
                )
                for later in markers[index + 1 :]:
                    print(f"skipped {later.key}: {later.needle!r}", file=sys.stderr)
                print(
                    f"serial-watch.py: {index} of {len(markers)} markers seen in {log}; "
                    f"first missing: {marker.key}\n{tail_block(str(log), text, tail_lines)}",
                    file=sys.stderr,
                )
                return 1
            time.sleep(interval)
    print(
        f"serial-watch.py: all {len(markers)} markers seen in {time.monotonic() - start:.1f}s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="serial-watch.py",
        description="Wait for ordered KEY=NEEDLE markers in a growing log file.",
        epilog="exit codes: 0 all markers seen, 1 a marker missing, 2 usage error",
    )
    parser.add_argument(
        "--log", type=Path, required=True, help="the log file (may not exist yet)"
    )
    parser.add_argument(
        "--marker",
        action="append",
        default=[],
        metavar="KEY=NEEDLE[@SECONDS]",
        help="repeatable; in order",
    )
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds per marker (default 120)"
    )
    parser.add_argument("--pid", type=int, help="stop waiting when this process exits")
    parser.add_argument(
        "--abort-on",
        action="append",
        default=[],
        metavar="TEXT",
        help="repeatable; stop waiting as soon as the log shows TEXT anywhere",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.5,
        help="poll interval in seconds (default 0.5)",
    )
    parser.add_argument(
        "--tail", type=int, default=60, help="log lines printed on failure (default 60)"
    )
    args = parser.parse_args(argv)
    if not args.marker:
        parser.error("give at least one --marker")
    try:
        markers = [parse_marker(spec, args.timeout) for spec in args.marker]
    except ValueError as exc:
        parser.error(str(exc))
    return watch(args.log, markers, args.pid, args.interval, args.tail, args.abort_on)


if __name__ == "__main__":
    sys.exit(main())
