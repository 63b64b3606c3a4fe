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
import ctypes
import hashlib
import http.cookies
import ipaddress
import json
import os
import random
import re
import shlex
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
from email.message import Message
from pathlib import Path
from typing import BinaryIO

HERE = Path(__file__).resolve().parent
CI = HERE.parent
TRIO_SUFFIXES = ("vmlinuz", "initrd", "squashfs")
BTY_PORT = 8080
WITHCACHE_PORT = 8081
IMAGE_NAME = "test.qcow2"
CATALOG_ENTRY = "pxe-test-image"
DISK_SERIAL = "BTYTEST"
# Interface names: prefix + owner pid + random suffix (15 characters at most),
# so a reaper can tell a dead run's segment.
BRIDGE_PREFIX = "bpxb"
TAP_PREFIX = "bpxt"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
PR_SET_PDEATHSIG = 1


class ChainError(Exception):
    """The chain failed at a named step."""


def log(msg: str) -> None:
    print(f"chain-test.py: [{time.monotonic() - START:6.1f}s] {msg}", flush=True)


START = time.monotonic()


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when this process dies (even by SIGKILL)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def random_mac() -> str:
    # QEMU's locally administered prefix; the rest random per run.
    return "52:54:00:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))


def segment_names(pid: int) -> tuple[str, str]:
    """Bridge and tap names: prefix, owner pid (for the reaper), random suffix
    (pids repeat across PID namespaces, e.g. a driver that is a namespace's init)."""
    suffix = f"{random.randrange(16**3):03x}"
    return f"{BRIDGE_PREFIX}{pid}x{suffix}", f"{TAP_PREFIX}{pid}x{suffix}"


def reap_stale_segments() -> list[str]:
    """Delete bridges/taps of this program whose owning pid is gone."""
    out = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
    ).stdout
    reaped = []
    for name, pid in re.findall(
        rf"^\d+: ((?:{BRIDGE_PREFIX}|{TAP_PREFIX})(\d+)x[0-9a-f]+)[@:]", out, re.M
    ):
        if not Path(f"/proc/{pid}").exists():
            subprocess.run(
                ["ip", "link", "del", name], capture_output=True, check=False
            )
            reaped.append(name)
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


# ---------- the run -----------------------------------------------------------


def parse_target(spec: str, flag: str) -> tuple[str, int]:
    m = re.fullmatch(r"([A-Za-z0-9_.-]+):(\d{1,5})", spec)
    if not m:
        raise argparse.ArgumentTypeError(f"{flag} must be HOST:PORT (got {spec!r})")
    return m.group(1), int(m.group(2))


def qemu_argv(args, accel: str, tap: str, work: Path) -> list[str]:
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
        "-monitor",
        "none",
        "-serial",
        f"file:{work / 'serial.log'}",
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


def write_bundle(work: Path, why: str, service_logs: dict[str, str]) -> Path:
    bundle = work / "bundle"
    bundle.mkdir(exist_ok=True)
    for name in (
        "serial.log",
        "dnsmasq.log",
        "dnsmasq.conf",
        "qemu.log",
        "qemu-cmdline.txt",
        "seeding.log",
        "markers.txt",
        "accel.txt",
    ):
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
                f"---- {name} ----\n{(bundle / name).read_text(encoding='utf-8', errors='replace')}",
                file=sys.stderr,
            )
    serial = bundle / "serial.log"
    if serial.exists():
        tail = serial.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        print(
            "---- last 40 lines of serial.log ----\n" + "\n".join(tail), file=sys.stderr
        )
    return bundle


def run(args) -> int:
    work = args.workdir
    subnet = args.subnet
    server = f"{subnet}.1"
    version = args.version
    trio = {
        s: args.trio / f"bty-netboot-pc-x86_64-v{version}.{s}" for s in TRIO_SUFFIXES
    }
    pid = os.getpid()
    bridge, tap = segment_names(pid)
    procs: list[subprocess.Popen] = []
    forwarders: list[Forwarder] = []
    lan_up = False

    def cleanup() -> None:
        for f in forwarders:
            f.close()
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if lan_up:
            subprocess.run(
                [str(HERE / "lan.sh"), "down", "--bridge", bridge, "--tap", tap],
                check=False,
            )

    def on_signal(signum, _frame):
        # A time bound (timeout --signal=TERM) or a cancelled run still gets its bundle.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise ChainError(f"stopped by signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        reaped = reap_stale_segments()
        if reaped:
            log(f"removed segments of dead runs: {', '.join(reaped)}")
        lan_up = True
        subprocess.run(
            [
                str(HERE / "lan.sh"),
                "up",
                "--bridge",
                bridge,
                "--tap",
                tap,
                "--address",
                f"{server}/24",
            ],
            check=True,
        )
        log(f"segment {server}/24 on {bridge}, client tap {tap}")

        tftp = work / "tftproot"
        tftp.mkdir()
        nbp_name = {"bios": "undionly.kpxe", "uefi": "ipxe.efi"}[args.firmware]
        shutil.copy(args.nbp, tftp / nbp_name)
        conf = [
            sys.executable,
            str(HERE / "dnsmasq-conf.py"),
            "--interface",
            bridge,
            "--server-ip",
            server,
            "--http-port",
            str(BTY_PORT),
            "--range-low",
            f"{subnet}.50",
            "--range-high",
            f"{subnet}.150",
            "--tftp-root",
            str(tftp),
            "--state-dir",
            str(work),
            "--user",
            "root",
            "--output",
            str(work / "dnsmasq.conf"),
        ]
        conf += (
            ["--bios-nbp", "undionly.kpxe"]
            if args.firmware == "bios"
            else ["--efi-nbp", "ipxe.efi"]
        )
        subprocess.run(conf, check=True)
        with (work / "dnsmasq.log").open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [
                        "dnsmasq",
                        "--keep-in-foreground",
                        "--log-facility=-",
                        "--pid-file=",
                        f"--conf-file={work / 'dnsmasq.conf'}",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    preexec_fn=die_with_parent,
                )
            )
        log(f"dnsmasq serving DHCP + TFTP ({nbp_name}) on {bridge} only")

        forwarders.append(Forwarder(server, BTY_PORT, args.bty_web))
        forwarders.append(Forwarder(server, WITHCACHE_PORT, args.withcache))
        base, wc_base = (
            f"http://{server}:{BTY_PORT}",
            f"http://{server}:{WITHCACHE_PORT}",
        )
        log(
            f"{base} -> bty-web at {args.bty_web[0]}:{args.bty_web[1]}, {wc_base} -> withcache at {args.withcache[0]}:{args.withcache[1]}"
        )

        wait_healthy(wc_base, args.healthz_timeout)
        wait_healthy(base, args.healthz_timeout)
        log("withcache and bty-web healthy")

        seed = Seeder(base, wc_base, args.withcache_password, work / "seeding.log")
        seed.login(args.bty_password)
        for suffix in TRIO_SUFFIXES:
            seed.put_boot_file(trio[suffix])
        image = work / IMAGE_NAME
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", str(image), "1M"], check=True
        )
        data = image.read_bytes()
        seed.put_boot(IMAGE_NAME, data)
        seed.put_boot(
            f"{IMAGE_NAME}.sha256",
            f"{hashlib.sha256(data).hexdigest()}  {IMAGE_NAME}\n".encode(),
            expect=(200, 201),
        )
        image_ref = seed.catalog_entry(
            f"{base}/boot/{IMAGE_NAME}", args.healthz_timeout
        )
        seed.refresh()
        seed.machine(args.mac, image_ref)
        log(
            f"seeded: trio v{version}, {IMAGE_NAME} in withcache's catalog, machine {args.mac} bty-flash-always"
        )

        accel = args.accel
        if accel == "auto":
            probe = subprocess.run(
                [
                    str(CI / "qemu-accel.sh"),
                    "--ovmf-code",
                    args.ovmf_code,
                    "--ovmf-vars",
                    args.ovmf_vars,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            accel = probe.stdout.strip()
            (work / "accel.txt").write_text(probe.stderr, encoding="utf-8")
        scale = args.tcg_scale if accel == "tcg" else 1.0
        log(f"accelerator {accel}: marker budgets x{scale:g}")

        subprocess.run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                str(work / "client-blank.qcow2"),
                "8G",
            ],
            check=True,
        )
        if args.firmware == "uefi":
            shutil.copy(args.ovmf_vars, work / "ovmf-vars.fd")
        argv = qemu_argv(args, accel, tap, work)
        (work / "qemu-cmdline.txt").write_text(
            shlex.join(argv) + "\n", encoding="utf-8"
        )
        with (work / "qemu.log").open("wb") as out:
            qemu = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        procs.append(qemu)
        log(
            f"client VM started (firmware {args.firmware}, accel {accel}, mac {args.mac}); watching serial"
        )

        markers = []
        for key, needle, seconds in args.marker:
            needle = needle.replace("{mac}", args.mac.replace(":", "-"))
            markers += ["--marker", f"{key}={needle}@{seconds * scale:g}"]
        with (work / "markers.txt").open("w", encoding="utf-8") as out:
            watch = subprocess.run(
                [
                    sys.executable,
                    str(CI / "serial-watch.py"),
                    "--log",
                    str(work / "serial.log"),
                    "--pid",
                    str(qemu.pid),
                    "--interval",
                    "1",
                    *markers,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        sys.stdout.write((work / "markers.txt").read_text(encoding="utf-8"))
        if watch.returncode != 0:
            raise ChainError("a serial marker did not appear in time (see markers.txt)")
        log(f"PXE chain complete: all {len(args.marker)} markers seen")
        return 0
    except (ChainError, subprocess.CalledProcessError, OSError) as exc:
        write_bundle(work, str(exc), dict(args.service_log))
        return 1
    finally:
        cleanup()


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)

    if args.firmware not in ("bios", "uefi"):
        parser.error(f"--firmware must be bios or uefi (got {args.firmware!r})")
    try:
        args.bty_web = parse_target(args.bty_web, "--bty-web")
        args.withcache = parse_target(args.withcache, "--withcache")
        markers = []
        for spec in args.marker:
            m = re.fullmatch(r"([A-Za-z0-9_.-]+)=(.+)@(\d+(?:\.\d+)?)", spec, re.DOTALL)
            if not m:
                raise argparse.ArgumentTypeError(
                    f"bad --marker {spec!r}: use KEY=NEEDLE@SECONDS"
                )
            markers.append((m.group(1), m.group(2), float(m.group(3))))
        args.marker = markers
        logs = []
        for spec in args.service_log:
            name, sep, source = spec.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise argparse.ArgumentTypeError(
                    f"bad --service-log {spec!r}: use NAME=PATH or NAME=URL"
                )
            logs.append((name, source))
        args.service_log = logs
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    if not args.marker:
        parser.error("give at least one --marker")
    args.bty_password = os.environ.get(args.bty_password_env, "")
    args.withcache_password = os.environ.get(args.withcache_password_env, "")
    for var, value in (
        (args.bty_password_env, args.bty_password),
        (args.withcache_password_env, args.withcache_password),
    ):
        if not value:
            parser.error(f"environment variable {var} (an admin password) is empty")
    if not re.fullmatch(r"\d{1,3}\.\d{1,3}\.\d{1,3}", args.subnet):
        parser.error(
            f"--subnet must be three octets like 192.168.99 (got {args.subnet!r})"
        )
    ipaddress.IPv4Address(f"{args.subnet}.1")
    args.mac = args.mac or random_mac()
    if not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", args.mac):
        parser.error(f"--mac must be lower-case aa:bb:cc:dd:ee:ff (got {args.mac!r})")
    if args.accel not in ("auto", "kvm", "tcg"):
        parser.error(f"--accel must be auto, kvm or tcg (got {args.accel!r})")
    missing = [
        f"bty-netboot-pc-x86_64-v{args.version}.{s}"
        for s in TRIO_SUFFIXES
        if not (args.trio / f"bty-netboot-pc-x86_64-v{args.version}.{s}").is_file()
    ]
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
    for tool in ("ip", "dnsmasq", "qemu-system-x86_64", "qemu-img"):
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
