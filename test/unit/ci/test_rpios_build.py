"""ci/rpi/rpios-build.py's pure logic (the payload tier builds a look-alike image for real)."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import unittest
from pathlib import Path

from programs import load_program

rpios_build = load_program("rpi/rpios-build.py")

# bty 0.77.2's literals as its rpios_image_build.py writes them (excerpt).
BTY_SOURCE = "\n".join(
    f'        "{part}"'
    for parts in (
        rpios_build.APT_INSTALL,
        rpios_build.RPI_TWEAKS,
        rpios_build.NO_BTY_IMAGES,
        rpios_build.STRIP,
        rpios_build.SSH_REGEN_UNIT,
    )
    for part in parts
)


def lsblk(*children: dict) -> dict:
    return {
        "blockdevices": [{"name": "loop3", "type": "loop", "children": list(children)}]
    }


def part(name: str, fstype: str | None, size: int) -> dict:
    return {"name": name, "fstype": fstype, "size": size, "type": "part"}


class DriftTest(unittest.TestCase):
    def test_no_drift_against_the_literals_copied(self) -> None:
        self.assertEqual(rpios_build.drift(BTY_SOURCE), [])

    def test_a_changed_snippet_is_named(self) -> None:
        changed = BTY_SOURCE.replace(
            "systemctl mask cancel-rename.service", "systemctl mask other.service"
        )
        self.assertEqual(
            rpios_build.drift(changed),
            [
                "rpi tweaks: 'systemctl mask cancel-rename.service 2>/dev/null || true; '"
            ],
        )

    def test_joined_is_what_bty_concatenates(self) -> None:
        unit = rpios_build.joined(rpios_build.SSH_REGEN_UNIT)
        self.assertTrue(
            unit.startswith(
                "[Unit]\nDescription=Regenerate SSH host keys if missing (bty)\n"
            )
        )
        self.assertIn("\n\n[Service]\n", unit)
        self.assertTrue(unit.endswith("WantedBy=multi-user.target\n"))
        self.assertEqual(
            rpios_build.joined(rpios_build.STRIP),
            ": > /etc/machine-id; rm -f /var/lib/dbus/machine-id; apt-get clean; "
            "rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/* /root/.cache /home/*/.cache",
        )


class PartitionsTest(unittest.TestCase):
    def test_largest_ext_is_root_first_vfat_is_boot(self) -> None:
        data = lsblk(
            part("loop3p1", "vfat", 512 << 20),
            part("loop3p2", "ext4", 2 << 30),
            part("loop3p3", "ext4", 5 << 30),
            part("loop3p4", "vfat", 1 << 20),
        )
        self.assertEqual(rpios_build.pick_partitions(data), ("loop3p3", "loop3p1"))

    def test_no_ext_partition_is_no_root(self) -> None:
        self.assertEqual(
            rpios_build.pick_partitions(lsblk(part("loop3p1", "vfat", 1))),
            (None, "loop3p1"),
        )
        self.assertEqual(rpios_build.pick_partitions({}), (None, None))
        # Before udev (or without it) lsblk has no FSTYPE: nothing is picked.
        self.assertEqual(
            rpios_build.pick_partitions(lsblk(part("loop3p2", None, 9))), (None, None)
        )

    def test_missing_fstypes_are_probed(self) -> None:
        probed = []

        def probe(name: str) -> str | None:
            probed.append(name)
            return {"loop3p1": "vfat", "loop3p2": "ext4"}.get(name)

        data = rpios_build.fill_fstypes(
            lsblk(part("loop3p1", None, 1), part("loop3p2", "ext4", 2)), probe
        )
        self.assertEqual(probed, ["loop3p1"])  # what lsblk knew is kept
        self.assertEqual(rpios_build.pick_partitions(data), ("loop3p2", "loop3p1"))

    def test_partition_number(self) -> None:
        self.assertEqual(
            rpios_build.partition_number("/dev/loop3", "/dev/loop3p2"), "2"
        )
        self.assertEqual(
            rpios_build.partition_number("/dev/loop12", "/dev/loop12p10"), "10"
        )
        with self.assertRaises(rpios_build.BuildFailed):
            rpios_build.partition_number("/dev/loop3", "/dev/loop4p2")


class InputsTest(unittest.TestCase):
    def test_pyproject_version_as_bty_reads_it(self) -> None:
        text = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n'
        self.assertEqual(rpios_build.pyproject_version(text), "0.77.2")
        self.assertIsNone(rpios_build.pyproject_version("[project]\n"))

    def test_wheel_file_or_directory(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            dist = Path(d)
            with self.assertRaisesRegex(
                rpios_build.InputError, r"exactly one .* \(found 0\)"
            ):
                rpios_build.find_wheel(dist)
            wheel = dist / "bty_lab-0.77.2-py3-none-any.whl"
            wheel.write_bytes(b"")
            self.assertEqual(rpios_build.find_wheel(dist), wheel)
            self.assertEqual(rpios_build.find_wheel(wheel), wheel)
            (dist / "bty_lab-0.77.1-py3-none-any.whl").write_bytes(b"")
            with self.assertRaisesRegex(rpios_build.InputError, r"\(found 2\)"):
                rpios_build.find_wheel(dist)
            other = dist / "other-1.0-py3-none-any.whl"
            other.write_bytes(b"")
            with self.assertRaisesRegex(rpios_build.InputError, "is not a bty_lab"):
                rpios_build.find_wheel(other)

    def test_artifact_names_from_bty_format(self) -> None:
        self.assertEqual(
            rpios_build.artifact_names(
                "bty-usbboot-rpi-arm64-v{version}.img.gz", "0.77.2"
            ),
            (
                "bty-usbboot-rpi-arm64-v0.77.2.img.gz",
                "bty-usbboot-rpi-arm64-v0.77.2.img.gz.sha256",
                "bty-usbboot-rpi-arm64-v0.77.2.build-manifest.txt",
            ),
        )
        with self.assertRaises(rpios_build.InputError):
            rpios_build.artifact_names("bty-{version}.img", "1")

    def test_urls(self) -> None:
        self.assertEqual(
            rpios_build.check_url("--debian-mirror", "http://mirror.example/debian//"),
            "http://mirror.example/debian",
        )
        self.assertIsNone(rpios_build.check_url("--pip-index", None))
        with self.assertRaisesRegex(rpios_build.InputError, "--debian-mirror must be"):
            rpios_build.check_url("--debian-mirror", "mirror.example/debian")

    def test_main_refuses_bad_input_with_2(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            err = io.StringIO()

            def run(image: str) -> int:
                argv = [
                    "--image",
                    image,
                    "--source",
                    d,
                    "--wheel",
                    d,
                    "--version",
                    "1",
                    "--out",
                    f"{d}/out",
                ]
                with contextlib.redirect_stderr(err):
                    return rpios_build.main(argv)

            self.assertEqual(run(f"{d}/none.img.xz"), 2)
            self.assertIn("none.img.xz does not exist", err.getvalue())
            image = Path(d, "raspios.img.xz")
            image.write_bytes(b"")
            self.assertEqual(run(str(image)), 2)
            self.assertIn("is --source a bty checkout?", err.getvalue())


class AptTest(unittest.TestCase):
    def test_override_sources(self) -> None:
        text = rpios_build.override_sources(
            "http://m.example/debian", "trixie", keyring=True
        )
        self.assertIn(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://m.example/debian trixie "
            "main contrib non-free non-free-firmware\n",
            text,
        )
        self.assertIn(" trixie-updates ", text)
        self.assertNotIn("security", text)
        plain = rpios_build.override_sources(
            "http://m.example/debian",
            "bookworm",
            keyring=False,
            security_mirror="http://s.example/debian-security",
        )
        self.assertIn("deb http://m.example/debian bookworm main", plain)
        self.assertIn(
            "deb http://s.example/debian-security bookworm-security main", plain
        )

    def test_apt_command_keeps_bty_line(self) -> None:
        self.assertEqual(
            rpios_build.apt_command(["git", "curl"], None),
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git curl",
        )
        with_ca = rpios_build.apt_command(["git"], "/run/ca.crt")
        self.assertEqual(
            with_ca.count("apt-get -o Acquire::https::CAInfo=/run/ca.crt "), 2
        )

    def test_chroot_env(self) -> None:
        env = rpios_build.chroot_env(None, None)
        self.assertEqual(env["HOME"], "/root")
        self.assertNotIn("PIP_INDEX_URL", env)
        env = rpios_build.chroot_env("http://pi.example/simple", "/run/ca.crt")
        self.assertEqual(env["PIP_INDEX_URL"], "http://pi.example/simple")
        self.assertEqual(
            env["PIP_CONFIG_FILE"], os.devnull
        )  # the image's pip.conf skipped
        self.assertEqual(env["PIP_CERT"], "/run/ca.crt")

    def test_os_release(self) -> None:
        text = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n# c\n'
        self.assertEqual(rpios_build.os_release(text)["VERSION_CODENAME"], "bookworm")
        self.assertEqual(
            rpios_build.os_release(text)["PRETTY_NAME"],
            "Debian GNU/Linux 12 (bookworm)",
        )


class HostTest(unittest.TestCase):
    def test_elf_machine(self) -> None:
        header = bytearray(20)
        header[:6] = b"\x7fELF\x02\x01"
        header[18:20] = (183).to_bytes(2, "little")
        self.assertEqual(rpios_build.elf_machine(bytes(header)), "aarch64")
        header[18:20] = (62).to_bytes(2, "little")
        self.assertEqual(rpios_build.elf_machine(bytes(header)), "x86_64")
        self.assertIsNone(rpios_build.elf_machine(b"#!/bin/sh\n" + bytes(10)))

    def test_resolve_in_root_stays_in_the_tree(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            (root / "usr/bin").mkdir(parents=True)
            (root / "usr/bin/true").write_bytes(b"x")
            (root / "bin").symlink_to("usr/bin")
            (root / "usr/bin/alias").symlink_to(
                "/usr/bin/true"
            )  # absolute: inside root, not the host's
            self.assertEqual(
                rpios_build.resolve_in_root(root, "/bin/true"), root / "usr/bin/true"
            )
            self.assertEqual(
                rpios_build.resolve_in_root(root, "/bin/alias"), root / "usr/bin/true"
            )
            (root / "loop").symlink_to("loop")
            with self.assertRaises(rpios_build.BuildFailed):
                rpios_build.resolve_in_root(root, "/loop")

    def test_kernel_filesystems(self) -> None:
        text = "nodev\tsysfs\n\text4\nnodev\tfuse\n\tvfat\n"
        self.assertEqual(
            rpios_build.kernel_filesystems(text), {"sysfs", "ext4", "fuse", "vfat"}
        )

    def test_chroot_pids(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            proc, root = Path(d, "proc"), Path(d, "root")
            root.mkdir()
            for pid, where in (("10", root), ("11", Path("/")), ("self", root)):
                (proc / pid).mkdir(parents=True)
                (proc / pid / "root").symlink_to(where)
            self.assertEqual(rpios_build.chroot_pids(root, proc), [10])


class StampTest(unittest.TestCase):
    def test_stamps_regular_files_in_place(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            etc = Path(d, "etc")
            (etc / "profile.d").mkdir(parents=True)
            issue = etc / "issue"
            issue.write_text("bty __BTY_VERSION__ live env\n")
            issue.chmod(0o600)
            (etc / "profile.d/bty-version.sh").write_text(
                "printf 'bty __BTY_VERSION__'\n"
            )
            (etc / "hostname").write_text("raspberrypi\n")
            outside = Path(d, "outside")
            outside.write_text("__BTY_VERSION__")
            (etc / "link").symlink_to(outside)  # grep -r does not follow it
            changed = rpios_build.stamp_version(etc, "0.77.2")
            self.assertEqual(changed, [issue, etc / "profile.d/bty-version.sh"])
            self.assertEqual(issue.read_text(), "bty 0.77.2 live env\n")
            self.assertEqual(issue.stat().st_mode & 0o777, 0o600)
            self.assertEqual(outside.read_text(), "__BTY_VERSION__")


class ManifestTest(unittest.TestCase):
    def test_sections(self) -> None:
        text = rpios_build.manifest_text(
            version="0.77.2",
            artifacts=["a.img.gz", "a.img.gz.sha256"],
            base_name="raspios.img.xz",
            base_sha256="ab" * 32,
            base_os="Debian GNU/Linux 12 (bookworm)",
            rpi_issue="",
            mirror="http://m.example/debian",
            pip_index=None,
            execution="native",
            boot_mount="kernel vfat",
            dpkg_rows=["apt\t2.6.1\tarm64"],
            pip_freeze="bty-lab @ file:///opt/bty/x.whl\npip==25.0\n",
        )
        self.assertIn(
            "[image]\nvariant\tusbboot-rpi\nbty_version\t0.77.2\nartifact\ta.img.gz\n",
            text,
        )
        self.assertIn(f"sha256\t{'ab' * 32}\n", text)
        self.assertIn("rpi-issue\t(none)\n", text)
        self.assertIn("apt-sources\toverride http://m.example/debian\n", text)
        self.assertIn(
            "[dpkg]\napt\t2.6.1\tarm64\n\n[pip]\nbty-lab @ file:///opt/bty/x.whl\npip==25.0\n",
            text,
        )


if __name__ == "__main__":
    unittest.main()
