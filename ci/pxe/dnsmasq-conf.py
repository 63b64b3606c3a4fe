#!/usr/bin/env python3
"""Write the dnsmasq configuration of bty's PXE test segment (DHCP + TFTP, no DNS).

bty's rules (cijoe/scripts/pxe_run_chain_test.py): clients are tagged by
architecture (option 93: 0 BIOS, 7/9 x86-64 UEFI) and by the user class
iPXE sends; firmware gets an iPXE binary over TFTP, iPXE itself is never
re-served a binary but the HTTP bootstrap URL of bty-web:

  dhcp-boot=tag:!ipxe,tag:bios,<bios NBP>     (only with --bios-nbp)
  dhcp-boot=tag:!ipxe,tag:efi,<efi NBP>
  dhcp-boot=tag:ipxe,http://<server>:<port>/pxe-bootstrap.ipxe

Bound to one interface only; leases and pid file stay in --state-dir, so it
needs nothing of the host beyond the interface.
Exit codes: 0 written, 2 usage error.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from pathlib import Path

NBP_NAME = re.compile(r"[A-Za-z0-9._-]+")


def render(args: argparse.Namespace) -> str:
    server = ipaddress.IPv4Address(args.server_ip)
    lines = [
        "# bty-ci: DHCP + TFTP for a synthetic PXE segment (test machinery, not part of bty)",
        "port=0",
        "log-dhcp",
        f"interface={args.interface}",
        "bind-interfaces",
        "except-interface=lo",
        f"dhcp-range={args.range_low},{args.range_high},{args.netmask},1h",
        f"dhcp-leasefile={args.state_dir}/dnsmasq.leases",
        "enable-tftp",
        f"tftp-root={args.tftp_root}",
        "dhcp-match=set:bios,option:client-arch,0",
        "dhcp-match=set:efi,option:client-arch,7",
        "dhcp-match=set:efi,option:client-arch,9",
        "dhcp-userclass=set:ipxe,iPXE",
    ]
    if args.user:
        lines.insert(2, f"user={args.user}")
    if args.bios_nbp:
        lines.append(f"dhcp-boot=tag:!ipxe,tag:bios,{args.bios_nbp}")
    lines.append(f"dhcp-boot=tag:!ipxe,tag:efi,{args.efi_nbp}")
    lines.append(f"dhcp-boot=tag:ipxe,http://{server}:{args.http_port}/pxe-bootstrap.ipxe")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dnsmasq-conf.py",
        description="Write bty's PXE dnsmasq configuration (DHCP + TFTP, tag rules for BIOS/UEFI/iPXE).",
        epilog="exit codes: 0 written, 2 usage error",
    )
    parser.add_argument("--interface", required=True, help="the only interface to serve (the bridge)")
    parser.add_argument("--server-ip", required=True, help="address of bty-web on that interface")
    parser.add_argument("--http-port", type=int, default=8080, help="bty-web's port (default 8080)")
    parser.add_argument("--range-low", required=True, help="first DHCP address")
    parser.add_argument("--range-high", required=True, help="last DHCP address")
    parser.add_argument("--netmask", default="255.255.255.0", help="(default 255.255.255.0)")
    parser.add_argument("--tftp-root", type=Path, required=True, help="directory served over TFTP")
    parser.add_argument("--state-dir", type=Path, required=True, help="where the lease file goes")
    parser.add_argument("--efi-nbp", default="ipxe.efi", help="TFTP file for x86-64 UEFI firmware (default ipxe.efi)")
    parser.add_argument("--bios-nbp", default="", help="TFTP file for BIOS firmware (default: none served)")
    parser.add_argument("--user", default="", help="user dnsmasq drops to (default: dnsmasq's own default)")
    parser.add_argument("--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)

    try:
        for name in ("server_ip", "range_low", "range_high", "netmask"):
            ipaddress.IPv4Address(getattr(args, name))
    except ValueError as exc:
        parser.error(str(exc))
    for nbp in filter(None, (args.efi_nbp, args.bios_nbp)):
        if not NBP_NAME.fullmatch(nbp):
            parser.error(f"NBP name {nbp!r} must be a plain file name in the TFTP root")
    if not 0 < args.http_port < 65536:
        parser.error(f"--http-port {args.http_port} is not a port")

    text = render(args)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
