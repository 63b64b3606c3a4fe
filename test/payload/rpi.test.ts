/**
 * Payload tier of build-usbboot-rpi, for real on this machine:
 *
 * - a look-alike of Raspberry Pi OS Lite arm64 (test/payload/rpios-lookalike.sh:
 *   Debian bookworm arm64 in Raspberry Pi OS's disk shape, NOT Raspberry Pi
 *   OS; cached under the payload cache, keyed by the script's text);
 * - ci/rpi/rpios-build.py runs bty's usbboot-rpi steps on it with bty's
 *   sdist and wheel at BTY_TEST_VERSION, in a /dev shaped like a privileged
 *   Dagger exec's (loop and partition nodes through ci/loop-shims), arm64
 *   through qemu-user binfmt on an amd64 host;
 * - ci/rpi/rpios-verify.py passes its output, and fails a copy with one
 *   byte flipped and one whose userconfig.service is no longer masked.
 *
 * What only the real image can show (its Raspberry Pi archive, kernels,
 * initramfs hooks writing to /boot/firmware, a boot on a Pi) is not here.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { btyCheckout, CI_DIR, HOST_CA, sandboxArgv, scratch, uvBin } from "./host.js";
import { rpiosLookalike } from "./rpios.js";
import { requireInstalled, rootMissing } from "../harness/requirements.js";

const BUILD = join(CI_DIR, "rpi/rpios-build.py");
const VERIFY = join(CI_DIR, "rpi/rpios-verify.py");
/** Look-alike (~4 min), build (~10 min alone on 2 cores under qemu-user) and gzip: generous for a busy machine. */
const BUILD_TIMEOUT_MS = 60 * 60_000;

function sh(argv: string[], opts: { cwd?: string; timeout?: number } = {}) {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: opts.cwd, maxBuffer: 1 << 28, timeout: opts.timeout });
}

const has = (tool: string) => sh(["sh", "-c", `command -v ${tool}`]).status === 0;

/** What the build, the look-alike or the verifier lacks here, named with what installs it. */
function rpiMissing(): string | undefined {
  const tools: [string, string][] = [
    ["mmdebstrap", "mmdebstrap"], ["arch-test", "arch-test"], ["mkfs.vfat", "dosfstools"], ["sfdisk", "fdisk"],
    ["xz", "xz-utils"], ["growpart", "cloud-guest-utils"], ["debugfs", "e2fsprogs"], ["bwrap", "bubblewrap"],
  ];
  const missing = tools.filter(([tool]) => !has(tool)).map(([, pkg]) => pkg);
  const filesystems = readFileSync("/proc/filesystems", "utf8");
  // The boot partition: the kernel's vfat, else fusefat (rpios-build.py's fallback).
  if (!/\tvfat$/m.test(filesystems) && !has("fusefat")) missing.push("fusefat");
  if (missing.length > 0) return `apt-get install ${[...new Set(missing)].join(" ")}`;
  if (process.arch !== "arm64") {
    const handler = "/proc/sys/fs/binfmt_misc/qemu-aarch64";
    if (!existsSync(handler) || !readFileSync(handler, "utf8").startsWith("enabled")) {
      return "an enabled qemu-aarch64 binfmt handler (apt-get install qemu-user-static binfmt-support; mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-aarch64)";
    }
  }
  return undefined;
}

/** The first Debian mirror of this machine's apt sources (as rpios-lookalike.sh and ci/media-build.sh find it). */
function hostMirror(): string {
  const r = sh(["sh", "-c", "awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null; awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null"]);
  const mirror = r.stdout.split("\n").find((l) => l.trim() !== "");
  if (!mirror) throw new Error("no Debian mirror in this machine's apt sources");
  return mirror.trim().replace(/\/+$/, "");
}

/** The root partition's byte offset in a raw image (sfdisk's JSON). */
function rootOffset(raw: string): number {
  const r = sh(["sfdisk", "-J", raw]);
  expect(r.status, r.stderr).toBe(0);
  const table = JSON.parse(r.stdout) as { partitiontable: { sectorsize?: number; partitions: { start: number }[] } };
  return table.partitiontable.partitions[1]!.start * (table.partitiontable.sectorsize ?? 512);
}

describe("build-usbboot-rpi on a Raspberry Pi OS look-alike (root, qemu-user arm64)", () => {
  requireInstalled(rootMissing() ?? rpiMissing());
  let version = "";
  let out = "";
  let work = "";
  let base = "";
  const names = () => [`bty-usbboot-rpi-arm64-v${version}.img.gz`, `bty-usbboot-rpi-arm64-v${version}.img.gz.sha256`];
  const verify = (...args: string[]) => sh(["python3", VERIFY, ...args, "--tmp", work], { timeout: 20 * 60_000 });

  beforeAll(() => {
    const made = rpiosLookalike();
    base = made.path;
    const bty = btyCheckout();
    version = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(bty, "pyproject.toml"), "utf8"))![1]!;
    work = scratch("rpi");
    out = join(work, "out");
    const dist = join(work, "dist");
    const uv = sh([join(uvBin(), "uv"), "build", "--wheel", "--out-dir", dist, bty]);
    expect(uv.status, uv.stderr).toBe(0);
    const argv = [
      "python3", BUILD, "--image", base, "--source", bty, "--wheel", dist, "--version", version,
      "--out", out, "--work", join(work, "build"), "--debian-mirror", hostMirror(), "--ca-cert", HOST_CA,
    ];
    const start = performance.now();
    // A /dev like a privileged Dagger exec's: no udev, nodes only as made.
    const r = sh(sandboxArgv(argv, "container"), { timeout: BUILD_TIMEOUT_MS });
    const seconds = (performance.now() - start) / 1000;
    writeFileSync(join(work, "build.log"), `${r.stdout}\n${r.stderr}`);
    console.log(`rpi: look-alike ${made.seconds ? `${made.seconds.toFixed(0)} s` : "cached"}; build ${seconds.toFixed(0)} s (log ${join(work, "build.log")})`);
    expect(r.status, `rpios-build.py exited ${r.status}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-4000)}`).toBe(0);
  }, BUILD_TIMEOUT_MS);

  it("returns bty's release name, its .sha256 and the build manifest; the verifier passes it", () => {
    expect(readdirSync(out).sort()).toEqual([...names(), `bty-usbboot-rpi-arm64-v${version}.build-manifest.txt`].sort());
    expect(readFileSync(join(out, names()[1]!), "utf8")).toMatch(new RegExp(`^[0-9a-f]{64}  ${names()[0]!.replaceAll(".", "\\.")}\\n$`));
    const start = performance.now();
    const r = verify(join(out, names()[0]!));
    console.log(`rpi: verify ${((performance.now() - start) / 1000).toFixed(0)} s`);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/passed \d+ checks/);
    expect(r.stdout).toMatch(/^ok {3}userconfig\.service masked: \/etc\/systemd\/system\/userconfig\.service -> \/dev\/null$/m);
    // bty's own quirk, reported: the banner script under /usr/local/sbin is not stamped.
    expect(r.stdout).toMatch(/^note \/usr\/local\/sbin\/bty-boot-banner keeps __BTY_VERSION__/m);
  });

  it("records the base image, the packages and bty's venv in the build manifest", () => {
    const manifest = readFileSync(join(out, `bty-usbboot-rpi-arm64-v${version}.build-manifest.txt`), "utf8");
    const baseSha = createHash("sha256").update(readFileSync(base)).digest("hex");
    expect(manifest).toContain(`sha256\t${baseSha}\n`);
    expect(manifest).toMatch(/^rpi-issue\tbty-ci look-alike of Raspberry Pi OS Lite/m);
    expect(manifest).toMatch(/^arm64-execution\t(native|qemu-user binfmt on \S+)$/m);
    // bty's package list went in (python3-venv is not in the look-alike), as arm64 packages.
    expect(manifest).toMatch(/^python3-venv\t\S+\tarm64$/m);
    expect(manifest).toMatch(/^nvme-cli\t\S+\tarm64$/m);
    expect(manifest).toMatch(new RegExp(`^bty[-_]lab @ file:///opt/bty/bty_lab-${version.replaceAll(".", "\\.")}-py3-none-any\\.whl`, "m"));
  });

  it("fails a copy with one byte flipped (checksum)", () => {
    const dir = join(work, "flipped");
    mkdirSync(dir);
    for (const n of names()) copyFileSync(join(out, n), join(dir, n));
    const gz = join(dir, names()[0]!);
    const data = readFileSync(gz);
    const middle = Math.floor(data.length / 2);
    data[middle] = data[middle]! ^ 0xff;
    writeFileSync(gz, data);
    const r = verify(gz);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAIL checksum: sha256 [0-9a-f]{64} does not match/);
  });

  it("puts the image's apt sources back, and fails an image whose userconfig.service is not masked", () => {
    const dir = join(work, "unmasked");
    mkdirSync(dir);
    const raw = join(dir, "image.img");
    expect(sh(["sh", "-c", `gzip -dc '${join(out, names()[0]!)}' | dd of='${raw}' bs=1M conv=sparse status=none`]).status).toBe(0);
    const device = `${raw}?offset=${rootOffset(raw)}`;
    const cat = (path: string) => sh(["debugfs", "-R", `cat ${path}`, device]).stdout;
    // The --debian-mirror override was for the install only.
    expect(cat("/etc/apt/sources.list.d/raspi.list")).toContain("raspberrypi-archive.invalid");
    expect(sh(["debugfs", "-R", "ls -p /etc/apt/sources.list.d", device]).stdout).not.toContain("bty-ci");
    const rm = sh(["debugfs", "-w", "-R", "rm /etc/systemd/system/userconfig.service", device]);
    expect(rm.status, rm.stderr).toBe(0);
    const gz = join(dir, names()[0]!);
    expect(sh(["sh", "-c", `gzip -1 -c '${raw}' > '${gz}' && rm '${raw}' && sha256sum '${names()[0]!}' > '${names()[1]!}'`], { cwd: dir }).status).toBe(0);
    const r = verify(gz);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^FAIL userconfig\.service masked: \/etc\/systemd\/system\/userconfig\.service -> None$/m);
    expect(r.stderr).toMatch(/failed 1 check\(s\)/);
  });
});
