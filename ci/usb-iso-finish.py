#!/usr/bin/env python3
"""Finish bty's usbboot-pc ISO with bty's own code, outside cijoe.

Imports `usb_iso_build` from the bty checkout's cijoe/scripts and runs, in
bty's order, what it does after `lb build`: `_verify_bootloader_suppression`
(the binary hook ran, no menus left), `_extend_with_exfat` (the trailing
32 MiB exFAT `BTY_IMAGES` partition) and `_verify_iso` (3 MBR partitions,
label on a loop device), then writes `<iso>.sha256` as bty does. A minimal
stand-in for cijoe's `run_local` runs bty's shell commands; nothing of
bty's logic is copied here.

Needs root (bty's commands use sudo, losetup, mkfs.exfat).

Exit codes: 0 finished, 1 one of bty's steps failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import logging
import subprocess
import sys
from pathlib import Path
from types import ModuleType


class LocalState:
    """What bty's scripts read from cijoe's run_local result."""

    def __init__(self, output: str):
        self._output = output

    def output(self) -> str:
        return self._output


class LocalCijoe:
    """cijoe's `run_local(cmd) -> (err, state)`, the only call the steps use."""

    def run_local(self, cmd: str) -> tuple[int, LocalState]:
        logging.info("run: %s", cmd)
        proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False)
        out = proc.stdout + proc.stderr
        if out.strip():
            logging.info("%s", out.rstrip())
        return proc.returncode, LocalState(proc.stdout)


def load_usb_iso_build(scripts: Path) -> ModuleType:
    path = scripts / "usb_iso_build.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: --bty-scripts must be bty's cijoe/scripts")
    sys.path.insert(0, str(scripts))
    spec = importlib.util.spec_from_file_location("usb_iso_build", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="usb-iso-finish.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bty-scripts", type=Path, required=True, help="bty's cijoe/scripts directory")
    parser.add_argument("--build-dir", type=Path, required=True, help="the live-build directory (binary/ inside)")
    parser.add_argument("--iso", type=Path, required=True, help="the published ISO to extend in place")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="usb-iso-finish.py: %(message)s")
    if not args.iso.is_file():
        print(f"usb-iso-finish.py: --iso {args.iso}: no such file", file=sys.stderr)
        return 2
    try:
        bty = load_usb_iso_build(args.bty_scripts)
    except (FileNotFoundError, ImportError) as err:
        print(f"usb-iso-finish.py: {err}", file=sys.stderr)
        return 2
    cijoe = LocalCijoe()
    for step, target in (
        ("_verify_bootloader_suppression", args.build_dir),
        ("_extend_with_exfat", args.iso),
        ("_verify_iso", args.iso),
    ):
        fn = getattr(bty, step, None)
        if fn is None:
            print(f"usb-iso-finish.py: bty's usb_iso_build has no {step}: bty-ci needs updating", file=sys.stderr)
            return 1
        if fn(cijoe, target):
            print(f"usb-iso-finish.py: bty's {step} failed (see above)", file=sys.stderr)
            return 1
    with args.iso.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    args.iso.with_name(args.iso.name + ".sha256").write_text(f"{digest}  {args.iso.name}\n")
    print(f"usb-iso-finish.py: finished {args.iso}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
