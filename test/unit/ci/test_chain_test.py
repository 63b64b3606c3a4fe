"""ci/pxe/chain-test.py: the PXE chain driver's steps, without root, network or QEMU."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections.abc import Callable
from pathlib import Path
from unittest import mock

from programs import CI, http_server, load_program, refused_port

chain_test = load_program("pxe/chain-test.py")
qemu_vm = chain_test.qemu_vm

MAC = "52:54:00:aa:bb:cc"


def chain_args(work: Path, **override: object) -> argparse.Namespace:
    """Arguments as main() leaves them for run()."""
    values: dict[str, object] = {
        "firmware": "bios",
        "workdir": work,
        "subnet": "192.168.99",
        "memory": 2048,
        "mac": MAC,
        "ovmf_code": "/ovmf/CODE_4M.fd",
        "ovmf_vars": "/ovmf/VARS_4M.fd",
        "tcg_scale": 4.0,
        "marker": [qemu_vm.Marker("ipxe-loaded", "iPXE", 30)],
        "service_log": [],
    }
    values.update(override)
    return argparse.Namespace(**values)


def temp_dir(test: unittest.TestCase) -> Path:
    return Path(test.enterContext(tempfile.TemporaryDirectory()))


class NamesTest(unittest.TestCase):
    def test_segment_names_fit_a_linux_interface_name_and_share_the_run_suffix(
        self,
    ) -> None:
        bridge, tap = chain_test.segment_names(
            4194304
        )  # the largest pid Linux hands out
        self.assertRegex(bridge, r"^bpxb4194304x[0-9a-f]{3}$")
        self.assertEqual(tap, "bpxt" + bridge[4:])
        self.assertLessEqual(len(bridge), 15)

    def test_a_random_mac_is_locally_administered_qemu_style(self) -> None:
        self.assertRegex(chain_test.random_mac(), r"^52:54:00(:[0-9a-f]{2}){3}$")

    def test_stale_segments_are_this_programs_whose_owner_is_gone(self) -> None:
        ip_link = (
            "1: lo: <LOOPBACK,UP> mtu 65536 state UNKNOWN\n"
            "7: bpxb4000000xdea: <BROADCAST> mtu 1500 state DOWN\n"
            "8: bpxt4000000xdea@if2: <BROADCAST> mtu 1500 state DOWN\n"
            "9: bpxb77x0ab: <BROADCAST> mtu 1500 state UP\n"
            "10: btybr4000000: <BROADCAST> mtu 1500 state DOWN\n"
        )
        self.assertEqual(
            chain_test.stale_segments(ip_link, lambda pid: pid == "77"),
            ["bpxb4000000xdea", "bpxt4000000xdea"],
        )


class ParseTest(unittest.TestCase):
    def test_targets_are_host_and_port(self) -> None:
        self.assertEqual(
            chain_test.parse_target("bty-web:8080", "--bty-web"), ("bty-web", 8080)
        )
        for bad in ("bty-web", "http://x:1", "x:port"):
            with (
                self.subTest(bad=bad),
                self.assertRaisesRegex(
                    argparse.ArgumentTypeError, r"--withcache must be HOST:PORT"
                ),
            ):
                chain_test.parse_target(bad, "--withcache")

    def test_service_logs_are_named_paths_or_urls(self) -> None:
        self.assertEqual(
            chain_test.parse_service_log("bty-web=http://10.0.0.2:8082/bty-web.log"),
            ("bty-web", "http://10.0.0.2:8082/bty-web.log"),
        )
        for bad in ("no-name", "bad name=/x"):
            with self.subTest(bad=bad), self.assertRaises(argparse.ArgumentTypeError):
                chain_test.parse_service_log(bad)


class ArgvTest(unittest.TestCase):
    def test_dnsmasq_conf_serves_the_firmwares_nbp_on_the_bridge(self) -> None:
        work = temp_dir(self)
        bios = chain_test.dnsmasq_conf_argv(
            chain_args(work), "bpxb1x0ab", "192.168.99.1", work
        )
        self.assertEqual(bios[:2], [sys.executable, str(CI / "pxe/dnsmasq-conf.py")])
        self.assertEqual(bios[-2:], ["--bios-nbp", "undionly.kpxe"])
        uefi = chain_test.dnsmasq_conf_argv(
            chain_args(work, firmware="uefi"), "bpxb1x0ab", "192.168.99.1", work
        )
        self.assertEqual(uefi[-2:], ["--efi-nbp", "ipxe.efi"])
        # dnsmasq-conf.py takes it: bty's rules on the bridge, the range in the subnet.
        subprocess.run(bios, check=True)
        conf = (work / "dnsmasq.conf").read_text().splitlines()
        for line in (
            "interface=bpxb1x0ab",
            "user=root",
            "dhcp-range=192.168.99.50,192.168.99.150,255.255.255.0,1h",
            f"tftp-root={work}/tftproot",
            "dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe",
            "dhcp-boot=tag:ipxe,http://192.168.99.1:8080/pxe-bootstrap.ipxe",
        ):
            self.assertIn(line, conf)

    def test_bios_client_boots_through_the_nics_option_rom(self) -> None:
        work = Path("/w")
        self.assertEqual(
            chain_test.qemu_argv(chain_args(work), "tcg", "bpxt1x0ab", work),
            [
                "qemu-system-x86_64", "-accel", "tcg", "-smp", "1", "-m", "2048",
                "-drive", "file=/w/client-blank.qcow2,if=none,id=flashdrive,format=qcow2",
                "-device", "virtio-blk-pci,drive=flashdrive,serial=BTYTEST",
                "-nographic", "-monitor", "none", "-serial", "file:/w/serial.log", "-serial", "null",
                "-boot", "n",
                "-netdev", "tap,id=pxe,ifname=bpxt1x0ab,script=no,downscript=no",
                "-device", f"virtio-net-pci,netdev=pxe,mac={MAC},bootindex=1",
            ],
        )  # fmt: skip

    def test_uefi_client_boots_ovmf_without_an_option_rom(self) -> None:
        work = Path("/w")
        argv = chain_test.qemu_argv(chain_args(work, firmware="uefi"), "kvm", "t", work)
        self.assertEqual(
            argv[7:13],
            [
                "-machine", "q35",
                "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/ovmf/CODE_4M.fd",
                "-drive", "if=pflash,format=raw,unit=1,file=/w/ovmf-vars.fd",
            ],
        )  # fmt: skip
        self.assertEqual(
            argv[-1], f"virtio-net-pci,netdev=pxe,mac={MAC},romfile=,bootindex=1"
        )

    def test_markers_get_the_mac_in_btys_url_form_and_budgets_for_the_accelerator(
        self,
    ) -> None:
        markers = [
            qemu_vm.Marker("ipxe-fetch-permac", "/pxe/{mac}", 30),
            qemu_vm.Marker("kernel-booting", "Linux version", 7.5),
        ]
        self.assertEqual(
            chain_test.chain_markers(markers, MAC, "tcg", 4),
            [
                qemu_vm.Marker("ipxe-fetch-permac", "/pxe/52-54-00-aa-bb-cc", 120),
                qemu_vm.Marker("kernel-booting", "Linux version", 30),
            ],
        )
        self.assertEqual(
            [m.timeout for m in chain_test.chain_markers(markers, MAC, "kvm", 4)],
            [30, 7.5],
        )


class UsageTest(unittest.TestCase):
    """Bad input is refused before anything starts: exit 2, no work directory."""

    def setUp(self) -> None:
        self.dir = temp_dir(self)
        self.work = self.dir / "run"
        self.nbp = self.dir / "undionly.kpxe"
        self.nbp.write_bytes(b"")

    def trio(self, *names: str) -> Path:
        trio = self.dir / "trio"
        trio.mkdir(exist_ok=True)
        for name in names:
            (trio / name).write_bytes(b"")
        return trio

    def main(
        self,
        *extra: str,
        firmware: str = "bios",
        trio: Path | None = None,
        pw: str = "x",
    ) -> str:
        if trio is None:
            trio = self.trio(*chain_test.trio_names("0.77.2"))
        argv = [
            "--firmware", firmware, "--workdir", str(self.work), "--trio", str(trio),
            "--version", "0.77.2", "--nbp", str(self.nbp), "--bty-web", "127.0.0.1:1",
            "--withcache", "127.0.0.1:2", "--bty-password-env", "PW",
            "--withcache-password-env", "PW", "--marker", "a=b@1", *extra,
        ]  # fmt: skip
        err = io.StringIO()
        with (
            mock.patch.dict(os.environ, {"PW": pw}),
            contextlib.redirect_stderr(err),
            self.assertRaises(SystemExit) as exit_,
        ):
            chain_test.main(argv)
        self.assertEqual(exit_.exception.code, 2)
        self.assertFalse(self.work.exists())
        return err.getvalue()

    def test_an_unknown_firmware(self) -> None:
        self.assertIn(
            "--firmware must be bios or uefi (got 'coreboot')",
            self.main(firmware="coreboot"),
        )

    def test_a_trio_with_a_missing_file_or_of_another_version(self) -> None:
        missing = self.trio(
            "bty-netboot-pc-x86_64-v0.77.2.vmlinuz",
            "bty-netboot-pc-x86_64-v0.77.2.initrd",
        )
        self.assertIn(
            "lacks bty-netboot-pc-x86_64-v0.77.2.squashfs: pass the netboot-pc build of bty 0.77.2",
            self.main(trio=missing),
        )
        other = self.dir / "other"
        other.mkdir()
        for suffix in ("vmlinuz", "initrd", "squashfs"):
            (other / f"bty-netboot-pc-x86_64-v0.76.0.{suffix}").write_bytes(b"")
        self.assertIn(
            "lacks bty-netboot-pc-x86_64-v0.77.2.vmlinuz, bty-netboot-pc-x86_64-v0.77.2.initrd, "
            "bty-netboot-pc-x86_64-v0.77.2.squashfs",
            self.main(trio=other),
        )

    def test_an_empty_password_variable(self) -> None:
        self.assertIn(
            "environment variable PW (an admin password) is empty", self.main(pw="")
        )

    def test_a_marker_without_its_budget(self) -> None:
        self.assertIn(
            "bad marker 'c=d': use KEY=NEEDLE@SECONDS", self.main("--marker", "c=d")
        )

    def test_a_subnet_that_is_not_three_octets(self) -> None:
        for subnet in ("192.168", "300.1.1"):
            with self.subTest(subnet=subnet):
                self.assertIn(
                    "--subnet must be three octets", self.main("--subnet", subnet)
                )

    def test_a_mac_in_upper_case_and_an_unknown_accelerator(self) -> None:
        self.assertIn(
            "--mac must be lower-case", self.main("--mac", "52:54:00:AA:BB:CC")
        )
        self.assertIn("--accel must be auto, kvm or tcg", self.main("--accel", "hvf"))

    def test_uefi_without_ovmf(self) -> None:
        self.assertIn(
            "OVMF not found",
            self.main("--ovmf-code", str(self.dir / "none.fd"), firmware="uefi"),
        )

    def test_a_workdir_that_exists(self) -> None:
        self.work.mkdir()
        err = io.StringIO()
        with (
            mock.patch.dict(os.environ, {"PW": "x"}),
            mock.patch.object(chain_test.shutil, "which", return_value="/usr/bin/tool"),
            contextlib.redirect_stderr(err),
            self.assertRaises(SystemExit) as exit_,
        ):
            chain_test.main(
                [
                    "--firmware", "bios", "--workdir", str(self.work),
                    "--trio", str(self.trio(*chain_test.trio_names("1.0"))), "--version", "1.0",
                    "--nbp", str(self.nbp), "--bty-web", "h:1", "--withcache", "h:2",
                    "--bty-password-env", "PW", "--withcache-password-env", "PW", "--marker", "a=b@1",
                ]
            )  # fmt: skip
        self.assertEqual(exit_.exception.code, 2)
        self.assertIn(
            f"--workdir {self.work} exists: give a fresh directory", err.getvalue()
        )


class BundleTest(unittest.TestCase):
    def test_the_bundle_holds_the_runs_files_the_service_logs_and_the_failure(
        self,
    ) -> None:
        work = temp_dir(self)
        (work / "serial.log").write_text("".join(f"serial {i}\n" for i in range(1, 51)))
        (work / "markers.txt").write_text(
            "MISSING flash-complete: 'bty: flash complete' (not within 5s)\n"
        )
        (work / "seeding.log").write_text(
            "POST http://192.168.99.1:8080/ui/login -> 303 (0.1s)\n"
        )
        (work / "unrelated.txt").write_text("not for the bundle\n")
        (work / "server.log").write_text("bty-web log\n")
        err = io.StringIO()
        with http_server(
            {("GET", "/withcache.log"): (200, {}, b"withcache log\n")}
        ) as (url, _):
            logs = {
                "bty-web": str(work / "server.log"),
                "withcache": f"{url}/withcache.log",
                "gone": f"http://127.0.0.1:{refused_port()}/gone.log",
            }
            with contextlib.redirect_stderr(err):
                bundle = chain_test.write_bundle(
                    work, "a serial marker did not appear", logs
                )
        self.assertEqual(
            sorted(p.name for p in bundle.iterdir()),
            [
                "FAILURE.txt",
                "bty-web.log",
                "gone.log",
                "markers.txt",
                "seeding.log",
                "serial.log",
                "withcache.log",
            ],
        )
        self.assertEqual(
            (bundle / "FAILURE.txt").read_text(), "a serial marker did not appear\n"
        )
        self.assertEqual((bundle / "bty-web.log").read_text(), "bty-web log\n")
        self.assertEqual((bundle / "withcache.log").read_text(), "withcache log\n")
        self.assertRegex(
            (bundle / "gone.log").read_text(),
            r"^could not collect http://127\.0\.0\.1:\d+/gone\.log: ",
        )
        report = err.getvalue()
        self.assertIn(
            f"chain-test.py: FAILED: a serial marker did not appear\ndebug bundle {bundle}:\n",
            report,
        )
        self.assertRegex(report, r"\n  serial\.log \(\d+ bytes\)\n")
        self.assertIn("---- markers.txt ----\nMISSING flash-complete", report)
        self.assertIn(
            "---- seeding.log ----\nPOST http://192.168.99.1:8080/ui/login -> 303",
            report,
        )
        self.assertTrue(
            report.endswith(
                "---- last 40 lines of serial.log ----\nserial 11\n"
                + "".join(f"serial {i}\n" for i in range(12, 51))
            )
        )


class SeederTest(unittest.TestCase):
    def setUp(self) -> None:
        self.record = temp_dir(self) / "seeding.log"

    def seeder(self, url: str) -> object:
        return chain_test.Seeder(url, url, "wc-secret", self.record)

    def test_login_keeps_the_cookie_of_the_redirect_without_following_it(self) -> None:
        routes = {
            ("POST", "/ui/login"): (
                303,
                {"Location": "/ui/", "Set-Cookie": "bty-token=t0k; Path=/; HttpOnly"},
                b"",
            ),
            ("PUT", "/boot/test.qcow2"): (200, {}, b""),
        }
        with http_server(routes) as (url, got):
            seed = self.seeder(url)
            seed.login("pw")
            seed.put_boot("test.qcow2", b"qcow")
        self.assertEqual(seed.token, "t0k")
        self.assertEqual(
            [(r.method, r.path) for r in got],
            [("POST", "/ui/login"), ("PUT", "/boot/test.qcow2")],
        )
        self.assertEqual(got[0].body, b"password=pw")
        self.assertEqual(got[1].headers["Cookie"], "bty-token=t0k")
        self.assertRegex(
            self.record.read_text(),
            rf"^POST {url}/ui/login -> 303 \(\d+\.\ds\)\nPUT {url}/boot/test\.qcow2 -> 200 \(\d+\.\ds\)\n$",
        )

    def test_an_unexpected_status_or_no_answer_fails_the_step(self) -> None:
        with http_server({("POST", "/ui/login"): (500, {}, b"database locked")}) as (
            url,
            _,
        ):
            with self.assertRaisesRegex(
                chain_test.ChainError,
                rf"POST {url}/ui/login returned 500, expected 200/303: database locked",
            ):
                self.seeder(url).login("pw")
        with http_server({("POST", "/ui/login"): (303, {}, b"")}) as (url, _):
            with self.assertRaisesRegex(
                chain_test.ChainError, "set no bty-token cookie"
            ):
                self.seeder(url).login("pw")
        down = f"http://127.0.0.1:{refused_port()}"
        with self.assertRaisesRegex(
            chain_test.ChainError, rf"^PUT {down}/machines/{MAC}: "
        ):
            self.seeder(down).machine(MAC, "ref")
        self.assertRegex(
            self.record.read_text().splitlines()[-1],
            rf"^PUT {down}/machines/{MAC} -> error ",
        )

    def test_catalog_entry_downloads_and_waits_until_withcache_lists_it(self) -> None:
        listing = json.dumps({"entries": [{"name": "pxe-test-image"}]}).encode()
        routes = {
            ("POST", "/catalog/entries"): (201, {}, b"{}"),
            ("POST", "/catalog/entries/pxe-test-image/download"): (202, {}, b""),
            ("GET", "/catalog"): (200, {}, listing),
        }
        with http_server(routes) as (url, got):
            ref = self.seeder(url).catalog_entry(
                "http://192.168.99.1:8080/boot/test.qcow2", 5
            )
        self.assertEqual(
            ref, hashlib.sha256(b"http://192.168.99.1:8080/boot/test.qcow2").hexdigest()
        )
        self.assertEqual(
            json.loads(got[0].body),
            {
                "name": "pxe-test-image",
                "src": "http://192.168.99.1:8080/boot/test.qcow2",
                "resolved_src": "http://192.168.99.1:8080/boot/test.qcow2",
                "format": "img",
            },
        )
        self.assertEqual(
            [r.headers.get("Authorization") for r in got if r.method == "POST"],
            ["Bearer wc-secret", "Bearer wc-secret"],
        )

    def test_the_machine_is_set_to_flash_its_image_onto_the_test_disk(self) -> None:
        with http_server({("PUT", f"/machines/{MAC}"): (200, {}, b"{}")}) as (url, got):
            seed = self.seeder(url)
            seed.token = "t0k"
            seed.machine(MAC, "abc123")
        self.assertEqual(
            json.loads(got[0].body),
            {
                "bty_image_ref": "abc123",
                "boot_mode": "bty-flash-always",
                "target_disk_serial": "BTYTEST",
            },
        )

    def test_wait_healthy_returns_once_healthz_answers(self) -> None:
        with http_server({("GET", "/healthz"): (200, {}, b"ok")}) as (url, got):
            chain_test.wait_healthy(url, 5)
        self.assertEqual([r.path for r in got], ["/healthz"])


class ForwarderTest(unittest.TestCase):
    def test_connections_to_the_listen_address_reach_the_target(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as upstream:

            def echo_once() -> None:
                conn, _ = upstream.accept()
                with conn:
                    conn.sendall(b"echo: " + conn.recv(100))

            threading.Thread(target=echo_once, daemon=True).start()
            port = refused_port()
            forwarder = chain_test.Forwarder("127.0.0.1", port, upstream.getsockname())
            self.addCleanup(forwarder.close)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(b"GET /healthz")
                self.assertEqual(client.recv(100), b"echo: GET /healthz")


class WatchSerialTest(unittest.TestCase):
    def setUp(self) -> None:
        self.work = temp_dir(self)
        self.qemu = subprocess.Popen(["sleep", "60"])
        self.addCleanup(qemu_vm.stop_processes, [self.qemu])

    def watch(self, markers: list[object], accel: str) -> str:
        chain = chain_test.ChainRun(
            chain_args(self.work, marker=markers, tcg_scale=2.0)
        )
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            chain.watch_serial(self.qemu, accel)
        return out.getvalue()

    def test_every_marker_seen_in_order_with_the_mac_filled_in(self) -> None:
        (self.work / "serial.log").write_text(
            "iPXE 1.21\nhttp://192.168.99.1:8080/pxe/52-54-00-aa-bb-cc... ok\n"
        )
        markers = [
            qemu_vm.Marker("ipxe-loaded", "iPXE", 5),
            qemu_vm.Marker("permac", "/pxe/{mac}", 5),
        ]
        out = self.watch(markers, "kvm")
        self.assertRegex(
            out, r"seen {4}permac after [\d.]+s: '/pxe/52-54-00-aa-bb-cc'\n"
        )
        self.assertRegex(out, r"PXE chain complete: all 2 markers seen\n$")
        self.assertRegex(
            (self.work / "markers.txt").read_text(), r"^seen {4}ipxe-loaded after "
        )

    def test_a_missing_marker_fails_the_chain(self) -> None:
        (self.work / "serial.log").write_text("iPXE 1.21\n")
        self.qemu.kill()
        self.qemu.wait()
        markers = [
            qemu_vm.Marker("ipxe-loaded", "iPXE", 5),
            qemu_vm.Marker("flash-complete", "bty: flash complete", 60),
        ]
        with self.assertRaisesRegex(
            chain_test.ChainError,
            r"^a serial marker did not appear in time \(see markers\.txt\)$",
        ):
            self.watch(markers, "tcg")
        self.assertIn(
            f"MISSING flash-complete: 'bty: flash complete' (process {self.qemu.pid} exited)",
            (self.work / "markers.txt").read_text(),
        )

    def test_a_guest_kernel_panic_ends_the_watch_at_once_as_a_panic(self) -> None:
        (self.work / "serial.log").write_text(
            "Linux version 6.12\n[ 14.54] Kernel panic - not syncing: Fatal exception in interrupt\n"
        )
        markers = [
            qemu_vm.Marker("kernel-booting", "Linux version", 5),
            qemu_vm.Marker("flash-complete", "bty: flash complete", 60),
        ]
        start = time.monotonic()
        with self.assertRaisesRegex(
            chain_test.GuestPanic,
            r"^the client's kernel panicked \(accel tcg; see serial\.log\)$",
        ):
            self.watch(markers, "tcg")
        self.assertLess(time.monotonic() - start, 10)

    def test_a_panicked_boot_is_stopped_and_its_logs_kept_under_their_own_names(
        self,
    ) -> None:
        (self.work / "serial.log").write_text("Kernel panic - not syncing\n")
        (self.work / "markers.txt").write_text("MISSING flash-complete\n")
        chain = chain_test.ChainRun(chain_args(self.work))
        chain.procs.append(self.qemu)
        with contextlib.redirect_stdout(io.StringIO()):
            chain.set_aside_panicked_boot(self.qemu)
        self.assertIsNotNone(self.qemu.poll())
        self.assertEqual(chain.procs, [])
        self.assertEqual(
            sorted(p.name for p in self.work.iterdir()),
            ["markers-panicked.txt", "serial-panicked.log"],
        )
        self.assertIn("serial-panicked.log", chain_test.BUNDLE_FILES)
        self.assertIn("markers-panicked.txt", chain_test.BUNDLE_FILES)


class BootsAgainTest(unittest.TestCase):
    def test_one_more_boot_after_a_panic_under_tcg_only(self) -> None:
        self.assertTrue(chain_test.boots_again("tcg", 1))
        self.assertFalse(chain_test.boots_again("tcg", 2))
        self.assertFalse(chain_test.boots_again("kvm", 1))


class RunTest(unittest.TestCase):
    """run(): the steps in order; on any failure the bundle, and always the cleanup."""

    STEPS = (
        "open_segment",
        "serve_dhcp_tftp",
        "forward_services",
        "seed",
        "choose_accel",
        "boot_client",
        "watch_serial",
        "set_aside_panicked_boot",
    )

    def setUp(self) -> None:
        self.work = temp_dir(self)
        saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        self.addCleanup(lambda: [signal.signal(s, h) for s, h in saved.items()])
        # What each step does here instead of its work; what it returns.
        self.faults: dict[str, Callable[[], None]] = {}
        results = {"choose_accel": "tcg", "boot_client": "qemu"}
        self.results = results
        self.steps: list[tuple[str, tuple[object, ...]]] = []
        for step in (*self.STEPS, "cleanup"):

            def fake(_self: object, *args: object, step: str = step) -> object:
                self.steps.append((step, args))
                self.faults.get(step, lambda: None)()
                return results.get(step)

            patcher = mock.patch.object(
                chain_test.ChainRun, step, autospec=True, side_effect=fake
            )
            patcher.start()
            self.addCleanup(patcher.stop)

    def run_chain(self) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = chain_test.run(chain_args(self.work))
        return code, err.getvalue()

    def test_a_complete_chain_runs_every_step_in_order_then_cleans_up(self) -> None:
        code, _ = self.run_chain()
        self.assertEqual(code, 0)
        self.assertEqual(
            self.steps,
            [
                ("open_segment", ()), ("serve_dhcp_tftp", ()), ("forward_services", ()), ("seed", ()),
                ("choose_accel", ()), ("boot_client", ("tcg",)), ("watch_serial", ("qemu", "tcg")), ("cleanup", ()),
            ],
        )  # fmt: skip
        self.assertFalse((self.work / "bundle").exists())

    def panic_on_boots(self, *boots: int) -> None:
        watched = 0

        def watch_serial() -> None:
            nonlocal watched
            watched += 1
            if watched in boots:
                raise chain_test.GuestPanic("the client's kernel panicked")

        self.faults["watch_serial"] = watch_serial

    def test_a_panic_under_tcg_boots_the_client_once_more(self) -> None:
        self.panic_on_boots(1)
        code, _ = self.run_chain()
        self.assertEqual(code, 0)
        self.assertEqual(
            [s for s, _ in self.steps][4:],
            ["choose_accel", "boot_client", "watch_serial", "set_aside_panicked_boot",
             "boot_client", "watch_serial", "cleanup"],
        )  # fmt: skip

    def test_a_second_panic_fails_the_chain(self) -> None:
        self.panic_on_boots(1, 2)
        code, _ = self.run_chain()
        self.assertEqual(code, 1)
        self.assertEqual([s for s, _ in self.steps].count("boot_client"), 2)
        self.assertEqual(
            (self.work / "bundle/FAILURE.txt").read_text(),
            "the client's kernel panicked\n",
        )

    def test_a_panic_under_kvm_fails_the_chain_at_once(self) -> None:
        self.results["choose_accel"] = "kvm"
        self.panic_on_boots(1)
        code, _ = self.run_chain()
        self.assertEqual(code, 1)
        self.assertEqual([s for s, _ in self.steps].count("boot_client"), 1)

    def test_a_failed_step_ends_the_run_with_the_bundle_and_still_cleans_up(
        self,
    ) -> None:
        def dnsmasq_conf_failed() -> None:
            raise subprocess.CalledProcessError(2, ["dnsmasq-conf.py"])

        self.faults["serve_dhcp_tftp"] = dnsmasq_conf_failed
        code, err = self.run_chain()
        self.assertEqual(code, 1)
        self.assertEqual(
            [s for s, _ in self.steps], ["open_segment", "serve_dhcp_tftp", "cleanup"]
        )
        self.assertEqual(
            (self.work / "bundle/FAILURE.txt").read_text(),
            "Command '['dnsmasq-conf.py']' returned non-zero exit status 2.\n",
        )
        self.assertIn("chain-test.py: FAILED: Command", err)

    def test_sigterm_stops_the_run_with_its_bundle(self) -> None:
        def terminated() -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

        self.faults["seed"] = terminated
        code, _ = self.run_chain()
        self.assertEqual(code, 1)
        self.assertEqual(
            (self.work / "bundle/FAILURE.txt").read_text(),
            "stopped by signal SIGTERM\n",
        )
        self.assertEqual([s for s, _ in self.steps][-2:], ["seed", "cleanup"])


if __name__ == "__main__":
    unittest.main()
