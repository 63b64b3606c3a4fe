#!/usr/bin/env python3
"""bty's PXE chain test (cijoe/scripts/pxe_run_chain_test.py), as one program.

On a synthetic segment in the current network namespace (a container's own,
or one from `unshare --net`): a bridge carrying the server address and a tap
for the client (lan.sh), dnsmasq with bty's tag rules bound to the bridge
(dnsmasq-conf.py), and TCP forwarders from <server>:8080 and <server>:8081 to
bty-web and withcache wherever they run (--bty-web / --withcache: Dagger
service bindings, or processes on loopback). Then bty's HTTP seeding sequence
in order (login, the trio, the dummy image and its .sha256, the withcache
catalog entry and its download, bty's catalog refresh, the machine), a QEMU
client (SeaBIOS or OVMF) that PXE-boots, and the serial markers in order
(serial-watch.py), each within its time budget, scaled when QEMU got TCG.

On failure a debug bundle is written to <workdir>/bundle (serial, dnsmasq,
service logs, QEMU command line, the seeding calls, which markers were seen
and when) and its index printed. Everything started is stopped and the
segment removed on every exit; children die with this process even when it
is SIGKILLed (PR_SET_PDEATHSIG), and segments left by dead runs are reaped.

Exit codes: 0 chain complete, 1 the chain failed (bundle written),
2 usage error or a missing tool/file (nothing started).
"""

from __future__ import annotations

import argparse
import hashlib
import http.cookies
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import BinaryIO

HERE = Path(__file__).resolve().parent
CI = HERE.parent
# qemu_vm.py is in ci/, which the job containers mount whole. ci/ is part of
# bty-ci's module source: no __pycache__ is left in it.
sys.dont_write_bytecode = True
sys.path.insert(0, str(CI))
import qemu_vm  # noqa: E402

TRIO_SUFFIXES = ("vmlinuz", "initrd", "squashfs")
BTY_PORT = 8080
WITHCACHE_PORT = 8081
IMAGE_NAME = "test.qcow2"
CATALOG_ENTRY = "pxe-test-image"
DISK_SERIAL = "BTYTEST"
# What each firmware gets over TFTP: SeaBIOS's NIC ROM chains to undionly.kpxe,
# OVMF's PXE client to bty's ipxe.efi.
NBP_NAMES = {"bios": "undionly.kpxe", "uefi": "ipxe.efi"}
# Interface names: prefix + owner pid + random suffix (15 characters at most),
# so a reaper can tell a dead run's segment.
BRIDGE_PREFIX = "bpxb"
TAP_PREFIX = "bpxt"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# What the debug bundle copies from the work directory, when there.
BUNDLE_FILES = (
    "serial.log",
    "dnsmasq.log",
    "dnsmasq.conf",
    "qemu.log",
    "qemu-cmdline.txt",
    "seeding.log",
    "markers.txt",
    "accel.txt",
    "serial-panicked.log",
    "markers-panicked.txt",
)
# What Linux prints when it panics. Under TCG, with two chains at once on two
# cores, the client's kernel panicked once in virtio-net's receive path
# (net_rx_action, a NULL list pointer) while live-boot fetched the squashfs.
KERNEL_PANIC = "Kernel panic - not syncing"
TOOLS = ("ip", "dnsmasq", "qemu-system-x86_64", "qemu-img")


class ChainError(qemu_vm.VmError):
    """The chain failed at a named step."""


class GuestPanic(ChainError):
    """The client's kernel panicked before the chain completed."""


def boots_again(accel: str, boots: int) -> bool:
    """After a guest kernel panic: one more boot under TCG only. Under KVM, or a
    second time, a panic is the result (a panic bty's kernel or initrd causes
    panics again and fails the chain)."""
    return accel == "tcg" and boots == 1


def log(msg: str) -> None:
    print(f"chain-test.py: [{time.monotonic() - START:6.1f}s] {msg}", flush=True)


START = time.monotonic()


def random_mac() -> str:
    # QEMU's locally administered prefix; the rest random per run.
    return "52:54:00:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))


def segment_names(pid: int) -> tuple[str, str]:
    """Bridge and tap names: prefix, owner pid (for the reaper), random suffix
    (pids repeat across PID namespaces, e.g. a driver that is a namespace's init)."""
    suffix = f"{random.randrange(16**3):03x}"
    return f"{BRIDGE_PREFIX}{pid}x{suffix}", f"{TAP_PREFIX}{pid}x{suffix}"


def stale_segments(ip_link: str, running: Callable[[str], bool]) -> list[str]:
    """Bridges and taps of this program in `ip -o link show` output whose owner pid is not running."""
    return [
        name
        for name, pid in re.findall(
            rf"^\d+: ((?:{BRIDGE_PREFIX}|{TAP_PREFIX})(\d+)x[0-9a-f]+)[@:]",
            ip_link,
            re.M,
        )
        if not running(pid)
    ]


def reap_stale_segments() -> list[str]:
    """Delete bridges/taps of this program whose owning pid is gone."""
    out = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
    ).stdout
    reaped = stale_segments(out, lambda pid: Path(f"/proc/{pid}").exists())
    for name in reaped:
        subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
    return reaped


# ---------- TCP forwarding: bridge address -> the services ------------------


class Forwarder:
    """Accepts on (listen_ip, port) and pipes each connection to target."""

    def __init__(self, listen_ip: str, port: int, target: tuple[str, int]):
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((listen_ip, port))
        self.sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=30)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


# ---------- HTTP seeding (bty's production API) ------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ARG002
        return None


class Seeder:
    """bty's seeding calls, each recorded (method, url, status, seconds)."""

    def __init__(
        self, base: str, withcache: str, withcache_password: str, record: Path
    ):
        self.base = base
        self.withcache = withcache
        self.withcache_password = withcache_password
        self.record = record
        self.token = ""

    def call(
        self,
        method: str,
        url: str,
        *,
        body: bytes | BinaryIO | None = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...],
        follow: bool = True,
        timeout: float = 120,
    ) -> tuple[int, bytes, Message]:
        req = urllib.request.Request(
            url, data=body, method=method, headers=headers or {}
        )
        opener = (
            urllib.request.build_opener()
            if follow
            else urllib.request.build_opener(NoRedirect())
        )
        started = time.monotonic()
        try:
            with opener.open(req, timeout=timeout) as resp:
                status, data, hdrs = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as exc:
            status, data, hdrs = exc.code, exc.read(), exc.headers
        except OSError as exc:
            self._note(method, url, f"error {exc}", started)
            raise ChainError(f"{method} {url}: {exc}") from exc
        self._note(method, url, str(status), started)
        if status not in expect:
            raise ChainError(
                f"{method} {url} returned {status}, expected {'/'.join(map(str, expect))}: "
                f"{data[:300].decode('utf-8', 'replace')}"
            )
        return status, data, hdrs

    def _note(self, method: str, url: str, status: str, started: float) -> None:
        with self.record.open("a", encoding="utf-8") as fh:
            fh.write(
                f"{method} {url} -> {status} ({time.monotonic() - started:.1f}s)\n"
            )

    def cookie(self) -> dict[str, str]:
        return {"Cookie": f"bty-token={self.token}"}

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.withcache_password}"}

    def login(self, password: str) -> None:
        body = urllib.parse.urlencode({"password": password}).encode()
        _, _, hdrs = self.call(
            "POST",
            f"{self.base}/ui/login",
            body=body,
            follow=False,
            expect=(200, 303),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        jar = http.cookies.SimpleCookie()
        for header in hdrs.get_all("Set-Cookie") or []:
            jar.load(header)
        if "bty-token" not in jar:
            raise ChainError("POST /ui/login set no bty-token cookie")
        self.token = jar["bty-token"].value

    def put_boot(
        self, name: str, data: bytes, expect: tuple[int, ...] = (200,)
    ) -> None:
        self.call(
            "PUT",
            f"{self.base}/boot/{name}",
            body=data,
            expect=expect,
            headers={
                **self.cookie(),
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(data)),
            },
        )

    def put_boot_file(self, path: Path) -> None:
        """Streamed, as bty's test does: the squashfs is ~650 MiB."""
        with path.open("rb") as fh:
            self.call(
                "PUT",
                f"{self.base}/boot/{path.name}",
                body=fh,
                expect=(200,),
                timeout=600,
                headers={
                    **self.cookie(),
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(path.stat().st_size),
                },
            )

    def catalog_entry(self, image_url: str, timeout: float) -> str:
        body = json.dumps(
            {
                "name": CATALOG_ENTRY,
                "src": image_url,
                "resolved_src": image_url,
                "format": "img",
            }
        ).encode()
        self.call(
            "POST",
            f"{self.withcache}/catalog/entries",
            body=body,
            expect=(200, 201),
            headers={**self.bearer(), "Content-Type": "application/json"},
        )
        self.call(
            "POST",
            f"{self.withcache}/catalog/entries/{CATALOG_ENTRY}/download",
            expect=(200, 201, 202),
            headers=self.bearer(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                _, data, _ = self.call(
                    "GET", f"{self.withcache}/catalog", expect=(200,), timeout=5
                )
                entries = json.loads(data).get("entries") or []
                if any(e.get("name") == CATALOG_ENTRY for e in entries):
                    return hashlib.sha256(image_url.encode()).hexdigest()
            except (ChainError, ValueError):
                pass
            time.sleep(2)
        raise ChainError(
            f"withcache never listed {CATALOG_ENTRY!r} in GET /catalog within {timeout:g}s (its download did not finish)"
        )

    def refresh(self) -> None:
        self.call(
            "POST",
            f"{self.base}/admin/withcache/refresh",
            body=b"",
            expect=(204,),
            headers=self.cookie(),
        )

    def machine(self, mac: str, image_ref: str) -> None:
        body = json.dumps(
            {
                "bty_image_ref": image_ref,
                "boot_mode": "bty-flash-always",
                "target_disk_serial": DISK_SERIAL,
            }
        ).encode()
        self.call(
            "PUT",
            f"{self.base}/machines/{mac}",
            body=body,
            expect=(200,),
            headers={**self.cookie(), "Content-Type": "application/json"},
        )


def wait_healthy(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=3) as resp:
                if resp.status == 200:
                    return
                last = f"status {resp.status}"
        except (OSError, urllib.error.HTTPError) as exc:
            last = str(exc)
        time.sleep(2)
    raise ChainError(f"{url}/healthz not healthy within {timeout:g}s (last: {last})")


# ---------- the run's pieces (pure) -------------------------------------------


def parse_target(spec: str, flag: str) -> tuple[str, int]:
    m = re.fullmatch(r"([A-Za-z0-9_.-]+):(\d{1,5})", spec)
    if not m:
        raise argparse.ArgumentTypeError(f"{flag} must be HOST:PORT (got {spec!r})")
    return m.group(1), int(m.group(2))


def parse_service_log(spec: str) -> tuple[str, str]:
    """NAME=PATH or NAME=URL of a service log for the bundle."""
    name, sep, source = spec.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise argparse.ArgumentTypeError(
            f"bad --service-log {spec!r}: use NAME=PATH or NAME=URL"
        )
    return name, source


def trio_names(version: str) -> list[str]:
    return [f"bty-netboot-pc-x86_64-v{version}.{s}" for s in TRIO_SUFFIXES]


def dnsmasq_conf_argv(
    args: argparse.Namespace, bridge: str, server: str, work: Path
) -> list[str]:
    """dnsmasq-conf.py's argv: DHCP on the bridge only, the firmware's NBP over TFTP."""
    nbp = NBP_NAMES[args.firmware]
    return [
        sys.executable,
        str(HERE / "dnsmasq-conf.py"),
        "--interface",
        bridge,
        "--server-ip",
        server,
        "--http-port",
        str(BTY_PORT),
        "--range-low",
        f"{args.subnet}.50",
        "--range-high",
        f"{args.subnet}.150",
        "--tftp-root",
        str(work / "tftproot"),
        "--state-dir",
        str(work),
        "--user",
        "root",
        "--output",
        str(work / "dnsmasq.conf"),
        "--bios-nbp" if args.firmware == "bios" else "--efi-nbp",
        nbp,
    ]


def dnsmasq_argv(conf: Path) -> list[str]:
    return [
        "dnsmasq",
        "--keep-in-foreground",
        "--log-facility=-",
        "--pid-file=",
        f"--conf-file={conf}",
    ]


def qemu_argv(args: argparse.Namespace, accel: str, tap: str, work: Path) -> list[str]:
    argv = ["qemu-system-x86_64", "-accel", accel, "-smp", "1", "-m", str(args.memory)]
    if args.firmware == "uefi":
        argv += [
            "-machine",
            "q35",
            "-drive",
            f"if=pflash,format=raw,unit=0,readonly=on,file={args.ovmf_code}",
            "-drive",
            f"if=pflash,format=raw,unit=1,file={work / 'ovmf-vars.fd'}",
        ]
        # No option ROM: OVMF's own PXE client fetches the iPXE under test.
        nic_rom = ",romfile="
    else:
        # SeaBIOS PXE-boots through the NIC's option ROM, as bty's test does.
        nic_rom = ""
    argv += [
        "-drive",
        f"file={work / 'client-blank.qcow2'},if=none,id=flashdrive,format=qcow2",
        "-device",
        f"virtio-blk-pci,drive=flashdrive,serial={DISK_SERIAL}",
        "-nographic",
        *qemu_vm.serial_console_args(work / "serial.log"),
        "-serial",
        "null",
        "-boot",
        "n",
        "-netdev",
        f"tap,id=pxe,ifname={tap},script=no,downscript=no",
        "-device",
        f"virtio-net-pci,netdev=pxe,mac={args.mac}{nic_rom},bootindex=1",
    ]
    return argv


def chain_markers(
    markers: list[qemu_vm.Marker], mac: str, accel: str, tcg_scale: float
) -> list[qemu_vm.Marker]:
    """The markers as the watch gets them: {mac} in bty's URL form (52-54-00-...),
    budgets scaled to the accelerator."""
    return [
        qemu_vm.Marker(
            m.key,
            m.needle.replace("{mac}", mac.replace(":", "-")),
            qemu_vm.scaled(m.timeout, accel, tcg_scale),
        )
        for m in markers
    ]


def write_bundle(work: Path, why: str, service_logs: dict[str, str]) -> Path:
    bundle = work / "bundle"
    bundle.mkdir(exist_ok=True)
    for name in BUNDLE_FILES:
        if (work / name).exists():
            shutil.copy(work / name, bundle / name)
    for name, source in service_logs.items():
        target = bundle / f"{name}.log"
        try:
            if re.match(r"https?://", source):
                with urllib.request.urlopen(source, timeout=10) as resp:
                    target.write_bytes(resp.read())
            else:
                shutil.copy(source, target)
        except OSError as exc:
            target.write_text(f"could not collect {source}: {exc}\n", encoding="utf-8")
    (bundle / "FAILURE.txt").write_text(why + "\n", encoding="utf-8")
    index = "\n".join(
        f"  {p.name} ({p.stat().st_size} bytes)" for p in sorted(bundle.iterdir())
    )
    print(
        f"chain-test.py: FAILED: {why}\ndebug bundle {bundle}:\n{index}",
        file=sys.stderr,
    )
    for name in ("markers.txt", "seeding.log"):
        if (bundle / name).exists():
            print(
                f"---- {name} ----\n{qemu_vm.read_log(bundle / name)}", file=sys.stderr
            )
    serial = bundle / "serial.log"
    if serial.exists():
        print(
            qemu_vm.tail_block("serial.log", qemu_vm.read_log(serial), 40),
            file=sys.stderr,
        )
    return bundle


# ---------- the run -----------------------------------------------------------


class ChainRun:
    """One chain test: its steps in order, and what they started (for cleanup)."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work: Path = args.workdir
        self.server = f"{args.subnet}.1"
        self.bty_web = f"http://{self.server}:{BTY_PORT}"
        self.withcache = f"http://{self.server}:{WITHCACHE_PORT}"
        self.bridge, self.tap = segment_names(os.getpid())
        self.procs: list[subprocess.Popen[bytes]] = []
        self.forwarders: list[Forwarder] = []
        self.lan_up = False

    def run(self) -> None:
        self.open_segment()
        self.serve_dhcp_tftp()
        self.forward_services()
        self.seed()
        accel = self.choose_accel()
        boots = 0
        while True:
            qemu = self.boot_client(accel)
            boots += 1
            try:
                self.watch_serial(qemu, accel)
                return
            except GuestPanic:
                if not boots_again(accel, boots):
                    raise
            self.set_aside_panicked_boot(qemu)

    def lan_argv(self, verb: str, *extra: str) -> list[str]:
        return [
            str(HERE / "lan.sh"),
            verb,
            "--bridge",
            self.bridge,
            "--tap",
            self.tap,
            *extra,
        ]

    def open_segment(self) -> None:
        reaped = reap_stale_segments()
        if reaped:
            log(f"removed segments of dead runs: {', '.join(reaped)}")
        # Set first: a half-made segment is torn down too (down ignores what is missing).
        self.lan_up = True
        subprocess.run(
            self.lan_argv("up", "--address", f"{self.server}/24"), check=True
        )
        log(f"segment {self.server}/24 on {self.bridge}, client tap {self.tap}")

    def serve_dhcp_tftp(self) -> None:
        nbp = NBP_NAMES[self.args.firmware]
        (self.work / "tftproot").mkdir()
        shutil.copy(self.args.nbp, self.work / "tftproot" / nbp)
        subprocess.run(
            dnsmasq_conf_argv(self.args, self.bridge, self.server, self.work),
            check=True,
        )
        self.procs.append(
            qemu_vm.start_logged(
                dnsmasq_argv(self.work / "dnsmasq.conf"), self.work / "dnsmasq.log"
            )
        )
        log(f"dnsmasq serving DHCP + TFTP ({nbp}) on {self.bridge} only")

    def forward_services(self) -> None:
        web, withcache = self.args.bty_web, self.args.withcache
        self.forwarders.append(Forwarder(self.server, BTY_PORT, web))
        self.forwarders.append(Forwarder(self.server, WITHCACHE_PORT, withcache))
        log(
            f"{self.bty_web} -> bty-web at {web[0]}:{web[1]}, {self.withcache} -> withcache at {withcache[0]}:{withcache[1]}"
        )
        wait_healthy(self.withcache, self.args.healthz_timeout)
        wait_healthy(self.bty_web, self.args.healthz_timeout)
        log("withcache and bty-web healthy")

    def seed(self) -> None:
        """bty's seeding sequence: login, the trio, the image and its .sha256,
        withcache's catalog entry, bty's refresh, the machine."""
        args = self.args
        seed = Seeder(
            self.bty_web,
            self.withcache,
            args.withcache_password,
            self.work / "seeding.log",
        )
        seed.login(args.bty_password)
        for name in trio_names(args.version):
            seed.put_boot_file(args.trio / name)
        image = self.work / IMAGE_NAME
        qemu_img_create(image, "1M")
        data = image.read_bytes()
        seed.put_boot(IMAGE_NAME, data)
        seed.put_boot(
            f"{IMAGE_NAME}.sha256",
            f"{hashlib.sha256(data).hexdigest()}  {IMAGE_NAME}\n".encode(),
            expect=(200, 201),
        )
        image_ref = seed.catalog_entry(
            f"{self.bty_web}/boot/{IMAGE_NAME}", args.healthz_timeout
        )
        seed.refresh()
        seed.machine(args.mac, image_ref)
        log(
            f"seeded: trio v{args.version}, {IMAGE_NAME} in withcache's catalog, machine {args.mac} bty-flash-always"
        )

    def choose_accel(self) -> str:
        args = self.args
        probe = [
            str(CI / "qemu-accel.sh"),
            "--ovmf-code",
            args.ovmf_code,
            "--ovmf-vars",
            args.ovmf_vars,
        ]
        accel, why = qemu_vm.choose_accel(args.accel, probe)
        if args.accel == "auto":
            (self.work / "accel.txt").write_text(why + "\n", encoding="utf-8")
        scale = qemu_vm.scaled(1.0, accel, args.tcg_scale)
        log(f"accelerator {accel}: marker budgets x{scale:g}")
        return accel

    def boot_client(self, accel: str) -> subprocess.Popen[bytes]:
        args = self.args
        qemu_img_create(self.work / "client-blank.qcow2", "8G")
        if args.firmware == "uefi":
            shutil.copy(args.ovmf_vars, self.work / "ovmf-vars.fd")
        qemu = qemu_vm.start_qemu(
            qemu_argv(args, accel, self.tap, self.work), self.work
        )
        self.procs.append(qemu)
        log(
            f"client VM started (firmware {args.firmware}, accel {accel}, mac {args.mac}); watching serial"
        )
        return qemu

    def watch_serial(self, qemu: subprocess.Popen[bytes], accel: str) -> None:
        markers = chain_markers(
            self.args.marker, self.args.mac, accel, self.args.tcg_scale
        )
        argv = qemu_vm.watch_argv(
            CI / "serial-watch.py",
            self.work / "serial.log",
            markers,
            qemu.pid,
            1,
            abort_on=[KERNEL_PANIC],
        )
        record = self.work / "markers.txt"
        with record.open("w", encoding="utf-8") as out:
            watch = subprocess.run(
                argv, stdout=out, stderr=subprocess.STDOUT, check=False
            )
        sys.stdout.write(record.read_text(encoding="utf-8"))
        if watch.returncode != 0:
            if KERNEL_PANIC in qemu_vm.read_log(self.work / "serial.log"):
                raise GuestPanic(
                    f"the client's kernel panicked (accel {accel}; see serial.log)"
                )
            raise ChainError("a serial marker did not appear in time (see markers.txt)")
        log(f"PXE chain complete: all {len(markers)} markers seen")

    def set_aside_panicked_boot(self, qemu: subprocess.Popen[bytes]) -> None:
        """Stop the panicked client; keep its serial log and markers for the
        bundle under their own names; the next boot starts from a blank disk."""
        qemu_vm.stop_processes([qemu])
        self.procs.remove(qemu)
        (self.work / "serial.log").rename(self.work / "serial-panicked.log")
        (self.work / "markers.txt").rename(self.work / "markers-panicked.txt")
        log(
            "the client's kernel panicked under TCG: booting it once more (once only); "
            "the first boot's serial log is serial-panicked.log"
        )

    def cleanup(self) -> None:
        for forwarder in self.forwarders:
            forwarder.close()
        qemu_vm.stop_processes(self.procs)
        if self.lan_up:
            subprocess.run(self.lan_argv("down"), check=False)


def qemu_img_create(path: Path, size: str) -> None:
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True
    )


def run(args: argparse.Namespace) -> int:
    chain = ChainRun(args)
    # A time bound (timeout --signal=TERM) or a cancelled run still gets its bundle.
    qemu_vm.raise_on_stop_signals(
        lambda signum: ChainError(f"stopped by signal {signal.Signals(signum).name}")
    )
    try:
        chain.run()
        return 0
    except (qemu_vm.VmError, subprocess.CalledProcessError, OSError) as exc:
        write_bundle(args.workdir, str(exc), dict(args.service_log))
        return 1
    finally:
        chain.cleanup()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chain-test.py",
        description="bty's PXE chain test: segment, dnsmasq, seeding, QEMU client, serial markers.",
        epilog="exit codes: 0 chain complete, 1 the chain failed (debug bundle written), 2 usage error",
    )
    parser.add_argument(
        "--firmware", required=True, help="bios (SeaBIOS) or uefi (OVMF)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        required=True,
        help="created, must not exist; every log and the bundle go here",
    )
    parser.add_argument(
        "--trio",
        type=Path,
        required=True,
        help="directory with bty-netboot-pc-x86_64-v<version>.{vmlinuz,initrd,squashfs}",
    )
    parser.add_argument(
        "--version", required=True, help="bty's version (names the trio)"
    )
    parser.add_argument(
        "--nbp",
        type=Path,
        required=True,
        help="what firmware gets over TFTP: undionly.kpxe (bios) or bty's ipxe.efi (uefi)",
    )
    parser.add_argument(
        "--bty-web",
        required=True,
        help="HOST:PORT where bty-web listens (forwarded from <server>:8080)",
    )
    parser.add_argument(
        "--withcache",
        required=True,
        help="HOST:PORT where withcache listens (forwarded from <server>:8081)",
    )
    parser.add_argument(
        "--bty-password-env",
        required=True,
        metavar="VAR",
        help="environment variable holding bty-web's admin password (never in argv)",
    )
    parser.add_argument(
        "--withcache-password-env",
        required=True,
        metavar="VAR",
        help="environment variable holding withcache's admin password",
    )
    parser.add_argument(
        "--marker",
        action="append",
        default=[],
        metavar="KEY=NEEDLE@SECONDS",
        help="serial marker, in order, with its budget under KVM (repeatable); {mac} in NEEDLE is the client MAC as bty's URLs write it (52-54-00-...)",
    )
    parser.add_argument(
        "--service-log",
        action="append",
        default=[],
        metavar="NAME=PATH|URL",
        help="a service's log for the debug bundle (repeatable)",
    )
    parser.add_argument(
        "--subnet",
        default="192.168.99",
        help="A.B.C of the /24 (default 192.168.99, as bty)",
    )
    parser.add_argument(
        "--mac",
        default="",
        help="client MAC (default: random 52:54:00:xx:xx:xx per run)",
    )
    parser.add_argument(
        "--accel", default="auto", help="auto (KVM if it works, else TCG), kvm or tcg"
    )
    parser.add_argument(
        "--tcg-scale",
        type=float,
        default=4.0,
        help="marker budgets are multiplied by this under TCG (default 4)",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=2048,
        help="client RAM in MiB (default 2048, as bty)",
    )
    parser.add_argument(
        "--healthz-timeout",
        type=float,
        default=180,
        help="seconds for /healthz and withcache's download (default 180)",
    )
    parser.add_argument("--ovmf-code", default=OVMF_CODE)
    parser.add_argument("--ovmf-vars", default=OVMF_VARS)
    return parser


def check_args(
    parser: argparse.ArgumentParser, args: argparse.Namespace, environ: dict[str, str]
) -> None:
    """Validate and complete the parsed arguments (passwords from environ, the
    MAC); a usage error exits 2 before anything is started."""
    if args.firmware not in NBP_NAMES:
        parser.error(f"--firmware must be bios or uefi (got {args.firmware!r})")
    try:
        args.bty_web = parse_target(args.bty_web, "--bty-web")
        args.withcache = parse_target(args.withcache, "--withcache")
        args.service_log = [parse_service_log(spec) for spec in args.service_log]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    try:
        args.marker = [qemu_vm.parse_marker(spec) for spec in args.marker]
    except ValueError as exc:
        parser.error(f"--marker: {exc}")
    if not args.marker:
        parser.error("give at least one --marker")
    args.bty_password = environ.get(args.bty_password_env, "")
    args.withcache_password = environ.get(args.withcache_password_env, "")
    for var, value in (
        (args.bty_password_env, args.bty_password),
        (args.withcache_password_env, args.withcache_password),
    ):
        if not value:
            parser.error(f"environment variable {var} (an admin password) is empty")
    try:
        if not re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", args.subnet):
            raise ValueError
        ipaddress.IPv4Address(f"{args.subnet}.1")
    except ValueError:
        parser.error(
            f"--subnet must be three octets like 192.168.99 (got {args.subnet!r})"
        )
    args.mac = args.mac or random_mac()
    if not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", args.mac):
        parser.error(f"--mac must be lower-case aa:bb:cc:dd:ee:ff (got {args.mac!r})")
    if args.accel not in ("auto", *qemu_vm.ACCELERATORS):
        parser.error(f"--accel must be auto, kvm or tcg (got {args.accel!r})")
    missing = [n for n in trio_names(args.version) if not (args.trio / n).is_file()]
    if missing:
        parser.error(
            f"--trio {args.trio} lacks {', '.join(missing)}: pass the netboot-pc build of bty {args.version}"
        )
    if not args.nbp.is_file():
        parser.error(f"--nbp {args.nbp} not found")
    if args.firmware == "uefi" and not (
        Path(args.ovmf_code).is_file() and Path(args.ovmf_vars).is_file()
    ):
        parser.error(
            f"OVMF not found ({args.ovmf_code}, {args.ovmf_vars}): install ovmf or pass --ovmf-code/--ovmf-vars"
        )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args, dict(os.environ))
    for tool in TOOLS:
        if shutil.which(tool) is None:
            parser.error(f"{tool} not found on PATH")
    try:
        args.workdir.mkdir(parents=True)
    except FileExistsError:
        parser.error(f"--workdir {args.workdir} exists: give a fresh directory")
    args.workdir = args.workdir.resolve()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
