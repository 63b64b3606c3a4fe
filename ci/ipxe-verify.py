#!/usr/bin/env python3
"""Verify a built bty iPXE binary before it is published.

Checks, each reported with what was found:
  * a PE32+ x86-64 EFI application: MZ stub, PE signature, machine 0x8664,
    optional-header magic 0x20b, subsystem 10 (EFI application);
  * not truncated: every section's raw data lies inside the file;
  * size within [--min-bytes, --max-bytes];
  * bty's chain line (the first `chain ...` line of the embed script given
    with --embed) present byte for byte in the binary: the script is
    embedded as is, so a binary built without it, or from another script,
    fails here.

Exit codes: 0 all checks passed, 1 a check failed, 2 usage or input error.
Python standard library only.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

MACHINE_X86_64 = 0x8664
PE32_PLUS_MAGIC = 0x20B
SUBSYSTEM_EFI_APPLICATION = 10
MACHINES = {0x14C: "i386", 0x8664: "x86-64", 0xAA64: "arm64", 0x1C2: "arm", 0x5064: "riscv64"}
SUBSYSTEMS = {10: "EFI application", 11: "EFI boot service driver", 12: "EFI runtime driver", 3: "Windows console"}


class InputError(Exception):
    """Bad arguments or unreadable inputs (exit 2)."""


def chain_line(embed_script: str) -> str:
    """The first `chain` command of an iPXE script, as written there."""
    for line in embed_script.splitlines():
        if line.strip().startswith("chain "):
            return line.strip()
    raise InputError("the embed script has no `chain ...` line to look for")


def pe_checks(data: bytes) -> list[tuple[str, bool, str]]:
    """(check, ok, what was found) for the PE/COFF header and section bounds."""
    results: list[tuple[str, bool, str]] = []

    def fail(check: str, found: str) -> list[tuple[str, bool, str]]:
        results.append((check, False, found))
        return results

    if data[:2] != b"MZ":
        return fail("DOS header", f"no MZ signature (first bytes {data[:4].hex(' ') or 'none'}): not a PE file")
    if len(data) < 0x40:
        return fail("DOS header", f"file ends at {len(data)} bytes, inside the DOS header: truncated")
    pe_off = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe_off : pe_off + 4] != b"PE\0\0":
        return fail("PE signature", f"no PE\\0\\0 at offset {pe_off:#x}")
    results.append(("PE signature", True, f"PE\\0\\0 at {pe_off:#x}"))
    coff = pe_off + 4
    if len(data) < coff + 20:
        return fail("COFF header", f"file ends at {len(data)} bytes, inside the COFF header: truncated")
    machine, sections, _, _, _, opt_size, _ = struct.unpack_from("<HHIIIHH", data, coff)
    name = MACHINES.get(machine, "unknown")
    results.append(("machine x86-64", machine == MACHINE_X86_64, f"machine {machine:#06x} ({name})"))
    opt = coff + 20
    if len(data) < opt + 70:
        return fail("optional header", f"file ends at {len(data)} bytes, inside the optional header: truncated")
    magic = struct.unpack_from("<H", data, opt)[0]
    kind = {0x10B: "PE32", 0x20B: "PE32+"}.get(magic, "unknown")
    results.append(("PE32+", magic == PE32_PLUS_MAGIC, f"optional header magic {magic:#x} ({kind})"))
    subsystem = struct.unpack_from("<H", data, opt + 68)[0]
    results.append(
        (
            "EFI application",
            subsystem == SUBSYSTEM_EFI_APPLICATION,
            f"subsystem {subsystem} ({SUBSYSTEMS.get(subsystem, 'other')})",
        )
    )
    table = opt + opt_size
    end = 0
    for i in range(sections):
        entry = table + 40 * i
        if len(data) < entry + 40:
            return fail("sections inside file", f"section table entry {i} lies past the end ({len(data)} bytes): truncated")
        raw_size, raw_ptr = struct.unpack_from("<II", data, entry + 16)
        end = max(end, raw_ptr + raw_size)
    results.append(
        (
            "sections inside file",
            end <= len(data),
            f"{sections} sections end at byte {end}, file has {len(data)}"
            + ("" if end <= len(data) else f": truncated by {end - len(data)} bytes"),
        )
    )
    return results


def embedded_chain_lines(data: bytes) -> list[str]:
    """`chain` lines of the `#!ipxe` scripts found in the binary (what is there instead)."""
    found: list[str] = []
    start = data.find(b"#!ipxe")
    while start != -1:
        script = data[start : start + 16384].split(b"\0", 1)[0].decode("utf-8", "replace")
        found += [line.strip() for line in script.splitlines() if line.strip().startswith("chain ")]
        start = data.find(b"#!ipxe", start + 1)
    return found


def verify(data: bytes, expected_chain: str, min_bytes: int, max_bytes: int) -> list[tuple[str, bool, str]]:
    results = pe_checks(data)
    size = len(data)
    results.append(
        ("size band", min_bytes <= size <= max_bytes, f"{size} bytes (accepted {min_bytes}..{max_bytes})")
    )
    if expected_chain.encode() in data:
        results.append(("bty chain line", True, f"found: {expected_chain}"))
    else:
        others = embedded_chain_lines(data)
        what = (
            "embedded chain lines there: " + "; ".join(others)
            if others
            else "no embedded #!ipxe script with a chain line"
        )
        results.append(("bty chain line", False, f"missing `{expected_chain}`; {what}"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ipxe-verify.py",
        description="Verify a bty iPXE EFI binary (PE32+ x86-64 EFI application, size band, bty's chain line).",
        epilog="exit codes: 0 all checks passed, 1 a check failed, 2 usage or input error",
    )
    parser.add_argument("binary", type=Path, help="the ipxe.efi to check")
    parser.add_argument("--embed", type=Path, required=True, help="bty's embed script (ipxe-embed.ipxe)")
    parser.add_argument("--min-bytes", type=int, required=True, help="smallest accepted size")
    parser.add_argument("--max-bytes", type=int, required=True, help="largest accepted size")
    args = parser.parse_args(argv)

    try:
        if args.min_bytes <= 0 or args.max_bytes < args.min_bytes:
            raise InputError(f"bad size band {args.min_bytes}..{args.max_bytes}")
        if not args.binary.is_file():
            raise InputError(f"binary not found: {args.binary}")
        if not args.embed.is_file():
            raise InputError(f"embed script not found: {args.embed}")
        expected = chain_line(args.embed.read_text(encoding="utf-8"))
        data = args.binary.read_bytes()
    except InputError as exc:
        print(f"ipxe-verify.py: {exc}", file=sys.stderr)
        return 2

    results = verify(data, expected, args.min_bytes, args.max_bytes)
    failed = [r for r in results if not r[1]]
    for check, ok, found in results:
        print(f"{'ok  ' if ok else 'FAIL'} {check}: {found}", file=sys.stdout if ok else sys.stderr)
    if failed:
        print(
            f"ipxe-verify.py: {args.binary.name} failed {len(failed)} check(s): "
            + "; ".join(f"{c}: {f}" for c, _, f in failed),
            file=sys.stderr,
        )
        return 1
    print(f"ipxe-verify.py: {args.binary.name} passed {len(results)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
