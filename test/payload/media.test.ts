/**
 * Payload tier of the media builds, for real on this machine:
 *
 * - the verifier (ci/media-verify.py) passes good outputs and fails broken
 *   ones (truncated squashfs, squashfs without bty, ISO without BTY_IMAGES,
 *   wrong checksum, packages missing from the image);
 * - bty's own usb_iso_build finishing steps (ci/usb-iso-finish.py, bty's
 *   code from its sdist) give a hybrid ISO its BTY_IMAGES partition;
 * - usbboot-pc's ISO made again around bty's layer (ci/iso-remaster.py) on a
 *   miniature live-build tree with live-build's own xorriso line: the same
 *   boot records, volume id and dates, bty in the squashfs, checksums right;
 * - a real live-build of netboot-pc from bty's sdist with bty-ci's stage
 *   list (src/media/plan.ts, the argv the Dagger function runs), its trio
 *   verified, its build manifest checked against bty's package lists,
 *   booted under QEMU to bty's marker on the serial console, and then run
 *   through test-pxe's full chain on both firmwares (PXE boot from a real
 *   bty-web and withcache to `bty: flash complete; rebooting`).
 *
 * ramboot-init and the live-build part of usbboot-pc are not built here
 * (another ~10 minutes each on 2 contended cores): `npm run bench` builds
 * them. See README "Media builds".
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { artifactNames, buildManifestName, type MediaLayout, mediaStages, usbIsoStages } from "../../src/media/plan.js";
import type { Step } from "../../src/steps.js";
import { CHAIN_MARKERS } from "../../src/pxe/plan.js";
import { requestsFor } from "./access-log.js";
import { btyCheckout, CI_DIR, HOST_CA, IPXE_TARBALL, R8125_BUNDLE, scratch, uvBin } from "./host.js";
import { customIpxe, PXE_MISSING, runChain } from "./pxe-host.js";
import { assertInstalled, requireInstalled, rootMissing } from "../harness/requirements.js";

const VERIFY = join(CI_DIR, "media-verify.py");
const R8125_COMMIT = "60c86586fbe22cea7ed660a629e2d1374cc26196";
/** Seconds the live system may take under TCG on contended cores to print its marker. */
const BOOT_TIMEOUT_S = 900;
/** The whole netboot-pc build: ~8 minutes alone on 2 cores, 30+ when others build too. */
const BUILD_TIMEOUT_MS = 60 * 60_000;

const lbVersion = (() => {
  const r = spawnSync("dpkg-query", ["-W", "-f", "${Status} ${Version}", "live-build"], { encoding: "utf8" });
  const m = /install ok installed (?:\d+:)?(\d{8})/.exec(r.stdout ?? "");
  return m ? Number(m[1]) : 0;
})();
/** What live-build lacks here: root, and trixie's live-build (.ci/run installs it with ci/install-live-build.sh). */
const liveBuildMissing =
  rootMissing() ??
  (lbVersion >= 20240208 ? undefined : `live-build >= 20240208 (found ${lbVersion || "none"}; ci/install-live-build.sh)`);
// bty's r8125 hook clones GitHub, unreachable here: the vendored bundle stands in.
const haveR8125 = existsSync(R8125_BUNDLE);

function sh(argv: string[], opts: { cwd?: string } = {}) {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: opts.cwd, maxBuffer: 1 << 28 });
}

const verify = (...args: string[]) => sh(["python3", VERIFY, ...args]);
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Run stages in order like the chain of container execs; logs to <log>, tail on failure. */
async function runStages(stages: Step[], log: string): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  const out = createWriteStream(log, { flags: "a" });
  try {
    for (const stage of stages) {
      const start = performance.now();
      out.write(`\n$ ${stage.argv.join(" ")}\n`);
      const child = spawn(stage.argv[0]!, stage.argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      let tail = "";
      const collect = (chunk: Buffer) => {
        out.write(chunk);
        tail = (tail + chunk.toString()).split("\n").slice(-60).join("\n");
      };
      child.stdout!.on("data", collect);
      child.stderr!.on("data", collect);
      const code = await new Promise<number>((res) => child.on("close", (c) => res(c ?? 1)));
      seconds[stage.label] = Math.round((performance.now() - start) / 1000);
      if (code !== 0) throw new Error(`stage "${stage.label}" exited ${code} (log ${log}):\n${tail}`);
    }
  } finally {
    out.end();
  }
  return seconds;
}

/** A hybrid ISO shaped like live-build's (ISO 9660 type-0 p1 at sector 64, EFI p2), without BTY_IMAGES. */
function hybridIso(dir: string): string {
  const root = join(dir, "root");
  mkdirSync(join(root, "isolinux"), { recursive: true });
  copyFileSync("/usr/lib/ISOLINUX/isolinux.bin", join(root, "isolinux/isolinux.bin"));
  expect(sh(["mkfs.vfat", "-C", join(dir, "efi.img"), "2048"]).status).toBe(0);
  const iso = join(dir, "live-image-amd64.hybrid.iso");
  const r = sh([
    "xorriso", "-as", "mkisofs", "-quiet", "-V", "BTY", "-iso_mbr_part_type", "0x00", "-partition_offset", "16",
    "-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin", "-c", "isolinux/boot.cat", "-b", "isolinux/isolinux.bin",
    "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", "-eltorito-alt-boot",
    "-e", "--interval:appended_partition_2:all::", "-no-emul-boot",
    "-append_partition", "2", "0xef", join(dir, "efi.img"), "-o", iso, root,
  ]);
  expect(r.status, r.stderr).toBe(0);
  return iso;
}

describe("media verifier", () => {
  it("fails a truncated squashfs and one without bty's install path; passes a good one", () => {
    const dir = scratch("media-sq");
    const tree = join(dir, "tree/opt/bty/venv/bin");
    mkdirSync(tree, { recursive: true });
    // Incompressible content, so truncation cuts into the data.
    writeFileSync(join(tree, "bty"), Buffer.from(Array.from({ length: 1 << 20 }, () => Math.floor(Math.random() * 256))));
    const good = join(dir, "good.squashfs");
    expect(sh(["mksquashfs", join(dir, "tree"), good, "-noappend", "-quiet", "-no-progress"]).status).toBe(0);
    expect(verify("squashfs", good, "--path", "/opt/bty/venv/bin/bty").status).toBe(0);

    const cut = join(dir, "cut.squashfs");
    copyFileSync(good, cut);
    truncateSync(cut, Math.floor(statSync(good).size / 2));
    const truncated = verify("squashfs", cut, "--path", "/opt/bty/venv/bin/bty");
    expect(truncated.status).toBe(1);
    expect(truncated.stderr).toMatch(/truncated/);

    const missing = verify("squashfs", good, "--path", "/opt/bty/venv/bin/bty", "--path", "/usr/local/bin/bty");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/does not contain \/usr\/local\/bin\/bty/);

    const notSquashfs = verify("squashfs", join(dir, "tree/opt/bty/venv/bin/bty"));
    expect(notSquashfs.status).toBe(1);
  });

  it("fails a wrong checksum and a manifest naming a missing file", () => {
    const dir = scratch("media-sum");
    writeFileSync(join(dir, "a.bin"), "a");
    expect(sh(["sh", "-c", "sha256sum a.bin > a.sha256"], { cwd: dir }).status).toBe(0);
    expect(verify("checksums", join(dir, "a.sha256")).status).toBe(0);
    writeFileSync(join(dir, "a.bin"), "b");
    expect(verify("checksums", join(dir, "a.sha256")).stderr).toMatch(/checksum of a.bin does not match/);
    writeFileSync(join(dir, "b.sha256"), `${"0".repeat(64)}  gone.bin\n`);
    expect(verify("checksums", join(dir, "b.sha256")).stderr).toMatch(/gone.bin is missing/);
  });

  it("names the packages of bty's lists an image lacks (the silent no-firmware trap)", () => {
    const dir = scratch("media-pkg");
    writeFileSync(join(dir, "bty-base.list.chroot"), "# comment\nlive-boot firmware-realtek\ncurl\n");
    writeFileSync(join(dir, "installed.txt"), "live-boot\t1\tall\ncurl\t8\tamd64\n");
    const r = verify("packages", "--installed", join(dir, "installed.txt"), "--list", join(dir, "bty-base.list.chroot"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not installed in the image: firmware-realtek \(bty-base.list.chroot\)/);
    // Installed by live-build, purged later by a hook of bty's: allowed, and said.
    writeFileSync(join(dir, "built.txt"), "live-boot\t1\nfirmware-realtek\t2\ncurl\t8\n");
    const built = verify(
      "packages", "--installed", join(dir, "installed.txt"), "--built", join(dir, "built.txt"),
      "--list", join(dir, "bty-base.list.chroot"),
    );
    expect(built.status).toBe(0);
    expect(built.stdout).toMatch(/removed after install by a hook: firmware-realtek/);
    // The Contents trap: live-build's firmware list came back empty.
    const trap = verify(
      "packages", "--installed", join(dir, "installed.txt"), "--built", join(dir, "built.txt"),
      "--list", join(dir, "bty-base.list.chroot"), "--min-firmware", "10",
    );
    expect(trap.status).toBe(1);
    expect(trap.stderr).toMatch(/only 0 firmware package\(s\) in the image .*expected at least 10/);
  });

  it("rejects what is not a kernel or an initramfs", () => {
    const dir = scratch("media-kern");
    writeFileSync(join(dir, "x"), Buffer.alloc(4096, 7));
    expect(verify("kernel", join(dir, "x")).stderr).toMatch(/not an x86 bzImage/);
    expect(verify("initrd", join(dir, "x")).stderr).toMatch(/no gzip\/xz\/zstd\/lz4 magic/);
  });
});

describe("media-build.sh refuses bad input before building", () => {
  const script = join(CI_DIR, "media-build.sh");
  it("a checkout without bty-media/, an unknown variant, a missing wheel", () => {
    const empty = scratch("media-bad");
    writeFileSync(join(empty, "pyproject.toml"), '[project]\nname = "bty-lab"\nversion = "1.0.0"\n');
    const work = join(empty, "work");
    const noMedia = sh(["bash", script, "prepare", "--source", empty, "--variant", "netboot-pc", "--work", work]);
    expect(noMedia.status).toBe(2);
    expect(noMedia.stderr).toMatch(/no bty-media\/live-build in .*must contain bty-media/);
    expect(existsSync(join(work, "lb"))).toBe(false);
    const badVariant = sh(["bash", script, "prepare", "--source", empty, "--variant", "usbboot-rpi", "--work", work]);
    expect(badVariant.stderr).toMatch(/unknown variant 'usbboot-rpi'/);
    mkdirSync(join(work, "lb/chroot/usr"), { recursive: true });
    const noWheel = sh(["bash", script, "install-bty", "--work", work, "--wheel", join(empty, "dist")]);
    expect(noWheel.status).toBe(2);
    expect(noWheel.stderr).toMatch(/--wheel must name bty's wheel/);
    const noRootfs = sh(["bash", script, "binary", "--work", join(empty, "nowhere"), "--variant", "netboot-pc"]);
    expect(noRootfs.stderr).toMatch(/run the rootfs stage first/);
  });
});

describe("usbboot-pc ISO finishing with bty's own usb_iso_build (root: loop devices)", () => {
  requireInstalled(rootMissing());
  it("adds the BTY_IMAGES exFAT partition; an ISO without it fails verification", async () => {
    const bty = btyCheckout();
    const work = scratch("media-iso");
    const out = join(work, "out");
    mkdirSync(out);
    const iso = hybridIso(work);
    const published = join(out, artifactNames("usbboot-pc", "0.77.2")[0]!);
    copyFileSync(iso, published);
    // Without BTY_IMAGES (live-build's ISO as it comes) the verifier refuses it.
    const bare = verify("iso", published, "--label", "BTY_IMAGES");
    expect(bare.status).toBe(1);
    expect(bare.stderr).toMatch(/no BTY_IMAGES partition/);
    // What bty's binary hook leaves for its bootloader check.
    mkdirSync(join(work, "lb/binary/boot/grub"), { recursive: true });
    writeFileSync(join(work, "lb/binary/.bty-bootloader-hook-ran"), "");
    writeFileSync(join(work, "lb/binary/boot/grub/grub.cfg"), "set timeout=0\nset timeout_style=hidden\n");
    const layout: MediaLayout = { ciDir: CI_DIR, source: bty, work, out };
    await runStages(usbIsoStages(layout, "0.77.2"), join(work, "stages.log"));
    expect(verify("iso", published, "--label", "BTY_IMAGES").stdout).toMatch(/partitions 0x00\*, 0xef, 0x07/);
    expect(readFileSync(`${published}.sha256`, "utf8")).toMatch(/^[0-9a-f]{64} {2}bty-usbboot-pc-x86_64-v0\.77\.2\.iso\n$/);
  });
});

// live-build's xorriso line for bty's usbboot-pc ISO, as it recorded it in
// the binary tree's .disk/mkisofs (live-build 20250505, bty 0.77.2).
const LB_XORRISO =
  'xorriso -as mkisofs -R -r -J -joliet-long -l -cache-inodes -iso-level 3 -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin ' +
  '-partition_offset 16 -A "Debian Live" -p "live-build 20250505+deb13u1; https://salsa.debian.org/live-team/live-build" ' +
  '-V "Debian trixie 20261204-19:37" --modification-date=2026120419374000 -b isolinux/isolinux.bin -c isolinux/boot.cat ' +
  "-no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot " +
  "-isohybrid-gpt-basdat -isohybrid-apm-hfsplus -o live-image-amd64.hybrid.iso binary\n";

describe("usbboot-pc's ISO made again around bty's layer (ci/iso-remaster.py)", () => {
  it("appends bty's /opt to the squashfs, updates sha256sum.txt, keeps boot records, volume id and dates; live-build's tree stays as it was", () => {
    const work = scratch("iso-remaster");
    const lb = join(work, "lb");
    const binary = join(lb, "binary");
    // live-build's binary tree in miniature: the same boot files, a base squashfs without /opt.
    mkdirSync(join(binary, "isolinux"), { recursive: true });
    copyFileSync("/usr/lib/ISOLINUX/isolinux.bin", join(binary, "isolinux/isolinux.bin"));
    mkdirSync(join(binary, "boot/grub"), { recursive: true });
    expect(sh(["mkfs.vfat", "-C", join(binary, "boot/grub/efi.img"), "2048"]).status).toBe(0);
    mkdirSync(join(work, "base/etc"), { recursive: true });
    writeFileSync(join(work, "base/etc/hostname"), "bty\n");
    mkdirSync(join(binary, "live"));
    const base = join(binary, "live/filesystem.squashfs");
    expect(sh(["mksquashfs", join(work, "base"), base, "-noappend", "-quiet", "-no-progress"]).status).toBe(0);
    writeFileSync(join(binary, "live/vmlinuz"), "a kernel\n");
    // live-build's initrd under two names, one file: the ISO stores it once.
    writeFileSync(join(binary, "live/initrd.img"), Buffer.alloc(1 << 20, 7));
    linkSync(join(binary, "live/initrd.img"), join(binary, "live/initrd.img-6.12"));
    // As live-build lists them: not isolinux.bin, which xorriso patches in the image (-boot-info-table).
    expect(sh(["sh", "-c", "find . -type f ! -name isolinux.bin | sort | xargs sha256sum > ../sums && mv ../sums sha256sum.txt"], { cwd: binary }).status).toBe(0);
    mkdirSync(join(binary, ".disk"));
    writeFileSync(join(binary, ".disk/mkisofs"), LB_XORRISO);
    const made = sh(["bash", "-c", LB_XORRISO], { cwd: lb });
    expect(made.status, made.stderr).toBe(0);
    const sums = readFileSync(join(binary, "sha256sum.txt"), "utf8");
    const baseDigest = sha256(base);
    // bty's layer as install-bty leaves it.
    mkdirSync(join(work, "layer/opt/bty/venv/bin"), { recursive: true });
    writeFileSync(join(work, "layer/opt/bty/venv/bin/bty"), "#!/bin/sh\necho bty\n", { mode: 0o755 });

    const iso = join(work, "out/bty-usbboot-pc-x86_64-v0.77.2.iso");
    const r = sh(["python3", join(CI_DIR, "iso-remaster.py"), "--lb-dir", lb, "--layer", join(work, "layer"), "--work", join(work, "remaster"), "--out", iso]);
    expect(r.status, r.stderr).toBe(0);

    // The boot records, volume id and dates of live-build's ISO; only the
    // sector numbers move (the squashfs grew).
    const records = (file: string) =>
      sh(["xorriso", "-indev", file, "-report_el_torito", "cmd", "-report_system_area", "cmd"]).stdout
        .replaceAll(file, "ISO")
        .replace(/\d+d-\d+d/g, "N-N");
    const lbRecords = records(join(lb, "live-image-amd64.hybrid.iso"));
    expect(lbRecords).toContain("-boot_image isolinux bin_path='/isolinux/isolinux.bin'");
    expect(lbRecords).toContain("-boot_image any efi_path='/boot/grub/efi.img'");
    expect(lbRecords).toContain("-volid 'Debian trixie 20261204-19:37'");
    expect(records(iso)).toEqual(lbRecords);
    const initrdBlocks = sh(["xorriso", "-indev", iso, "-find", "/live", "-name", "initrd*", "-exec", "report_lba"]).stdout
      .split("\n").filter((l) => l.startsWith("File data lba:")).map((l) => l.split(",")[1]!.trim());
    expect(initrdBlocks).toHaveLength(2);
    expect(initrdBlocks[0]).toBe(initrdBlocks[1]);
    // Its squashfs holds the base and bty's layer, and sha256sum.txt matches every file.
    const x = join(work, "extracted");
    expect(sh(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", x]).status).toBe(0);
    const listing = sh(["unsquashfs", "-l", join(x, "live/filesystem.squashfs")]).stdout;
    expect(listing).toContain("squashfs-root/opt/bty/venv/bin/bty");
    expect(listing).toContain("squashfs-root/etc/hostname");
    const check = sh(["sha256sum", "--strict", "-c", "sha256sum.txt"], { cwd: x });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("./live/filesystem.squashfs: OK");
    expect(readFileSync(join(x, "sha256sum.txt"), "utf8")).not.toBe(sums);
    // live-build's tree is as it was: the next remaster starts from the same base.
    expect(sha256(base)).toBe(baseDigest);
    expect(readFileSync(join(binary, "sha256sum.txt"), "utf8")).toBe(sums);
  });
});

describe("live-build time bound", () => {
  requireInstalled(liveBuildMissing);
  it("stops a stage at its bound and prints the stage's last log lines", () => {
    const bty = btyCheckout();
    const work = join(scratch("media-timeout"), "build");
    const layout: MediaLayout = { ciDir: CI_DIR, source: bty, work, out: join(work, "out") };
    const [prepare, rootfs] = mediaStages(layout, "netboot-pc", "0", "/nowhere", { timeoutSeconds: 3 });
    const prep = sh(prepare!.argv);
    expect(prep.status, prep.stderr).toBe(0);
    const start = performance.now();
    const r = sh(rootfs!.argv);
    expect(r.status).toBe(124);
    expect((performance.now() - start) / 1000).toBeLessThan(60);
    expect(r.stderr).toMatch(/'lb bootstrap' hit the time bound of 3s; last 80 log lines:/);
    expect(r.stderr).toMatch(/lb bootstrap/);
  });
});

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
    srv.on("error", rej);
  });
}

describe.skipIf(!haveR8125)(`netboot-pc, really built from bty's sdist${haveR8125 ? "" : ` (skipped: no vendored r8125 bundle at ${R8125_BUNDLE}; set BTY_CI_VENDOR_DIR)`}`, () => {
  requireInstalled(liveBuildMissing);
  let work = "";
  let out = "";
  let version = "";
  let seconds: Record<string, number> = {};
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const bty = btyCheckout();
    version = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(bty, "pyproject.toml"), "utf8"))![1]!;
    work = scratch("media-netboot");
    out = join(work, "out");
    // The wheel as build-wheel makes it (uv build).
    const dist = join(work, "dist");
    const uv = sh([join(uvBin(), "uv"), "build", "--wheel", "--out-dir", dist, bty]);
    expect(uv.status, uv.stderr).toBe(0);
    const r8125Repo = join(work, "r8125.git");
    expect(sh(["git", "clone", "-q", "--bare", R8125_BUNDLE, r8125Repo]).status).toBe(0);
    const layout: MediaLayout = { ciDir: CI_DIR, source: bty, work: join(work, "build"), out };
    seconds = await runStages(
      mediaStages(layout, "netboot-pc", version, dist, { caCert: HOST_CA, r8125Repo }),
      join(work, "stages.log"),
    );
    console.log(`netboot-pc stage seconds: ${JSON.stringify(seconds)}`);
  }, BUILD_TIMEOUT_MS);

  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
  });

  it("returns exactly bty's release names plus the build manifest, checksums matching", () => {
    const names = artifactNames("netboot-pc", version);
    expect(names).toEqual([
      `bty-netboot-pc-x86_64-v${version}.vmlinuz`,
      `bty-netboot-pc-x86_64-v${version}.initrd`,
      `bty-netboot-pc-x86_64-v${version}.squashfs`,
      `bty-netboot-pc-x86_64-v${version}.sha256`,
    ]);
    expect(readdirSync(out).sort()).toEqual([...names, buildManifestName("netboot-pc", version)].sort());
    const sums = readFileSync(join(out, names[3]!), "utf8").trim().split("\n").map((l) => l.split(/\s+/)[1]);
    expect(sums).toEqual(names.slice(0, 3));
    expect(verify("checksums", join(out, names[3]!)).status).toBe(0);
    expect(verify("kernel", join(out, names[0]!)).status).toBe(0);
    expect(verify("initrd", join(out, names[1]!)).status).toBe(0);
    for (const n of names.slice(0, 3)) console.log(`${n}: ${statSync(join(out, n)).size} bytes`);
  });

  it("has bty in the squashfs and none of the build-only CA, pip.conf, gitconfig or r8125 repository", () => {
    const squashfs = join(out, artifactNames("netboot-pc", version)[2]!);
    const listing = sh(["unsquashfs", "-l", "-no-progress", "-d", "", squashfs]);
    expect(listing.status).toBe(0);
    const paths = new Set(listing.stdout.split("\n").map((l) => l.trim()));
    expect(paths).toContain("/opt/bty/venv/bin/bty");
    expect(paths).toContain("/usr/local/bin/bty");
    for (const buildOnly of ["/usr/local/share/bty-ci/extra-ca.crt", "/etc/pip.conf", "/etc/gitconfig", "/var/cache/bty-ci/r8125.git", "/var/tmp/0500-bty-install.hook.chroot"]) {
      expect(paths).not.toContain(buildOnly);
    }
  });

  it("hands lb binary what bty's hook made outside /opt as an archive whose bytes change only with those files", () => {
    // GNU tar's verbose listing: mode, owner/group, size, date, time, name.
    const listing = sh(["env", "TZ=UTC", "tar", "--list", "--verbose", "--full-time", "--numeric-owner", "--file", join(work, "build/bty-outside.tar")]);
    expect(listing.status, listing.stderr).toBe(0);
    const members = listing.stdout.trim().split("\n").map((line) => {
      const [mode, owner, , date, time, name, ...link] = line.split(/\s+/);
      return { mode: mode!, owner: owner!, when: `${date} ${time}`, name: name!, link: link.join(" ") };
    });
    expect(members.find((m) => m.name === "./usr/local/bin/bty")).toMatchObject({ mode: expect.stringMatching(/^l/), link: "-> /opt/bty/venv/bin/bty" });
    // Files only (the chroot's directories keep their own attributes), in name order, owners as numbers...
    expect(members.filter((m) => m.mode.startsWith("d"))).toEqual([]);
    const names = members.map((m) => m.name);
    expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(new Set(members.map((m) => m.owner))).toEqual(new Set(["0/0"]));
    // ...and one time for all, the Debian release's: not when the hook ran.
    const release = statSync(join(work, "build/lb/chroot/etc/debian_version")).mtime;
    const stamp = sh(["date", "-u", "-d", `@${Math.floor(release.getTime() / 1000)}`, "+%Y-%m-%d %H:%M:%S"]).stdout.trim();
    expect(new Set(members.map((m) => m.when))).toEqual(new Set([stamp]));
  });

  it("records packages, bty's venv, r8125 and live-build in the build manifest, all listed packages present", () => {
    const manifest = readFileSync(join(out, buildManifestName("netboot-pc", version)), "utf8");
    expect(manifest).toMatch(/^live-build\t(?:\d+:)?20\d{6}/m);
    expect(manifest).toMatch(new RegExp(`^bty[-_]lab[ @=]`, "m"));
    expect(manifest).toMatch(/^firmware-realtek\t/m);
    expect(manifest).toMatch(/^linux-image-amd64\t/m);
    expect(manifest).toContain(`commit\t${R8125_COMMIT}`);
  });

  it("a truncated copy of the real squashfs fails verification", () => {
    const squashfs = join(out, artifactNames("netboot-pc", version)[2]!);
    const cut = join(work, "cut.squashfs");
    expect(sh(["sh", "-c", `head -c ${Math.floor(statSync(squashfs).size * 0.9)} '${squashfs}' > '${cut}'`]).status).toBe(0);
    const r = verify("squashfs", cut, "--path", "/opt/bty/venv/bin/bty");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/truncated/);
  });

  it("boots under QEMU with bty's append line and the squashfs over HTTP, to bty's marker", { timeout: (BOOT_TIMEOUT_S + 60) * 1000 }, async () => {
    const [kernel, initrd, squashfs] = artifactNames("netboot-pc", version).map((n) => join(out, n));
    // bty's own append line, as live-build recorded it from bty's auto/config.
    const binaryConfig = readFileSync(join(work, "build/lb/config/binary"), "utf8");
    const append = /^LB_BOOTAPPEND_LIVE="([^"]*)"/m.exec(binaryConfig)![1]!;
    expect(append).toContain(`bty.version=${version}`);
    const port = await freePort();
    const http = spawn("python3", ["-m", "http.server", "--bind", "127.0.0.1", String(port)], { cwd: out, stdio: "ignore" });
    children.push(http);
    const kvm = sh(["sh", "-c", "test -w /dev/kvm && timeout 5 qemu-system-x86_64 -accel kvm -M none -display none -S </dev/null"]).status === 0;
    const accel = kvm ? "kvm" : "tcg";
    console.log(`QEMU accelerator: ${accel}${kvm ? "" : " (no working /dev/kvm)"}`);
    const marker = `bty: entered v${version}`;
    const serial = join(work, "serial.log");
    const start = performance.now();
    const qemu = spawn("qemu-system-x86_64", [
      // One vCPU under TCG: a two-vCPU TCG guest can oops on the kernel's int3-based
      // text patching during boot (seen: "Oops: int3" in sched_clock_cpu at 4.5 s),
      // as chain-test.py and ipxe-chain-boot.sh already avoid with -smp 1.
      "-accel", accel, "-m", "3072", "-smp", kvm ? "2" : "1", "-nographic", "-no-reboot",
      "-kernel", kernel!, "-initrd", initrd!,
      "-append", `${append} fetch=http://10.0.2.2:${port}/${squashfs!.split("/").at(-1)} console=ttyS0,115200`,
      "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(qemu);
    const closed = new Promise<void>((res) => qemu.on("close", () => res()));
    const log = createWriteStream(serial);
    let seen = "";
    const found = await new Promise<boolean>((res) => {
      const timer = setTimeout(() => res(false), BOOT_TIMEOUT_S * 1000);
      const onData = (chunk: Buffer) => {
        log.write(chunk);
        seen = (seen + chunk.toString()).slice(-20000);
        if (seen.includes(marker)) {
          clearTimeout(timer);
          res(true);
        }
      };
      qemu.stdout!.on("data", onData);
      qemu.stderr!.on("data", onData);
      void closed.then(() => {
        clearTimeout(timer);
        res(seen.includes(marker));
      });
    });
    qemu.kill("SIGKILL");
    http.kill("SIGKILL");
    // QEMU's pipes still deliver what it wrote before the kill: end the serial
    // log once they are closed, not before (a write after end is an error).
    await closed;
    log.end();
    const secs = Math.round((performance.now() - start) / 1000);
    console.log(`boot to "${marker}": ${found ? `${secs} s` : "not reached"} (${accel}); serial log ${serial}`);
    expect(found, `no "${marker}" on the serial console within ${BOOT_TIMEOUT_S}s; last output:\n${seen.slice(-3000)}`).toBe(true);
  });
  // test-pxe's full chain on this very trio, bty's production path:
  // DHCP -> iPXE -> bty-web's per-MAC script -> this kernel and initrd -> the
  // squashfs over HTTP -> bty's auto-flash of the image seeded in withcache.
  // Both firmwares at once: each run has its own network segment and MACs
  // (pxe.test.ts proves two runs do not collide), and a TCG guest keeps one
  // core busy, so two share the machine's two; the flash budget below holds.
  it.each(["bios", "uefi"] as const)(
    "%s: PXE-boots through a real bty-web and withcache and flashes itself (test-pxe's full chain)",
    { timeout: 30 * 60_000, concurrent: true },
    async (firmware) => {
      assertInstalled(PXE_MISSING);
      if (firmware === "uefi" && !existsSync(IPXE_TARBALL)) throw new Error(`no vendored iPXE tarball at ${IPXE_TARBALL}: set BTY_CI_VENDOR_DIR`);
      const bty = btyCheckout();
      const efi = firmware === "uefi" ? (await customIpxe(bty, version)).efi : undefined;
      const run = await runChain({ version, trio: out, efi }, firmware, CHAIN_MARKERS);
      const flashAt = /seen {4}flash-complete after ([\d.]+)s/.exec(run.out)?.[1];
      console.log(`${firmware} full chain: QEMU start -> flash complete ${flashAt ?? "not reached"} s; whole run ${run.seconds.toFixed(0)} s (${run.work})`);
      expect(run.code, `${run.out}\n${run.err}`).toBe(0);
      expect(run.out).toMatch(/PXE chain complete: all 8 markers seen/);
      const mac = /PUT http:\/\/192\.168\.99\.1:8080\/machines\/(\S+) -> 200/.exec(readFileSync(join(run.work, "run/seeding.log"), "utf8"))![1]!;
      // The live system fetched its squashfs, asked bty-web for its plan and reported back...
      const web = readFileSync(join(run.work, "server-logs/bty-web.log"), "utf8");
      const statuses = (method: string, path: string) => requestsFor(web, method, path).map((r) => r.status);
      expect(statuses("GET", `/boot/bty-netboot-pc-x86_64-v${version}.squashfs`)).toContain(200);
      expect(statuses("GET", `/pxe/${mac}/plan`)).toContain(200);
      expect(statuses("POST", `/pxe/${mac}/status`)).toContain(204);
      // ...and pulled the image through withcache, as bty's auto-flash does.
      const withcache = readFileSync(join(run.work, "server-logs/withcache.log"), "utf8");
      expect(requestsFor(withcache, "GET", "/b/", { prefix: true }).filter((r) => r.path.endsWith("/test.qcow2") && r.status === 200)).not.toEqual([]);
      // The budget under TCG: the whole chain through the flash in 10 minutes.
      expect(Number(flashAt)).toBeLessThanOrEqual(600);
    },
  );
});
