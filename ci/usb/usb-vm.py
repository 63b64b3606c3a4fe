#!/usr/bin/env python3
"""Boot a staged USB disk under QEMU and run bty's in-VM checks over SSH.

The guest gets the disk as an IDE drive (SYSLINUX and Ventoy's GRUB read it
through BIOS INT13, as in bty's cijoe guests), user-mode networking with the
guest's port 22 forwarded to a loopback port, its serial console in a file,
and -no-reboot so a poweroff ends QEMU. Then, as bty's test-usb-grow and
test-usb-ventoy tasks do:

  grow    (serial `login:`), SSH up, diagnostics, bty's wizard on tty1
          (`image_root:` in /dev/vcs1), the grow (below), poweroff, QEMU exits
  ventoy  SSH up, diagnostics, the Ventoy contract (no BTY_IMAGES device,
          bty-images-discover active, /var/lib/bty/images a mountpoint),
          the wizard's local image and catalog entry, the wizard on tty1,
          poweroff, QEMU exits

The accelerator is KVM when /dev/kvm really runs a guest (ci/qemu-accel.sh
decides) and TCG otherwise; every timeout is multiplied by --tcg-scale under
TCG. Whatever happens, QEMU is stopped on exit (also on SIGTERM/SIGINT), and
the work directory holds a debug bundle: qemu-cmdline.txt, serial.log,
steps.log (each guest command and its output) and markers.json (accelerator,
each marker's time or null, the grow's path, warnings, the failure). On
failure the bundle's summary and the serial log's last lines are printed.

The grow: under KVM it is bty's boot-time path, bty-usb-grow.service as
bty's image starts it. bty's unit caps its start job at JobTimeoutSec=20s,
which a TCG boot misses; under TCG, when the unit did not finish at boot,
this program starts it after the wizard check, over SSH, with that cap
lifted by a runtime drop-in (/run/systemd/system, gone at poweroff; the
image is not changed) and the read-only BTY_IMAGES mount stopped around it,
as at boot the unit runs before that mount. markers.json's grow_path says
which ran ("boot" or "runtime"); the assertion after poweroff is the same.

Exit codes: 0 all checks passed, 1 a check failed or timed out, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

# qemu_vm.py is in ci/, which the job containers mount whole. ci/ is part of
# bty-ci's module source: no __pycache__ is left in it.
sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import qemu_vm  # noqa: E402

GUEST_USER = "root"
# bty's live image sets this password for SSH (hook 0800-bty-ssh-live); it is
# a public test credential, passed to sshpass through the environment.
GUEST_PASSWORD = "bty"

WIZARD_WAIT = (
    "systemctl is-active bty-on-tty1.service; "
    "i=0; while [ $i -lt {t} ]; do grep -q 'image_root:' /dev/vcs1 && break; i=$((i+1)); sleep 1; done; "
    "cat /run/bty.status 2>/dev/null || true; "
    "fold -w 80 /dev/vcs1 | sed 's/ *$//' | grep . | head -10; "
    "grep -q 'image_root:' /dev/vcs1"
)
# What systemd logs when bty-usb-grow.service's JobTimeoutSec expires.
GROW_JOB_TIMED_OUT = "Job bty-usb-grow.service/start timed out"
GROW_DIAGNOSTICS = [
    "lsblk -f /dev/sda",
    "ls -la /dev/disk/by-label/",
    "blkid",
    "systemctl status bty-usb-grow.service --no-pager",
    "journalctl -u bty-usb-grow.service --no-pager",
    "cat /run/bty-usb-grow.status",
    "parted -ms /dev/sda unit B print",
]
VENTOY_DIAGNOSTICS = [
    "systemctl is-system-running --wait",
    "ls -la /dev/disk/by-label/",
    "lsblk -f",
    "blkid",
    "dmsetup ls",
    "systemctl status bty-usb-grow.service bty-images-discover.service --no-pager",
    "journalctl -u bty-images-discover.service --no-pager",
    "ls -la /var/lib/bty/images/",
]
VENTOY_CONTRACT = (
    "systemctl is-system-running --wait || true; "
    "test ! -e /dev/disk/by-label/BTY_IMAGES; "
    "systemctl is-active bty-images-discover.service; "
    "mountpoint -q /var/lib/bty/images"
)
BTY_PYTHON = "/opt/bty/venv/bin/python3"
LOCAL_IMAGE_CHECK = (
    BTY_PYTHON + " -c 'import sys, bty.images, bty.tui._app as a; "
    "names = [r.name for r in a._list_local_images(bty.images.default_image_root())]; "
    'print(names); sys.exit(0 if "{image}" in names else 1)\''
)
CATALOG_CHECK = (
    BTY_PYTHON + " -c 'import sys, pathlib, bty.catalog as c; "
    'names = [e.name for e in c.load(pathlib.Path("/var/lib/bty/images/catalog.toml"))]; '
    'print(names); sys.exit(0 if "{entry}" in names else 1)\''
)
POWEROFF = "systemctl poweroff -i || poweroff -f"
# Whether bty's grow unit finished at boot (oneshot, RemainAfterExit=yes).
GROW_DONE_AT_BOOT = "systemctl is-active bty-usb-grow.service"
# bty's grow unit started at run time under TCG: its 20 s job cap lifted by a
# runtime drop-in, BTY_IMAGES unmounted around it (at boot it runs before
# var-lib-bty-images.mount); its status file says what it did.
GROW_DROP_IN = "/run/systemd/system/bty-usb-grow.service.d/50-bty-ci-tcg.conf"
GROW_AT_RUNTIME = (
    "set -e; "
    f"mkdir -p {GROW_DROP_IN.rsplit('/', 1)[0]}; "
    f"printf '[Unit]\\nJobTimeoutSec=infinity\\n' > {GROW_DROP_IN}; "
    "systemctl daemon-reload; "
    "systemctl stop var-lib-bty-images.mount; "
    "systemctl reset-failed bty-usb-grow.service || true; "
    "systemctl start bty-usb-grow.service; "
    "systemctl start var-lib-bty-images.mount; "
    "cat /run/bty-usb-grow.status; "
    "grep -q 'grown to fill' /run/bty-usb-grow.status"
)


def guest_checks(
    args: argparse.Namespace, wizard_seconds: int
) -> list[tuple[str, str]]:
    """The scenario's assertions in the guest, in order: (marker, command)."""
    wizard = WIZARD_WAIT.format(t=wizard_seconds)
    if args.scenario == "grow":
        return [("wizard", wizard)]
    return [
        ("ventoy-contract", VENTOY_CONTRACT),
        ("local-image", LOCAL_IMAGE_CHECK.format(image=args.local_image)),
        ("catalog", CATALOG_CHECK.format(entry=args.catalog_entry)),
        ("wizard", wizard),
    ]


class CheckFailed(qemu_vm.VmError):
    """A marker was not reached."""


class Run:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work: Path = args.workdir
        self.start = time.monotonic()
        self.markers: dict[str, float | None] = {}
        self.grow_path = ""
        self.warnings: list[str] = []
        self.accel = ""
        self.accel_reason = ""
        self.port = 0
        self.qemu: subprocess.Popen[bytes] | None = None
        self.steps_log = self.work / "steps.log"
        self.serial = self.work / "serial.log"

    # -- helpers ---------------------------------------------------------
    def elapsed(self) -> float:
        return round(time.monotonic() - self.start, 1)

    def seen(self, key: str) -> None:
        self.markers[key] = self.elapsed()
        print(f"usb-vm.py: {key} after {self.markers[key]}s", flush=True)

    def timeout(self, key: str) -> float:
        return qemu_vm.scaled(self.args.timeouts[key], self.accel, self.args.tcg_scale)

    def qemu_alive(self) -> bool:
        return self.qemu is not None and self.qemu.poll() is None

    # -- phases ----------------------------------------------------------
    def choose_accel(self) -> None:
        self.accel, self.accel_reason = qemu_vm.choose_accel(
            self.args.accel, ["bash", str(self.args.accel_probe)]
        )
        print(f"usb-vm.py: accelerator {self.accel} ({self.accel_reason})", flush=True)

    def choose_port(self) -> None:
        if self.args.ssh_port:
            self.port = self.args.ssh_port
            return
        # A free loopback port now; QEMU binds it a moment later. Parallel
        # runs on one host each get their own (in a container the network
        # namespace is the run's own anyway).
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    def qemu_argv(self) -> list[str]:
        cpu = ["-cpu", "host"] if self.accel == "kvm" else ["-cpu", "max"]
        return [
            self.args.qemu,
            "-machine",
            "pc",
            *cpu,
            "-accel",
            self.accel,
            "-smp",
            "2",
            "-m",
            self.args.memory,
            "-display",
            "none",
            *qemu_vm.serial_console_args(self.serial),
            "-netdev",
            f"user,id=n1,ipv6=off,hostfwd=tcp:127.0.0.1:{self.port}-:22",
            "-device",
            "virtio-net-pci,netdev=n1",
            "-drive",
            f"file={self.args.disk},format=raw,if=ide",
            "-no-reboot",
        ]

    def boot(self) -> None:
        self.qemu = qemu_vm.start_qemu(self.qemu_argv(), self.work)
        self.seen("qemu-started")

    def wait_serial(self, key: str, needle: str) -> None:
        assert self.qemu is not None
        marker = qemu_vm.Marker(key, needle, self.timeout(key))
        r = subprocess.run(
            qemu_vm.watch_argv(
                self.args.serial_watch, self.serial, [marker], self.qemu.pid
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            # serial-watch.py's first line on stderr names the missing marker and why.
            why = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[0]
            raise CheckFailed(f"serial marker {key} ({needle!r}) not seen: {why}")
        self.seen(key)

    def ssh_argv(self, command: str) -> list[str]:
        return [
            "sshpass",
            "-e",
            "ssh",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-p",
            str(self.port),
            f"{GUEST_USER}@127.0.0.1",
            command,
        ]

    def guest(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, SSHPASS=GUEST_PASSWORD)
        try:
            r = subprocess.run(
                self.ssh_argv(command),
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            r = subprocess.CompletedProcess(
                exc.cmd, 124, str(exc.stdout or ""), f"timed out after {timeout:g}s"
            )
        with self.steps_log.open("a") as log:
            log.write(
                f"[{self.elapsed()}s] $ {command}\n(exit {r.returncode})\n{r.stdout}{r.stderr}\n"
            )
        return r

    def wait_ssh(self) -> None:
        deadline = time.monotonic() + self.timeout("ssh")
        while time.monotonic() < deadline:
            if not self.qemu_alive():
                raise CheckFailed("QEMU exited before SSH came up")
            if self.guest("true", 30).returncode == 0:
                self.seen("ssh")
                return
            time.sleep(3)
        raise CheckFailed(
            f"SSH on 127.0.0.1:{self.port} not up within {self.timeout('ssh'):g}s"
        )

    def check(self, key: str, command: str) -> None:
        r = self.guest(command, self.timeout(key) + 30)
        if r.returncode != 0:
            raise CheckFailed(
                f"{key}: exit {r.returncode}: {(r.stdout + r.stderr).strip()[-800:]}"
            )
        self.seen(key)

    def diagnostics(self, commands: list[str]) -> str:
        """Run bty's diagnostic commands (all tolerant); their joined output."""
        return "".join(
            r.stdout + r.stderr
            for r in (self.guest(f"{command} || true", 60) for command in commands)
        )

    def note_grow_timeout(self, diagnostics: str) -> None:
        """Say so when bty's own grow unit gave up before the stick was grown.

        bty's bty-usb-grow.service caps its start job (device wait included)
        at JobTimeoutSec=20s; a slow boot (TCG) misses that cap, and the
        assertion after poweroff will then find BTY_IMAGES un-grown.
        """
        if GROW_JOB_TIMED_OUT not in diagnostics:
            return
        why = (
            "a TCG boot is too slow for it; it is started again after the wizard check, the cap lifted"
            if self.accel == "tcg"
            else "the guest reached it too late"
        )
        warning = (
            "bty-usb-grow.service's start job timed out in the guest "
            f"(bty's unit caps it at JobTimeoutSec=20s); {why}"
        )
        self.warnings.append(warning)
        print(f"usb-vm.py: WARNING: {warning}", flush=True)

    def grow(self) -> None:
        """bty's boot-time grow under KVM; under TCG, started now if it did not finish at boot."""
        if self.accel == "kvm" or self.guest(GROW_DONE_AT_BOOT, 30).returncode == 0:
            self.grow_path = "boot"
            return
        self.grow_path = "runtime"
        print(
            "usb-vm.py: TCG: starting bty-usb-grow.service now, its 20 s job cap lifted for this boot only",
            flush=True,
        )
        self.check("grown", GROW_AT_RUNTIME)

    def poweroff(self) -> None:
        self.guest(POWEROFF, 30)
        deadline = time.monotonic() + self.timeout("poweroff")
        while time.monotonic() < deadline:
            if not self.qemu_alive():
                self.seen("poweroff")
                return
            time.sleep(1)
        raise CheckFailed(
            f"QEMU still running {self.timeout('poweroff'):g}s after poweroff"
        )

    def scenario(self) -> None:
        if self.args.scenario == "grow":
            self.wait_serial("login", "login:")
        self.wait_ssh()
        if self.args.scenario == "grow":
            self.note_grow_timeout(self.diagnostics(GROW_DIAGNOSTICS))
        else:
            self.diagnostics(VENTOY_DIAGNOSTICS)
        for key, command in guest_checks(self.args, int(self.timeout("wizard"))):
            self.check(key, command)
        if self.args.scenario == "grow":
            self.grow()
        self.poweroff()

    # -- teardown --------------------------------------------------------
    def stop_qemu(self) -> None:
        if self.qemu is not None:
            qemu_vm.stop_processes([self.qemu])

    def bundle(self, failure: str | None) -> None:
        data = {
            "scenario": self.args.scenario,
            "accelerator": self.accel,
            "accelerator_reason": self.accel_reason,
            "ssh_port": self.port,
            "markers": self.markers,
            "grow_path": self.grow_path or None,
            "seconds": self.elapsed(),
            "warnings": self.warnings,
            "failure": failure,
        }
        (self.work / "markers.json").write_text(json.dumps(data, indent=2) + "\n")
        if failure is None:
            path = f", grown at {self.grow_path}" if self.grow_path else ""
            print(
                f"usb-vm.py: {self.args.scenario} passed in {self.elapsed()}s ({self.accel}{path})"
            )
            return
        cmdline = qemu_vm.read_log(self.work / "qemu-cmdline.txt") or "(not started)\n"
        print(
            f"usb-vm.py: FAILED: {failure}\n"
            f"debug bundle in {self.work}: markers.json, qemu-cmdline.txt, serial.log, steps.log, qemu.log\n"
            f"accelerator: {self.accel} ({self.accel_reason})\n"
            f"markers: {json.dumps(self.markers)}\n"
            f"qemu: {cmdline}"
            + qemu_vm.tail_block("steps.log", qemu_vm.read_log(self.steps_log), 40)
            + "\n"
            + qemu_vm.tail_block(
                "serial.log", qemu_vm.read_log(self.serial), self.args.tail
            ),
            file=sys.stderr,
        )


def parse_timeouts(specs: list[str]) -> dict[str, float]:
    # bty's budgets under KVM (cijoe task and config): serial login 180 s,
    # SSH 240 s (usb-grow; usb-ventoy waits 480 s), wizard 60 s, poweroff 60 s.
    timeouts = {
        "login": 180.0,
        "ssh": 240.0,
        "wizard": 60.0,
        # bty's unit: TimeoutStartSec=120s (under TCG only, where it runs late).
        "grown": 120.0,
        "poweroff": 60.0,
        "ventoy-contract": 120.0,
        "local-image": 60.0,
        "catalog": 60.0,
    }
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or key not in timeouts:
            raise argparse.ArgumentTypeError(
                f"bad --timeout {spec!r}: use one of {', '.join(timeouts)}=SECONDS"
            )
        try:
            timeouts[key] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"bad --timeout {spec!r}: SECONDS must be a number"
            ) from None
    return timeouts


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(
        prog="usb-vm.py",
        description="Boot a staged USB disk under QEMU and run bty's in-VM USB checks over SSH.",
        epilog="exit codes: 0 passed, 1 a check failed or timed out, 2 usage error",
    )
    p.add_argument("--scenario", choices=["grow", "ventoy"], required=True)
    p.add_argument(
        "--disk",
        type=Path,
        help="the staged raw disk image (required unless --list-checks)",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        help="where the debug bundle goes (required unless --list-checks)",
    )
    p.add_argument(
        "--list-checks",
        action="store_true",
        help="print the scenario's guest assertions (marker TAB command) and exit",
    )
    p.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
    p.add_argument("--accel-probe", type=Path, default=here.parent / "qemu-accel.sh")
    p.add_argument("--serial-watch", type=Path, default=here.parent / "serial-watch.py")
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--memory", default="1G", help="guest memory (bty: 1G)")
    p.add_argument(
        "--ssh-port",
        type=int,
        default=0,
        help="loopback port forwarded to the guest's 22 (0: a free one)",
    )
    p.add_argument(
        "--timeout",
        action="append",
        default=[],
        metavar="KEY=SECONDS",
        help="budget under KVM; repeatable (login, ssh, wizard, grown, poweroff, ventoy-contract, local-image, catalog)",
    )
    p.add_argument(
        "--tcg-scale",
        type=float,
        default=3.0,
        help="timeouts are multiplied by this under TCG (default 3)",
    )
    p.add_argument(
        "--local-image",
        default="demo-bty-ventoy-test.img.gz",
        help="ventoy: image the wizard must list",
    )
    p.add_argument(
        "--catalog-entry",
        default="ventoy-test-fedora-sysdev",
        help="ventoy: catalog entry the wizard must list",
    )
    p.add_argument(
        "--tail", type=int, default=60, help="serial lines printed on failure"
    )
    args = p.parse_args(argv)
    try:
        args.timeouts = parse_timeouts(args.timeout)
    except argparse.ArgumentTypeError as exc:
        p.error(str(exc))
    if args.tcg_scale < 1:
        p.error("--tcg-scale must be at least 1")
    if args.list_checks:
        for key, command in guest_checks(args, int(args.timeouts["wizard"])):
            print(f"{key}\t{command}")
        return 0
    if args.disk is None or args.workdir is None:
        p.error("--disk and --workdir are required to boot")
    if not args.disk.is_file():
        p.error(f"no disk image at {args.disk}: run the stage program first")
    args.workdir.mkdir(parents=True, exist_ok=True)

    run = Run(args)
    qemu_vm.raise_on_stop_signals(lambda signum: SystemExit(128 + signum))
    failure: str | None = None
    try:
        run.choose_accel()
        run.choose_port()
        run.boot()
        run.scenario()
    except qemu_vm.VmError as exc:
        failure = str(exc)
    except SystemExit as exc:
        failure = f"stopped by signal (exit {exc.code})"
        raise
    finally:
        run.stop_qemu()
        run.bundle(failure)
    return 0 if failure is None else 1


if __name__ == "__main__":
    sys.exit(main())
