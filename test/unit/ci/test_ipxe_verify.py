"""ci/ipxe-verify.py on synthetic PE files (the payload tier checks a real iPXE build)."""

from __future__ import annotations

import contextlib
import io
import struct
import tempfile
import unittest
from pathlib import Path

from programs import load_program

ipxe_verify = load_program("ipxe-verify.py")

CHAIN = "chain http://${next-server}:8080/pxe-bootstrap.ipxe"
EMBED = f"#!ipxe\ndhcp\necho bty: chaining\n  {CHAIN} || shell\n"
PE_OFFSET = 0x80
OPTIONAL_HEADER_SIZE = 0xF0


def pe(
    *,
    machine: int = 0x8664,
    magic: int = 0x20B,
    subsystem: int = 10,
    script: str = EMBED,
    size: int = 4096,
    raw_end: int | None = None,
) -> bytes:
    """A minimal PE32+ image: DOS stub, COFF header, optional header, one
    section whose raw data ends at raw_end (default: the file's end), and an
    embedded iPXE script."""
    data = bytearray(size)
    data[0:2] = b"MZ"
    struct.pack_into("<I", data, 0x3C, PE_OFFSET)
    data[PE_OFFSET : PE_OFFSET + 4] = b"PE\0\0"
    coff = PE_OFFSET + 4
    struct.pack_into(
        "<HHIIIHH", data, coff, machine, 1, 0, 0, 0, OPTIONAL_HEADER_SIZE, 0x22
    )
    opt = coff + 20
    struct.pack_into("<H", data, opt, magic)
    struct.pack_into("<H", data, opt + 68, subsystem)
    section = opt + OPTIONAL_HEADER_SIZE
    data[section : section + 8] = b".text\0\0\0"
    raw_ptr = 0x400
    struct.pack_into("<II", data, section + 16, (raw_end or size) - raw_ptr, raw_ptr)
    blob = script.encode() + b"\0"
    data[0x800 : 0x800 + len(blob)] = blob
    return bytes(data)


class VerifyTest(unittest.TestCase):
    def checks(self, data: bytes) -> dict[str, tuple[bool, str]]:
        return {
            c: (ok, found)
            for c, ok, found in ipxe_verify.verify(data, CHAIN, 1000, 8192)
        }

    def test_a_good_binary_passes_all_seven_checks(self) -> None:
        results = ipxe_verify.verify(pe(), CHAIN, 1000, 8192)
        self.assertEqual(
            [(check, ok) for check, ok, _ in results],
            [
                ("PE signature", True),
                ("machine x86-64", True),
                ("PE32+", True),
                ("EFI application", True),
                ("sections inside file", True),
                ("size band", True),
                ("bty chain line", True),
            ],
        )
        self.assertEqual(results[-1][2], f"found: {CHAIN}")

    def test_another_architecture_a_pe32_and_a_driver(self) -> None:
        self.assertEqual(
            self.checks(pe(machine=0xAA64))["machine x86-64"],
            (False, "machine 0xaa64 (arm64)"),
        )
        self.assertEqual(
            self.checks(pe(magic=0x10B))["PE32+"],
            (False, "optional header magic 0x10b (PE32)"),
        )
        self.assertEqual(
            self.checks(pe(subsystem=11))["EFI application"],
            (False, "subsystem 11 (EFI boot service driver)"),
        )

    def test_a_truncated_binary(self) -> None:
        self.assertEqual(
            self.checks(pe(raw_end=5000))["sections inside file"],
            (
                False,
                "1 sections end at byte 5000, file has 4096: truncated by 904 bytes",
            ),
        )
        cut = pe()[:0x90]
        self.assertEqual(
            self.checks(cut)["COFF header"],
            (False, "file ends at 144 bytes, inside the COFF header: truncated"),
        )

    def test_not_a_pe_file_at_all(self) -> None:
        checks = self.checks(b"#!ipxe\necho hello\n")
        self.assertEqual(
            checks["DOS header"],
            (False, "no MZ signature (first bytes 23 21 69 70): not a PE file"),
        )
        self.assertEqual(checks["size band"], (False, "18 bytes (accepted 1000..8192)"))

    def test_another_chain_line_is_named(self) -> None:
        other = pe(script="#!ipxe\nchain http://elsewhere/boot.ipxe\n")
        self.assertEqual(
            self.checks(other)["bty chain line"],
            (
                False,
                f"missing `{CHAIN}`; embedded chain lines there: chain http://elsewhere/boot.ipxe",
            ),
        )
        self.assertEqual(
            self.checks(pe(script="#!ipxe\nexit\n"))["bty chain line"],
            (False, f"missing `{CHAIN}`; no embedded #!ipxe script with a chain line"),
        )

    def test_the_chain_line_is_the_first_of_the_embed_script(self) -> None:
        self.assertEqual(
            ipxe_verify.chain_line(EMBED + "chain http://second\n"), f"{CHAIN} || shell"
        )
        with self.assertRaisesRegex(ipxe_verify.InputError, "no `chain ...` line"):
            ipxe_verify.chain_line("#!ipxe\ndhcp\n")


class MainTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.embed = self.dir / "ipxe-embed.ipxe"
        self.embed.write_text(EMBED)

    def main(self, binary: bytes | None, *band: str) -> tuple[int, str, str]:
        path = self.dir / ("ipxe.efi" if binary is not None else "missing.efi")
        if binary is not None:
            path.write_bytes(binary)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ipxe_verify.main(
                [
                    str(path),
                    "--embed",
                    str(self.embed),
                    *(band or ("--min-bytes", "1000", "--max-bytes", "8192")),
                ]
            )
        return code, out.getvalue(), err.getvalue()

    def test_exit_0_when_every_check_passes(self) -> None:
        code, out, _ = self.main(pe())
        self.assertEqual(code, 0)
        self.assertTrue(out.endswith("ipxe-verify.py: ipxe.efi passed 7 checks\n"))

    def test_exit_1_naming_the_failed_checks(self) -> None:
        code, _, err = self.main(pe(machine=0xAA64, size=9000))
        self.assertEqual(code, 1)
        self.assertIn("FAIL machine x86-64: machine 0xaa64 (arm64)\n", err)
        self.assertIn(
            "ipxe-verify.py: ipxe.efi failed 2 check(s): machine x86-64:", err
        )

    def test_exit_2_for_a_bad_band_or_a_missing_file(self) -> None:
        code, _, err = self.main(pe(), "--min-bytes", "9000", "--max-bytes", "10")
        self.assertEqual((code, err), (2, "ipxe-verify.py: bad size band 9000..10\n"))
        code, _, err = self.main(None)
        self.assertEqual(code, 2)
        self.assertIn("binary not found", err)


if __name__ == "__main__":
    unittest.main()
