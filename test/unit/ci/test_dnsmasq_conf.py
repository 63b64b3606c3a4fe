"""ci/pxe/dnsmasq-conf.py: bty's DHCP + TFTP rules for the PXE segment."""

from __future__ import annotations

import contextlib
import io
import tempfile
import unittest
from pathlib import Path

from programs import load_program

dnsmasq_conf = load_program("pxe/dnsmasq-conf.py")

BASE = [
    "--interface", "btybr1", "--server-ip", "10.9.8.1", "--range-low", "10.9.8.50",
    "--range-high", "10.9.8.150", "--tftp-root", "/srv/tftp", "--state-dir", "/run/x",
]  # fmt: skip


def conf(*extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = dnsmasq_conf.main([*BASE, *extra])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


class ConfTest(unittest.TestCase):
    def test_btys_rules_bound_to_the_bridge_state_in_the_state_dir(self) -> None:
        code, out, _ = conf()
        self.assertEqual(code, 0)
        self.assertEqual(
            out.splitlines(),
            [
                "# bty-ci: DHCP + TFTP for a synthetic PXE segment (test machinery, not part of bty)",
                "port=0",
                "log-dhcp",
                "interface=btybr1",
                "bind-interfaces",
                "except-interface=lo",
                "dhcp-range=10.9.8.50,10.9.8.150,255.255.255.0,1h",
                "dhcp-leasefile=/run/x/dnsmasq.leases",
                "enable-tftp",
                "tftp-root=/srv/tftp",
                "dhcp-match=set:bios,option:client-arch,0",
                "dhcp-match=set:efi,option:client-arch,7",
                "dhcp-match=set:efi,option:client-arch,9",
                "dhcp-userclass=set:ipxe,iPXE",
                "dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi",
                "dhcp-boot=tag:ipxe,http://10.9.8.1:8080/pxe-bootstrap.ipxe",
            ],
        )

    def test_a_bios_nbp_and_a_user_only_when_asked(self) -> None:
        code, out, _ = conf(
            "--bios-nbp", "undionly.kpxe", "--user", "nobody", "--http-port", "9000"
        )
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertEqual(lines[2], "user=nobody")
        self.assertEqual(
            lines[-3:],
            [
                "dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe",
                "dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi",
                "dhcp-boot=tag:ipxe,http://10.9.8.1:9000/pxe-bootstrap.ipxe",
            ],
        )

    def test_written_to_output_instead_of_stdout(self) -> None:
        target = Path(self.enterContext(tempfile.TemporaryDirectory())) / "dnsmasq.conf"
        code, out, _ = conf("--output", str(target))
        self.assertEqual((code, out), (0, ""))
        self.assertIn("interface=btybr1\n", target.read_text())

    def test_a_bad_address_an_nbp_path_or_a_bad_port_is_a_usage_error(self) -> None:
        self.assertEqual(conf("--server-ip", "10.9.8")[0], 2)
        code, _, err = conf("--efi-nbp", "../etc/passwd")
        self.assertEqual(code, 2)
        self.assertIn("must be a plain file name in the TFTP root", err)
        self.assertEqual(conf("--http-port", "70000")[0], 2)


if __name__ == "__main__":
    unittest.main()
