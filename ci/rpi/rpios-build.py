#!/usr/bin/env python3
"""Build bty's usbboot-rpi flasher image from a Raspberry Pi OS Lite image.

bty's job (`make build VARIANT=usbboot-rpi`: cijoe/scripts/rpios_image_build.py)
step by step, outside cijoe, on an image it is given (bty downloads its
unpinned `raspios_lite_arm64_latest`; fetching is the caller's):

   1. decompress (`xz -dkc`) or copy the image to the work path; grow the
      file by 3G (`truncate -s +3G`);
   2. `losetup -fP --show`; root = the largest ext* partition and boot =
      the first vfat one from `lsblk -J -b -o NAME,FSTYPE,SIZE,TYPE` (ten
      tries); `growpart`, `partprobe`, `e2fsck -p -f`, `resize2fs`;
   3. mount root, boot at <root>/boot/firmware, bind /dev /proc /sys /run,
      a fresh devpts, bind /etc/resolv.conf;
   4. in the chroot: `apt-get update && apt-get install -y
      --no-install-recommends` bty's package list;
   5. `cp -a` bty's includes.chroot tree and bty's wheel (to /opt/bty, where
      the 0500-bty-install hook looks for it), chmod /usr/local/sbin/bty-*,
      stamp __BTY_VERSION__ under /etc;
   6. bty's hooks 0500 0700 0800 0900, verbatim, in the chroot;
   7. bty's Raspberry Pi tweaks (mask userconfig and cancel-rename, enable
      getty@tty1, bty-ssh-regen.service, var-lib-bty-images.mount out of the
      boot) and identity strip (empty machine-id, apt lists, caches);
   8. unmount in reverse order, detach the loop device;
   9. `gzip -9 -c` -> bty-usbboot-rpi-arm64-v<version>.img.gz, `sha256sum`
      -> .img.gz.sha256, and a build manifest (.build-manifest.txt: the base
      image's name and sha256, Debian packages, bty's pip freeze).

bty's package list, hook list and release name are read from bty's own
script in the checkout (cijoe/scripts/rpios_image_build.py); the shell
snippets bty runs in the chroot are copied here verbatim and checked against
that script before anything is built, so a bty release that changes them
stops this build instead of drifting silently.

Departures, all build-only (nothing of them stays in the image):
  * --debian-mirror replaces the image's apt sources for the apt-get step
    only (Debian's suites of the image's release from that mirror), and puts
    them back byte for byte right after;
  * a policy-rc.d refuses service starts in the chroot (bty's GitHub runner
    has systemd on the host, whose /run it binds, so `systemctl` declines
    to start anything; a container has no systemd and invoke-rc.d would
    start daemons that keep the mounts busy);
  * --ca-cert / --pip-index reach pip (bty's 0500 hook) through the
    environment (PIP_CERT, PIP_INDEX_URL), and apt through -o options;
  * the binds are made slaves, so the fresh devpts does not propagate back
    over the host's /dev/pts.
Differences a container or kernel forces (each said in the log):
  * partitions whose FSTYPE lsblk leaves empty (it reads udev's database,
    and a container has no udev) are probed with `blkid -p`;
  * without vfat in the kernel the boot partition is mounted through FUSE
    (fusefat -o rw+), recorded in the build manifest;
  * a failing growpart stops the build (bty goes on and fails later, or
    ships an image without the headroom).
The host must run arm64 binaries: natively, or through a qemu-user binfmt
handler with the F flag (checked first, by running the image's /bin/true).

Run as root, in a privileged container or on a host. Loop devices go
through ci/loop-shims (put first on PATH here, as ci/flash-env.sh does): a
container's /dev gets the loop and partition nodes no udev makes there, and
kernels that do not scan a loop device's partition table get its partitions
through BLKPG.

Exit codes: 0 built, 1 a build step failed, 2 usage or input error,
3 this host cannot build it (not root, a tool or arm64 execution missing),
124 a chroot step hit --timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

PROG = "rpios-build.py"
HERE = Path(__file__).resolve().parent
# bty's script in its checkout, and the build config bty gives it.
BTY_SCRIPT = Path("cijoe/scripts/rpios_image_build.py")
BTY_LIVE_CONFIG = Path("bty-media/live-build/config")
GROW = "3G"  # cijoe/configs/usbboot-rpi.toml: grow
PARTITION_TRIES = 10  # bty's _partitions(attempts=10)
WORK_IMAGE = "bty-usbboot-rpi-arm64.img"  # bty's disk.path basename
VARIANT = "usbboot-rpi"
WHEEL_RE = re.compile(r"^bty_lab-(?P<version>[^-]+)-py3-none-any\.whl$")
EM_AARCH64 = 183
ELF_MACHINES = {3: "i386", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64"}
# Components of Raspberry Pi OS's Debian lines (its sources.list).
DEBIAN_COMPONENTS = "main contrib non-free non-free-firmware"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# Build-only files in the chroot, removed before unmounting.
OVERRIDE_LIST = "etc/apt/sources.list.d/bty-ci-override.list"
APT_STASH = "etc/apt/bty-ci-stash"
POLICY_RC_D = "usr/sbin/policy-rc.d"
POLICY_STASH = "usr/sbin/policy-rc.d.bty-ci-orig"
# In /run, the host's bind: never in the image; per process, as builds may share a host.
CA_IN_CHROOT = f"/run/bty-ci-extra-ca-{os.getpid()}.crt"
RESOLV_STASH = "etc/resolv.conf.bty-ci-orig"
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Tool -> Debian package, for the error naming what to install.
TOOLS = {
    "losetup": "mount",
    "lsblk": "util-linux",
    "blkid": "util-linux",
    "growpart": "cloud-guest-utils",
    "sfdisk": "fdisk",
    "partx": "util-linux",
    "partprobe": "parted",
    "e2fsck": "e2fsprogs",
    "resize2fs": "e2fsprogs",
    "mount": "mount",
    "umount": "mount",
    "chroot": "coreutils",
    "gzip": "gzip",
    "sha256sum": "coreutils",
    "dpkg-query": "dpkg",
    "xz": "xz-utils",
}

# bty's chroot snippets, verbatim (rpios_image_build.py _provision), one
# tuple item per string literal there: drift() looks each one up in bty's
# script.
APT_INSTALL = (
    "apt-get update && ",
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ",
)
RPI_TWEAKS = (
    "systemctl mask userconfig.service 2>/dev/null || true; ",
    "systemctl mask cancel-rename.service 2>/dev/null || true; ",
    "systemctl disable userconfig.service 2>/dev/null || true; ",
    "systemctl enable getty@tty1.service 2>/dev/null || true; ",
    "true",
)
NO_BTY_IMAGES = (
    "systemctl disable var-lib-bty-images.mount 2>/dev/null || true; ",
    "rm -f /etc/systemd/system/multi-user.target.wants/var-lib-bty-images.mount; ",
    "true",
)
STRIP = (
    ": > /etc/machine-id; ",
    "rm -f /var/lib/dbus/machine-id; ",
    "apt-get clean; ",
    "rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/* /root/.cache /home/*/.cache",
)
SSH_REGEN_UNIT = (
    "[Unit]\\n",
    "Description=Regenerate SSH host keys if missing (bty)\\n",
    "ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\\n",
    "Before=ssh.service\\n",
    "\\n",
    "[Service]\\n",
    "Type=oneshot\\n",
    "ExecStart=/usr/bin/ssh-keygen -A\\n",
    "RemainAfterExit=yes\\n",
    "\\n",
    "[Install]\\n",
    "WantedBy=multi-user.target\\n",
)
SSH_REGEN_PATH = "etc/systemd/system/bty-ssh-regen.service"
SSH_REGEN_WANTS = "etc/systemd/system/multi-user.target.wants/bty-ssh-regen.service"
POLICY_RC_D_TEXT = (
    "#!/bin/sh\n# bty-ci build only: no service starts in the build chroot\nexit 101\n"
)


class InputError(Exception):
    """Bad arguments or inputs (exit 2)."""


class EnvironmentUnfit(Exception):
    """This host cannot run the build (exit 3)."""


class BuildFailed(Exception):
    """A build step failed (exit 1)."""


class StepTimeout(Exception):
    """A chroot step hit the time bound (exit 124)."""


class Stopped(Exception):
    """SIGTERM or SIGINT: unwind the mounts and loop device, then exit."""


# --------------------------------------------------------------------------
# pure logic
# --------------------------------------------------------------------------


def joined(parts: Sequence[str]) -> str:
    """A snippet as bty's adjacent string literals concatenate it."""
    return "".join(parts).replace("\\n", "\n")


def drift(bty_source: str) -> list[str]:
    """The snippets copied from bty whose literals bty's script no longer has."""
    missing = []
    for name, parts in (
        ("apt install", APT_INSTALL),
        ("rpi tweaks", RPI_TWEAKS),
        ("no BTY_IMAGES", NO_BTY_IMAGES),
        ("identity strip", STRIP),
        ("bty-ssh-regen.service", SSH_REGEN_UNIT),
    ):
        for part in parts:
            if f'"{part}"' not in bty_source:
                missing.append(f"{name}: {part!r}")
    return missing


def pyproject_version(text: str) -> str | None:
    """The version line of pyproject.toml, read as bty's _read_bty_version does."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("version") and "=" in stripped:
            return stripped.split("=", 1)[1].strip().strip('"').strip("'")
    return None


def find_wheel(path: Path) -> Path:
    """bty's wheel: the file itself, or the one bty_lab-*-py3-none-any.whl in a directory."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if WHEEL_RE.match(p.name))
        if len(found) != 1:
            raise InputError(
                f"--wheel {path} must hold exactly one bty_lab-*-py3-none-any.whl (found {len(found)})"
            )
        return found[0]
    if not path.is_file():
        raise InputError(f"--wheel {path} does not exist")
    if not WHEEL_RE.match(path.name):
        raise InputError(
            f"{path.name} is not a bty_lab-*-py3-none-any.whl wheel (bty's 0500 hook installs only that)"
        )
    return path


def artifact_names(publish_fmt: str, version: str) -> tuple[str, str, str]:
    """(image, checksum, build manifest) names; publish_fmt is bty's PUBLISH_BASENAME_FMT."""
    image = publish_fmt.format(version=version)
    if not image.endswith(".img.gz"):
        raise InputError(f"bty's release name {image!r} does not end in .img.gz")
    stem = image[: -len(".img.gz")]
    return image, f"{image}.sha256", f"{stem}.build-manifest.txt"


def pick_partitions(lsblk: dict) -> tuple[str | None, str | None]:
    """(root, boot) names as bty's _partitions picks them: the largest ext* and the first vfat."""
    root: tuple[int, str] | None = None
    boot = None
    for dev in lsblk.get("blockdevices", []):
        for part in dev.get("children") or []:
            if part.get("type") != "part":
                continue
            fstype = part.get("fstype")
            name = part.get("name")
            size = int(part.get("size") or 0)
            if fstype in ("ext4", "ext3", "ext2") and (root is None or size > root[0]):
                root = (size, name)
            elif fstype in ("vfat", "fat", "fat32") and boot is None:
                boot = name
    return (root[1] if root else None), boot


def fill_fstypes(lsblk: dict, probe: Callable[[str], str | None]) -> dict:
    """lsblk's output with the FSTYPEs it left empty probed by name: lsblk reads
    them from udev's database, and a container has no udev."""
    for dev in lsblk.get("blockdevices", []):
        for part in dev.get("children") or []:
            if (
                part.get("type") == "part"
                and not part.get("fstype")
                and part.get("name")
            ):
                part["fstype"] = probe(part["name"])
    return lsblk


def partition_number(loopdev: str, part: str) -> str:
    """The partition number growpart takes: /dev/loop3p2 -> 2."""
    if not part.startswith(loopdev):
        raise BuildFailed(f"partition {part} is not on {loopdev}")
    number = part[len(loopdev) :].lstrip("p")
    if not number.isdigit():
        raise BuildFailed(f"cannot tell the partition number of {part} on {loopdev}")
    return number


def os_release(text: str) -> dict[str, str]:
    """/etc/os-release as a dict (quotes removed)."""
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def override_sources(
    mirror: str, suite: str, keyring: bool, security_mirror: str | None = None
) -> str:
    """The apt sources of the install step under --debian-mirror: Debian's suites of `suite`."""
    opts = f"[signed-by={DEBIAN_KEYRING}] " if keyring else ""
    lines = [
        "# bty-ci build only: the image's own sources are put back after apt-get install",
        f"deb {opts}{mirror} {suite} {DEBIAN_COMPONENTS}",
        f"deb {opts}{mirror} {suite}-updates {DEBIAN_COMPONENTS}",
    ]
    if security_mirror:
        lines.append(
            f"deb {opts}{security_mirror} {suite}-security {DEBIAN_COMPONENTS}"
        )
    return "\n".join(lines) + "\n"


def check_url(option: str, url: str | None) -> str | None:
    """url without trailing slashes, or InputError when it is not one."""
    if url is None:
        return None
    if not re.fullmatch(r"(https?|file)://[A-Za-z0-9._:@/%+~=?&-]+", url):
        raise InputError(f"{option} must be an http(s) or file URL (got {url!r})")
    return url.rstrip("/")


def elf_machine(header: bytes) -> str | None:
    """The architecture of an ELF file from its first 20 bytes; None if not ELF."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    order = "little" if header[5] == 1 else "big"
    machine = int.from_bytes(header[18:20], order)
    return ELF_MACHINES.get(machine, f"machine {machine}")


def resolve_in_root(root: Path, path: str, hops: int = 40) -> Path:
    """`path` inside the tree `root`, following its symlinks there (not the host's)."""
    parts = [p for p in path.split("/") if p]
    current = root
    done: list[str] = []
    while parts:
        if hops <= 0:
            raise BuildFailed(f"too many symlinks resolving {path} in {root}")
        name = parts.pop(0)
        if name == "..":
            done = done[:-1]
            current = root.joinpath(*done)
            continue
        candidate = current / name
        if candidate.is_symlink():
            hops -= 1
            target = os.readlink(candidate)
            if target.startswith("/"):
                done, current = [], root
            parts = [p for p in target.split("/") if p] + parts
            continue
        done.append(name)
        current = candidate
    return current


def stamp_version(etc: Path, version: str) -> list[Path]:
    """`grep -rlF __BTY_VERSION__ etc | xargs sed -i s/__BTY_VERSION__/VER/g`: regular
    files only, symlinks not followed (grep -r); returns the files changed."""
    changed = []
    for dirpath, _dirs, files in os.walk(etc):
        for name in files:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            if b"__BTY_VERSION__" in data:
                with path.open("r+b") as fh:  # in place: mode and owner kept
                    fh.write(data.replace(b"__BTY_VERSION__", version.encode()))
                    fh.truncate()
                changed.append(path)
    return sorted(changed)


def chroot_env(pip_index: str | None, ca_in_chroot: str | None) -> dict[str, str]:
    """The environment of chroot commands: sudo's reset one (bty runs `sudo chroot`),
    plus the build-only pip settings."""
    env = {"PATH": CHROOT_PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
    if pip_index:
        # The image's own /etc/pip.conf (Raspberry Pi OS adds an extra index)
        # is skipped for the build: only the given index is used.
        env["PIP_INDEX_URL"] = pip_index
        env["PIP_CONFIG_FILE"] = os.devnull
    if ca_in_chroot:
        env["PIP_CERT"] = ca_in_chroot
        env["SSL_CERT_FILE"] = ca_in_chroot
    return env


def apt_options(ca_in_chroot: str | None) -> str:
    """Options added to bty's apt-get calls (build only)."""
    return f"-o Acquire::https::CAInfo={ca_in_chroot} " if ca_in_chroot else ""


def apt_command(packages: Sequence[str], ca_in_chroot: str | None) -> str:
    """bty's install line, with the build-only apt options after each `apt-get`."""
    line = joined(APT_INSTALL) + " ".join(packages)
    opts = apt_options(ca_in_chroot)
    return line.replace("apt-get ", "apt-get " + opts) if opts else line


def manifest_text(
    *,
    version: str,
    artifacts: Sequence[str],
    base_name: str,
    base_sha256: str,
    base_os: str,
    rpi_issue: str,
    mirror: str | None,
    pip_index: str | None,
    execution: str,
    boot_mount: str,
    dpkg_rows: Sequence[str],
    pip_freeze: str,
) -> str:
    sections = [
        "[image]",
        f"variant\t{VARIANT}",
        f"bty_version\t{version}",
        *(f"artifact\t{name}" for name in artifacts),
        "",
        "[base]",
        f"file\t{base_name}",
        f"sha256\t{base_sha256}",
        f"os\t{base_os}",
        f"rpi-issue\t{rpi_issue or '(none)'}",
        "",
        "[tools]",
        "apt-sources\t" + (f"override {mirror}" if mirror else "the image's own"),
        "pip-index\t" + (pip_index or "the image's own configuration"),
        f"arm64-execution\t{execution}",
        f"boot-partition-mount\t{boot_mount}",
        "",
        "[dpkg]",
        *dpkg_rows,
        "",
        "[pip]",
        *pip_freeze.strip().splitlines(),
    ]
    return "\n".join(sections) + "\n"


def kernel_filesystems(text: str) -> set[str]:
    """The file system types of /proc/filesystems."""
    return {line.split()[-1] for line in text.splitlines() if line.split()}


def chroot_pids(root: Path, proc: Path = Path("/proc")) -> list[int]:
    """Processes whose root directory is `root`: what the build started in the chroot."""
    want = os.path.realpath(root)
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.path.realpath(entry / "root") == want:
                pids.append(int(entry.name))
        except OSError:
            continue
    return sorted(pids)


# --------------------------------------------------------------------------
# running things
# --------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"{PROG}: {message}", flush=True)


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    capture: bool = False,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv, its output streaming to ours unless captured. A timeout kills
    its whole process group (a chroot's shell and what it started)."""
    say("$ " + shlex.join(str(a) for a in argv))
    sys.stdout.flush()
    proc = subprocess.Popen(
        [str(a) for a in argv],
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=timeout is not None,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise StepTimeout(
            f"`{shlex.join(str(a) for a in argv)}` hit the time bound of {timeout:.0f}s"
        ) from None
    except BaseException:
        # Stopped (SIGTERM): the chroot's shell and what it started, not just the shell.
        if timeout is not None:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.communicate()
        raise
    result = subprocess.CompletedProcess(argv, proc.returncode, out or "", err or "")
    if check and proc.returncode != 0:
        detail = (err or out or "").strip()
        raise BuildFailed(
            f"`{shlex.join(str(a) for a in argv)}` exited {proc.returncode}"
            + (f": {detail}" if detail else "")
        )
    return result


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Build:
    """One build: its inputs, and a stack of undo actions run in reverse."""

    def __init__(
        self, args: argparse.Namespace, bty: ModuleType, undo: contextlib.ExitStack
    ):
        self.args = args
        self.bty = bty
        self.undo = undo
        self.mnt = args.work / "mnt"
        self.disk = args.work / WORK_IMAGE
        self.loop = ""
        self.ca = CA_IN_CHROOT if args.ca_cert else None
        self.env = chroot_env(args.pip_index, self.ca)
        self.execution = "native"
        self.cleanup_errors: list[str] = []
        self.boot_mount = "(no boot partition)"

    # -- helpers --------------------------------------------------------

    def on_exit(self, what: str, fn: Callable[[], object]) -> None:
        def guarded() -> None:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - cleanup goes on
                say(f"cleanup: {what} failed: {exc}")
                self.cleanup_errors.append(f"{what}: {exc}")

        self.undo.callback(guarded)

    def chroot_sh(self, script: str, *, check: bool = True, what: str = "") -> int:
        r = run(
            ["chroot", self.mnt, "/bin/sh", "-c", script],
            check=False,
            env=self.env,
            timeout=self.args.timeout,
        )
        if check and r.returncode != 0:
            raise BuildFailed(
                f"{what or 'chroot step'} failed in the chroot (exit {r.returncode})"
            )
        return r.returncode

    def mount(self, argv: Sequence[str], target: Path, *, slave: bool = False) -> None:
        run(["mount", *argv, target])
        self.on_exit(f"umount {target}", lambda: self.umount(target))
        if slave:
            # Keep what is mounted below this bind (devpts) from propagating
            # back to the host's tree, and the host's mounts still visible.
            run(["mount", "--make-rslave", target])

    def umount(self, target: Path) -> None:
        say(f"$ umount {target}")
        for attempt in range(5):
            if subprocess.run(["umount", str(target)], check=False).returncode == 0:
                return
            self.stop_chroot_processes()
            time.sleep(1 + attempt)
        run(["umount", "--lazy", target], check=False)
        raise BuildFailed(f"{target} stayed busy; unmounted lazily")

    def stop_chroot_processes(self) -> None:
        pids = chroot_pids(self.mnt)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if pids:
                say(f"sent {sig.name} to processes left in the chroot: {pids}")
                time.sleep(2)
            pids = chroot_pids(self.mnt)
            if not pids:
                return

    # -- steps ------------------------------------------------------------

    def prepare_disk(self) -> None:
        image = self.args.image
        self.args.work.mkdir(parents=True, exist_ok=True)
        if image.name.endswith(".xz"):
            say(f"decompressing {image.name} -> {self.disk}")
            with self.disk.open("wb") as out:
                r = subprocess.run(["xz", "-dkc", str(image)], stdout=out, check=False)
            if r.returncode != 0:
                raise BuildFailed(f"xz -dkc {image} failed (exit {r.returncode})")
        else:
            run(["cp", "-f", "--reflink=auto", image, self.disk])
        run(["truncate", "-s", f"+{GROW}", self.disk])

    def attach(self) -> tuple[str, str | None]:
        r = run(["losetup", "-fP", "--show", self.disk], capture=True)
        self.loop = r.stdout.strip()
        if not re.fullmatch(r"/dev/loop\d+", self.loop):
            raise BuildFailed(f"losetup printed {self.loop!r}, not a loop device")
        self.on_exit(
            f"losetup -d {self.loop}", lambda: run(["losetup", "-d", self.loop])
        )
        settle()
        for attempt in range(PARTITION_TRIES):
            r = run(
                ["lsblk", "-J", "-b", "-o", "NAME,FSTYPE,SIZE,TYPE", self.loop],
                capture=True,
                check=False,
            )
            try:
                data = json.loads(r.stdout) if r.returncode == 0 else {}
            except json.JSONDecodeError:
                data = {}
            root, boot = pick_partitions(fill_fstypes(data, probe_fstype))
            if root:
                return f"/dev/{root}", (f"/dev/{boot}" if boot else None)
            if attempt < PARTITION_TRIES - 1:
                time.sleep(1)
        raise BuildFailed(
            f"no ext4 root partition found on {self.loop} (lsblk: {r.stdout.strip()})"
        )

    def grow(self, root_part: str) -> None:
        number = partition_number(self.loop, root_part)
        run(["growpart", self.loop, number])
        run(["partprobe", self.loop], check=False)
        settle()
        fsck = run(["e2fsck", "-p", "-f", root_part], check=False)
        if fsck.returncode >= 4:
            say(f"e2fsck -p -f left errors (exit {fsck.returncode}); resize2fs decides")
        run(["resize2fs", root_part])

    def mount_all(self, root_part: str, boot_part: str | None) -> None:
        self.mnt.mkdir(parents=True, exist_ok=True)
        self.mount([root_part], self.mnt)
        run(["mount", "--make-private", self.mnt])
        self.check_arm64()
        if boot_part:
            (self.mnt / "boot/firmware").mkdir(parents=True, exist_ok=True)
            self.mount_boot(boot_part, self.mnt / "boot/firmware")
        for sub in ("dev", "proc", "sys", "run"):
            self.mount(["--bind", f"/{sub}"], self.mnt / sub, slave=True)
        # bty: `mount -t devpts devpts <mnt>/dev/pts 2>/dev/null || true`
        pts = self.mnt / "dev/pts"
        if run(["mount", "-t", "devpts", "devpts", pts], check=False).returncode == 0:
            self.on_exit(f"umount {pts}", lambda: self.umount(pts))
        self.bind_resolv_conf()

    def mount_boot(self, part: str, target: Path) -> None:
        """The FAT firmware partition: the kernel's vfat, else FUSE (fusefat,
        read-write), as ci/flash-env.sh falls back to FUSE for exFAT."""
        if shutil.which("modprobe"):
            subprocess.run(["modprobe", "vfat"], capture_output=True, check=False)
        if "vfat" in kernel_filesystems(read_text(Path("/proc/filesystems"))):
            self.boot_mount = "kernel vfat"
            self.mount([part], target)
            return
        if not shutil.which("fusefat"):
            raise EnvironmentUnfit(
                "this kernel has no vfat (modprobe vfat) for the boot partition, and the FUSE "
                "fallback is missing: apt-get install fusefat"
            )
        say("no vfat in this kernel: the boot partition goes through fusefat (FUSE)")
        self.boot_mount = "fusefat (FUSE; the kernel has no vfat)"
        run(["fusefat", "-o", "rw+", part, target])
        self.on_exit(f"umount {target}", lambda: self.umount(target))

    def bind_resolv_conf(self) -> None:
        target = self.mnt / "etc/resolv.conf"
        if target.is_symlink() or not target.exists():
            # Not a plain file (a resolved stub link, or none): stand a file in
            # for the bind, put the original back afterwards.
            stash = self.mnt / RESOLV_STASH
            had = target.is_symlink() or target.exists()
            if had:
                os.rename(target, stash)
            target.touch()

            def restore() -> None:
                target.unlink()
                if had:
                    os.rename(stash, target)

            self.on_exit("restore /etc/resolv.conf", restore)
        self.mount(["--bind", "/etc/resolv.conf"], target)

    def check_arm64(self) -> None:
        """Run the image's own /bin/true before anything is changed in it."""
        true = resolve_in_root(self.mnt, "/bin/true")
        try:
            with true.open("rb") as fh:
                arch = elf_machine(fh.read(20))
        except OSError:
            arch = None
        if arch != "aarch64":
            raise InputError(
                f"the image's /bin/true is {arch or 'not an ELF file'}, not aarch64: "
                "give an arm64 Raspberry Pi OS image"
            )
        host = platform.machine()
        r = subprocess.run(
            ["chroot", str(self.mnt), "/bin/true"],
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            raise EnvironmentUnfit(
                f"this {host} host cannot run the image's arm64 programs "
                f"(chroot {self.mnt} /bin/true: exit {r.returncode} {r.stderr.strip()}). "
                "Register qemu-user-static binfmt handlers: apt-get install qemu-user-static "
                "binfmt-support; mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; "
                "update-binfmts --enable qemu-aarch64 (the handler needs the F flag to work "
                "in a chroot; binfmt_misc belongs to the kernel, so for a container do this "
                "on the host running it), or build on an arm64 host"
            )
        if host != "aarch64":
            self.execution = f"qemu-user binfmt on {host}"
        say(f"arm64 programs run here ({self.execution})")

    def build_only_extras(self) -> None:
        """policy-rc.d and the extra CA, removed before unmounting."""
        policy = self.mnt / POLICY_RC_D
        stash = self.mnt / POLICY_STASH
        had = policy.exists() or policy.is_symlink()
        if had:
            os.rename(policy, stash)
        policy.write_text(POLICY_RC_D_TEXT)
        policy.chmod(0o755)

        def restore_policy() -> None:
            policy.unlink()
            if had:
                os.rename(stash, policy)

        self.on_exit("restore policy-rc.d", restore_policy)
        if self.args.ca_cert:
            # In the bound /run: the host's, never written into the image.
            ca = self.mnt / self.ca.lstrip("/")
            shutil.copyfile(self.args.ca_cert, ca)
            self.on_exit("remove the extra CA", lambda: ca.unlink(missing_ok=True))

    @contextlib.contextmanager
    def apt_sources(self) -> Iterator[None]:
        """The image's apt sources, or the --debian-mirror override for the duration."""
        mirror = self.args.debian_mirror
        if not mirror:
            yield
            return
        release = os_release(read_text(resolve_in_root(self.mnt, "/etc/os-release")))
        suite = release.get("VERSION_CODENAME")
        if not suite:
            raise InputError(
                "the image's /etc/os-release has no VERSION_CODENAME for --debian-mirror"
            )
        apt = self.mnt / "etc/apt"
        stash = self.mnt / APT_STASH
        stash.mkdir()
        (stash / "sources.list.d").mkdir()
        moved: list[tuple[Path, Path]] = []
        if (apt / "sources.list").exists() or (apt / "sources.list").is_symlink():
            moved.append((apt / "sources.list", stash / "sources.list"))
        moved += [
            (p, stash / "sources.list.d" / p.name)
            for p in sorted((apt / "sources.list.d").iterdir())
        ]
        for src, dst in moved:
            os.rename(src, dst)
        override = self.mnt / OVERRIDE_LIST
        keyring = (self.mnt / DEBIAN_KEYRING.lstrip("/")).is_file()
        override.write_text(
            override_sources(mirror, suite, keyring, self.args.debian_security_mirror)
        )
        say(
            f"apt sources for the install: {mirror} ({suite}); the image's: {[s.name for s, _ in moved]}"
        )
        try:
            yield
        finally:
            override.unlink()
            for src, dst in moved:
                os.rename(dst, src)
            (stash / "sources.list.d").rmdir()
            stash.rmdir()
            say("the image's apt sources are back")

    def provision(self, wheel: Path) -> tuple[str, str]:
        bty = self.bty
        cfg = self.args.source / BTY_LIVE_CONFIG
        # 1. bty's runtime + flash tooling.
        with self.apt_sources():
            self.chroot_sh(
                apt_command(bty.BTY_PACKAGES, self.ca),
                what="apt-get install (bty packages)",
            )
        # 2. includes.chroot (+ the wheel bty stages into it) onto the root.
        run(["cp", "-a", f"{cfg / 'includes.chroot'}/.", f"{self.mnt}/"])
        opt_bty = self.mnt / "opt/bty"
        opt_bty.mkdir(parents=True, exist_ok=True)
        for stale in opt_bty.glob("bty_lab-*.whl"):
            stale.unlink()
        shutil.copy2(wheel, opt_bty / wheel.name)
        for script in sorted((self.mnt / "usr/local/sbin").glob("bty-*")):
            script.chmod(0o755)
        # 3. __BTY_VERSION__ under /etc (bty stamps only /etc here).
        for path in stamp_version(self.mnt / "etc", self.args.version):
            say(f"stamped {path.relative_to(self.mnt)}")
        # 4. bty's hooks, verbatim.
        hooks = self.mnt / "tmp/bty-hooks"
        hooks.mkdir(parents=True, exist_ok=True)
        for hook in bty.BTY_HOOKS:
            shutil.copyfile(cfg / "hooks/normal" / hook, hooks / hook)
            r = run(
                ["chroot", self.mnt, "/bin/sh", f"/tmp/bty-hooks/{hook}"],
                check=False,
                env=self.env,
                timeout=self.args.timeout,
            )
            if r.returncode != 0:
                raise BuildFailed(
                    f"bty hook failed in chroot: {hook} (exit {r.returncode})"
                )
        shutil.rmtree(hooks)
        # 5. Raspberry Pi tweaks and bty-ssh-regen.service.
        self.chroot_sh(joined(RPI_TWEAKS), what="rpi tweaks")
        unit = self.mnt / SSH_REGEN_PATH
        unit.parent.mkdir(parents=True, exist_ok=True)
        unit.write_text(joined(SSH_REGEN_UNIT))
        unit.chmod(0o644)
        wants = self.mnt / SSH_REGEN_WANTS
        wants.unlink(missing_ok=True)
        wants.symlink_to("/etc/systemd/system/bty-ssh-regen.service")
        # 6. var-lib-bty-images.mount out of the boot transaction.
        self.chroot_sh(joined(NO_BTY_IMAGES), what="var-lib-bty-images.mount disable")
        # Recorded before the strip (which leaves the venv and dpkg alone).
        freeze = run(
            [
                "chroot",
                self.mnt,
                "/opt/bty/venv/bin/python",
                "-m",
                "pip",
                "freeze",
                "--all",
            ],
            capture=True,
            env=self.env,
            timeout=self.args.timeout,
        ).stdout
        # 7. per-instance identity and caches.
        self.chroot_sh(joined(STRIP), what="identity strip")
        # ci/media-manifest.py's reading of dpkg's database (dpkg-query --admindir).
        manifest = load_module(HERE.parent / "media-manifest.py", "media_manifest")
        try:
            dpkg = "\n".join(manifest.dpkg_packages(self.mnt))
        except manifest.ManifestError as exc:
            raise BuildFailed(str(exc)) from None
        return freeze, dpkg

    def read_base_identity(self) -> tuple[str, str]:
        release = os_release(read_text(resolve_in_root(self.mnt, "/etc/os-release")))
        issue = (
            read_text(resolve_in_root(self.mnt, "/etc/rpi-issue")).strip().splitlines()
        )
        return release.get("PRETTY_NAME", "(unknown)"), (issue[0] if issue else "")


def read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def probe_fstype(name: str) -> str | None:
    """The file system type of /dev/NAME read from the device (libblkid), or None."""
    r = subprocess.run(
        ["blkid", "-p", "-s", "TYPE", "-o", "value", f"/dev/{name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return r.stdout.strip() or None if r.returncode == 0 else None


def settle() -> None:
    """bty: `udevadm settle ... || true` (a shim in a container; absent is fine)."""
    if shutil.which("udevadm"):
        run(["udevadm", "settle", "--timeout=10"], check=False)


def use_loop_shims(work: Path) -> None:
    """ci/loop-shims first on PATH (losetup, partprobe, udevadm: see ci/loop-lib.sh),
    tracking this run's devices only, unless ci/flash-env.sh already does."""
    shims = HERE.parent / "loop-shims"
    if not shims.is_dir():
        return
    path = os.environ.get("PATH", "")
    if str(shims) not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([str(shims), path])
    if not os.environ.get("BTY_CI_LOOP_STATE"):
        state = work / "loop-devices"
        state.touch()
        os.environ["BTY_CI_LOOP_STATE"] = str(state)


def check_inputs(
    args: argparse.Namespace,
) -> tuple[ModuleType, Path, tuple[str, str, str]]:
    image: Path = args.image
    if not image.is_file():
        raise InputError(f"--image {image} does not exist")
    if not (image.name.endswith(".img") or image.name.endswith(".img.xz")):
        raise InputError(f"--image must be a .img or .img.xz (got {image.name})")
    source: Path = args.source
    script = source / BTY_SCRIPT
    if not script.is_file():
        raise InputError(f"no {BTY_SCRIPT} in {source}: is --source a bty checkout?")
    cfg = source / BTY_LIVE_CONFIG
    if not (cfg / "includes.chroot").is_dir():
        raise InputError(f"no {BTY_LIVE_CONFIG}/includes.chroot in {source}")
    missing = drift(script.read_text())
    if missing:
        raise InputError(
            f"bty's {BTY_SCRIPT} no longer has what {PROG} copies from it "
            "(update this program to bty's new steps): " + "; ".join(missing)
        )
    bty = load_module(script, "bty_rpios_image_build")
    for name in ("BTY_PACKAGES", "BTY_HOOKS", "PUBLISH_BASENAME_FMT"):
        if not hasattr(bty, name):
            raise InputError(f"bty's {BTY_SCRIPT} has no {name}: update {PROG}")
    for hook in bty.BTY_HOOKS:
        if not (cfg / "hooks/normal" / hook).is_file():
            raise InputError(f"bty hook missing: {cfg / 'hooks/normal' / hook}")
    version = pyproject_version(read_text(source / "pyproject.toml"))
    if version != args.version:
        raise InputError(
            f"--version {args.version} is not the checkout's ({version or 'no version line'} "
            f"in {source / 'pyproject.toml'}), which bty stamps"
        )
    wheel = find_wheel(args.wheel)
    wheel_version = WHEEL_RE.match(wheel.name)["version"]  # type: ignore[index]
    if wheel_version != args.version:
        raise InputError(
            f"{wheel.name} is bty {wheel_version}, not --version {args.version}"
        )
    if args.ca_cert and not (args.ca_cert.is_file() and args.ca_cert.stat().st_size):
        raise InputError(f"--ca-cert {args.ca_cert} is missing or empty")
    args.debian_mirror = check_url("--debian-mirror", args.debian_mirror)
    args.debian_security_mirror = check_url(
        "--debian-security-mirror", args.debian_security_mirror
    )
    args.pip_index = check_url("--pip-index", args.pip_index)
    if args.debian_security_mirror and not args.debian_mirror:
        raise InputError("--debian-security-mirror goes with --debian-mirror")
    if args.timeout <= 0:
        raise InputError(f"--timeout must be positive (got {args.timeout})")
    return bty, wheel, artifact_names(bty.PUBLISH_BASENAME_FMT, args.version)


def check_host(args: argparse.Namespace) -> None:
    if os.geteuid() != 0:
        raise EnvironmentUnfit("needs root (loop devices, mount, chroot)")
    wanted = [t for t in TOOLS if t != "xz" or args.image.name.endswith(".xz")]
    if (HERE.parent / "loop-shims/partprobe").is_file():
        wanted.remove("partprobe")  # the shim does it with partx
    missing = sorted({f"{t} ({TOOLS[t]})" for t in wanted if not shutil.which(t)})
    if missing:
        packages = sorted({TOOLS[t] for t in wanted if not shutil.which(t)})
        raise EnvironmentUnfit(
            f"missing tools: {', '.join(missing)}: apt-get install {' '.join(packages)}"
        )


def publish(build: Build, names: tuple[str, str, str], manifest: str) -> None:
    out: Path = build.args.out
    out.mkdir(parents=True, exist_ok=True)
    image, checksum, manifest_name = names
    partial = out / f"{image}.partial"
    say(f"gzip -9 -> {out / image}")
    try:
        with partial.open("wb") as fh:
            r = subprocess.run(
                ["gzip", "-9", "-c", str(build.disk)], stdout=fh, check=False
            )
        if r.returncode != 0:
            raise BuildFailed(f"gzip of the raw image failed (exit {r.returncode})")
    except BaseException:
        partial.unlink(missing_ok=True)  # no half image in the output directory
        raise
    partial.rename(out / image)
    sums = run(["sha256sum", image], capture=True, cwd=out).stdout
    (out / checksum).write_text(sums)
    (out / manifest_name).write_text(manifest)
    for name in names:
        say(f"wrote {out / name} ({(out / name).stat().st_size} bytes)")


def build(args: argparse.Namespace) -> int:
    bty, wheel, names = check_inputs(args)
    check_host(args)
    temp_work = args.work is None
    if temp_work:
        args.work = Path(tempfile.mkdtemp(prefix="rpios-build-"))
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    use_loop_shims(args.work)
    try:
        base_sha = sha256_of(args.image)
        say(f"base image {args.image.name} sha256 {base_sha}")
        with contextlib.ExitStack() as undo:
            b = Build(args, bty, undo)
            b.prepare_disk()
            root_part, boot_part = b.attach()
            say(f"root {root_part}, boot {boot_part or '(none)'} on {b.loop}")
            b.grow(root_part)
            b.mount_all(root_part, boot_part)
            base_os, rpi_issue = b.read_base_identity()
            b.build_only_extras()
            # First thing on the way out: nothing of the chroot's may hold the mounts.
            b.on_exit("stop the chroot's processes", b.stop_chroot_processes)
            freeze, dpkg = b.provision(wheel)
            undo.close()  # build-only files out, unmount everything, detach the loop device
            if b.cleanup_errors:
                raise BuildFailed("cleanup failed: " + "; ".join(b.cleanup_errors))
        manifest = manifest_text(
            version=args.version,
            artifacts=names[:2],
            base_name=args.image.name,
            base_sha256=base_sha,
            base_os=base_os,
            rpi_issue=rpi_issue,
            mirror=args.debian_mirror,
            pip_index=args.pip_index,
            execution=b.execution,
            boot_mount=b.boot_mount,
            dpkg_rows=dpkg.splitlines(),
            pip_freeze=freeze,
        )
        publish(b, names, manifest)
    finally:
        if temp_work:
            shutil.rmtree(args.work, ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s --image IMG --source BTY --wheel WHL|DIR --version VER --out DIR [options]",
    )
    parser.add_argument(
        "--image",
        type=Path,
        required=True,
        help="Raspberry Pi OS Lite arm64 .img or .img.xz",
    )
    parser.add_argument(
        "--source", type=Path, required=True, help="bty's checkout (sdist or git)"
    )
    parser.add_argument(
        "--wheel",
        type=Path,
        required=True,
        help="bty's wheel, or a directory holding it",
    )
    parser.add_argument(
        "--version", required=True, help="bty's version (the checkout's)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="directory for the outputs"
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="work directory (default: a temporary one beside --out, removed)",
    )
    parser.add_argument(
        "--debian-mirror", help="Debian mirror for the apt-get step (build only)"
    )
    parser.add_argument(
        "--debian-security-mirror",
        help="with --debian-mirror: add <suite>-security from here",
    )
    parser.add_argument(
        "--pip-index", help="package index for pip in bty's 0500 hook (build only)"
    )
    parser.add_argument(
        "--ca-cert",
        type=Path,
        help="CA bundle for pip and apt in the chroot (build only)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=2400,
        help="seconds per chroot step (default 2400)",
    )
    args = parser.parse_args(argv)

    def stop(signum: int, _frame: object) -> None:
        # Once: a second signal must not break off the unmounting.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Stopped(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return build(args)
    except InputError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except EnvironmentUnfit as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 3
    except StepTimeout as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 124
    except (BuildFailed, Stopped) as exc:
        print(f"{PROG}: build failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
