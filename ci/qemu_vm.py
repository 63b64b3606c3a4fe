"""QEMU client VMs of bty-ci's boot tests: accelerator, start and stop, serial markers.

A library, not a program (no main, not executable). ci/pxe/chain-test.py and
ci/usb/usb-vm.py import it after putting this directory on sys.path (the job
containers mount the whole ci/ directory); ci/serial-watch.py, beside it,
imports it directly.

  accelerator  the one asked for, or (auto) what ci/qemu-accel.sh answers:
               KVM when it really runs a guest here, TCG otherwise; time
               budgets are multiplied by a TCG scale
  process      QEMU (and its helpers) started with their output in a log file
               and dying with the driver even when it is SIGKILLed
               (PR_SET_PDEATHSIG); QEMU's command line in qemu-cmdline.txt;
               stopped with SIGTERM, then SIGKILL after a grace period
  markers      KEY=NEEDLE@SECONDS specs, and the argv of ci/serial-watch.py
               that waits for them, in order, in the serial console's log
  logs         a log's text so far and its last lines, for failure reports
"""

from __future__ import annotations

import ctypes
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ACCELERATORS = ("kvm", "tcg")
PR_SET_PDEATHSIG = 1
# How long a stopped process gets between SIGTERM and SIGKILL.
STOP_GRACE_SECONDS = 10.0
MARKER_SPEC = re.compile(r"([A-Za-z0-9_.-]+)=(.+?)(?:@(\d+(?:\.\d+)?))?", re.DOTALL)


class VmError(Exception):
    """A step of a VM test failed (the driver's exit 1, with its debug bundle)."""


# ---------- signals and processes ---------------------------------------------


def raise_on_stop_signals(exception: Callable[[int], BaseException]) -> None:
    """SIGTERM and SIGINT (a time bound, a cancel) raise exception(signum) once.

    The driver's cleanup and debug bundle then run as on any failure; later
    signals are ignored so that they cannot cut the cleanup short.
    """

    def handler(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise exception(signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when this process dies (even by SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_logged(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start argv with stdout and stderr in log; it dies with this process."""
    # The child keeps the descriptor; ours is closed right away.
    with log.open("wb") as out:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )


def start_qemu(argv: Sequence[str], work: Path) -> subprocess.Popen[bytes]:
    """Start QEMU: argv in work/qemu-cmdline.txt, QEMU's own messages (e.g.
    "KVM internal error") in work/qemu.log."""
    (work / "qemu-cmdline.txt").write_text(shlex.join(argv) + "\n", encoding="utf-8")
    return start_logged(argv, work / "qemu.log")


def stop_processes(
    procs: Sequence[subprocess.Popen[bytes]], grace: float = STOP_GRACE_SECONDS
) -> None:
    """SIGTERM to each one still running, SIGKILL to any left after grace seconds; all reaped."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------- accelerator -------------------------------------------------------


def choose_accel(requested: str, probe: Sequence[str]) -> tuple[str, str]:
    """(accelerator, why): `requested` unless it is "auto", else the answer of
    probe, a program that prints kvm or tcg and its reason on stderr
    (ci/qemu-accel.sh). Raises VmError when the probe gives no answer."""
    if requested != "auto":
        return requested, "given with --accel"
    try:
        answer = subprocess.run(
            list(probe), capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise VmError(f"KVM probe failed: {exc}") from exc
    accel = answer.stdout.strip()
    if answer.returncode != 0 or accel not in ACCELERATORS:
        raise VmError(f"KVM probe failed: {answer.stderr.strip()}")
    return accel, answer.stderr.strip()


def scaled(seconds: float, accel: str, tcg_scale: float) -> float:
    """A time budget set for KVM, under accel: TCG emulates the CPU, tcg_scale times slower."""
    return seconds * tcg_scale if accel == "tcg" else seconds


def serial_console_args(serial_log: Path) -> list[str]:
    """QEMU options: no monitor, the first serial port written to serial_log."""
    return ["-monitor", "none", "-serial", f"file:{serial_log}"]


# ---------- serial markers ----------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """A substring awaited in a log, within `timeout` seconds of the previous one."""

    key: str
    needle: str
    timeout: float

    def spec(self) -> str:
        """KEY=NEEDLE@SECONDS, as ci/serial-watch.py takes it."""
        return f"{self.key}={self.needle}@{self.timeout:g}"


def parse_marker(spec: str, default_timeout: float | None = None) -> Marker:
    """A marker from KEY=NEEDLE@SECONDS, or KEY=NEEDLE when a default_timeout is given.

    Raises ValueError naming the syntax.
    """
    m = MARKER_SPEC.fullmatch(spec)
    if m and m.group(3) is not None:
        return Marker(m.group(1), m.group(2), float(m.group(3)))
    if m and default_timeout is not None:
        return Marker(m.group(1), m.group(2), default_timeout)
    syntax = (
        "KEY=NEEDLE@SECONDS"
        if default_timeout is None
        else "KEY=NEEDLE or KEY=NEEDLE@SECONDS"
    )
    raise ValueError(f"bad marker {spec!r}: use {syntax}")


def watch_argv(
    watcher: Path,
    log: Path,
    markers: Sequence[Marker],
    pid: int,
    interval: float | None = None,
    abort_on: Sequence[str] = (),
) -> list[str]:
    """argv of ci/serial-watch.py waiting for markers in log while process pid
    runs, and no longer once the log shows one of abort_on."""
    argv = [sys.executable, str(watcher), "--log", str(log), "--pid", str(pid)]
    if interval is not None:
        argv += ["--interval", f"{interval:g}"]
    for text in abort_on:
        argv += ["--abort-on", text]
    for marker in markers:
        argv += ["--marker", marker.spec()]
    return argv


# ---------- logs --------------------------------------------------------------


def read_log(path: Path) -> str:
    """A log's text so far: "" before it exists, undecodable bytes replaced."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def tail_block(name: str, text: str, lines: int) -> str:
    """The last lines of a log under a heading, as failure reports print them."""
    last = "\n".join(text.splitlines()[-lines:])
    return f"---- last {lines} lines of {name} ----\n{last}"
