/**
 * Payload tier of test-usb-grow and test-usb-ventoy, for real on this
 * machine: the same argv lists the Dagger functions run (src/usb/plan.ts),
 * real QEMU (KVM if it works, TCG here), real SSH, real loop devices.
 *
 * In `.ci/run` the ISO is NOT bty's usbboot-pc (its live-build takes ~25
 * minutes more; the real ISO's run is below, fed by the bench):
 * test/payload/usb-mimic/make-iso.sh
 * makes a small hybrid ISO shaped like live-build's whose guest mimics only
 * what bty's tests look at (serial login, SSH as root/bty, a BTY_IMAGES grow
 * leaving .bty-grown, image_root: on tty1); bty's own usb_iso_build code
 * (ci/usb-iso-finish.py, from bty's sdist) appends BTY_IMAGES to it.
 * Ventoy: no release is reachable here, so the staging runs with a stand-in
 * Ventoy2Disk.sh that lays out Ventoy's partitions; the Ventoy boot is
 * skipped (reason in its name).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { parse as parseToml } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { bundleDir, type UsbLayout, usbGrowSteps, usbVentoySteps } from "../../src/usb/plan.js";
import { anyFailed, BTY_TEST_VERSION, btyCheckout, btySdist, CACHE_DIR, CI_DIR, hostEnv, REPO, scratch, uvBin } from "./host.js";
import { requireInstalled, rootMissing } from "../harness/requirements.js";
import { constraintsKey, uvLockConstraints } from "./python-lock.js";

const MIMIC = join(REPO, "test/payload/usb-mimic");
const VERSION = "0.0.0-mimic";
/** The grow run must fit its budget: 4 minutes under TCG. */
const GROW_BUDGET_S = 240;

function sh(argv: string[], opts: { input?: string } = {}) {
  return spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", input: opts.input, maxBuffer: 1 << 26 });
}

/** Run a step; the error carries its output (the debug bundle on a VM failure). */
function run(step: { label: string; argv: string[] }) {
  const r = sh(step.argv);
  if (r.status !== 0) throw new Error(`${step.label} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

function runAsync(argv: string[]): { child: ChildProcess; done: Promise<{ code: number; out: string }> } {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number; out: string }>((res) => child.on("close", (c) => res({ code: c ?? 1, out })));
  return { child, done };
}

/** Loop devices backed by files under `dir`. */
function loopsUnder(dir: string): string[] {
  return sh(["losetup", "-a"]).stdout.split("\n").filter((l) => l.includes(dir));
}

/** QEMU processes whose command line names `dir`. */
function qemusUnder(dir: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
        return cmd.startsWith("qemu-system") && cmd.includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The mimic ISO with bty's BTY_IMAGES, made once and cached like a build artifact. */
function mimicIso(): string {
  // Keyed by the recipe, so a changed make-iso.sh makes a new ISO.
  const recipe = createHash("sha256").update(readFileSync(join(MIMIC, "make-iso.sh"))).digest("hex").slice(0, 12);
  const dir = join(CACHE_DIR, `usb-mimic-${recipe}`);
  const iso = join(dir, `bty-usbboot-pc-x86_64-v${VERSION}.iso`);
  if (existsSync(iso)) return iso;
  mkdirSync(dir, { recursive: true });
  const work = scratch("usb-mimic");
  // Debian's current kernel package, unpacked (not installed).
  const dep = sh(["apt-cache", "depends", "linux-image-amd64"]).stdout.match(/Depends: (linux-image-\S+)/)?.[1];
  expect(dep, "apt-cache knows linux-image-amd64").toBeTruthy();
  const dl = spawnSync("apt-get", ["download", dep!], { cwd: work, encoding: "utf8" });
  expect(dl.status, dl.stderr).toBe(0);
  const deb = readdirSync(work).find((f) => f.endsWith(".deb"))!;
  run({ label: "unpack kernel", argv: ["dpkg-deb", "-x", join(work, deb), join(work, "kernel")] });
  const bare = join(work, "mimic.iso");
  run({ label: "make mimic ISO", argv: ["bash", join(MIMIC, "make-iso.sh"), "--kernel-root", join(work, "kernel"), "--out", bare] });
  // What bty's binary hook leaves for its bootloader check; then bty's own code appends BTY_IMAGES.
  mkdirSync(join(work, "lb/binary/boot/grub"), { recursive: true });
  writeFileSync(join(work, "lb/binary/.bty-bootloader-hook-ran"), "");
  writeFileSync(join(work, "lb/binary/boot/grub/grub.cfg"), "set timeout=0\nset timeout_style=hidden\n");
  const finished = join(work, `bty-usbboot-pc-x86_64-v${VERSION}.iso`);
  copyFileSync(bare, finished);
  run({
    label: "bty usb_iso_build finish",
    argv: ["bash", join(CI_DIR, "flash-env.sh"), "--", "python3", join(CI_DIR, "usb-iso-finish.py"),
      "--bty-scripts", join(btyCheckout(), "cijoe/scripts"), "--build-dir", join(work, "lb"), "--iso", finished],
  });
  copyFileSync(bare, join(dir, "without-bty-images.iso"));
  renameSync(finished, iso);
  rmSync(work, { recursive: true, force: true });
  return iso;
}

/**
 * bty at the tested release with the [tui] extra, as the live image's
 * 0500-bty-install hook installs it, its dependencies at that sdist's uv.lock,
 * in a venv (cached): the code the Ventoy checks import in the guest.
 */
function btyVenv(): string {
  const lock = spawnSync("tar", ["-xzOf", btySdist(), `bty_lab-${BTY_TEST_VERSION}/uv.lock`], { encoding: "utf8" });
  expect(lock.status, lock.stderr).toBe(0);
  const constraints = uvLockConstraints(lock.stdout);
  const venv = join(CACHE_DIR, `usb-bty-venv-${BTY_TEST_VERSION}-${constraintsKey(constraints)}`);
  if (!existsSync(join(venv, "bin/python3"))) {
    const uv = join(uvBin(), "uv");
    const env = hostEnv();
    const file = `${venv}.constraints.txt`;
    writeFileSync(file, `${constraints.join("\n")}\n`);
    const install = [uv, "pip", "install", "--python", join(venv, "bin/python3"), "-c", file, `bty-lab[tui]==${BTY_TEST_VERSION}`];
    for (const argv of [[uv, "venv", "--python", "/usr/bin/python3", venv], install]) {
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env });
      expect(r.status, r.stderr).toBe(0);
    }
  }
  return venv;
}

/**
 * Run one of usb-vm.py's guest checks (by marker) here, with bty's venv at
 * /opt/bty/venv and `images` at /var/lib/bty/images, as in the live system.
 */
function guestCheck(key: string, images: string): { status: number | null; out: string } {
  const listed = sh(["python3", join(CI_DIR, "usb/usb-vm.py"), "--scenario", "ventoy", "--list-checks"]).stdout;
  const command = listed.split("\n").find((l) => l.startsWith(`${key}\t`))?.slice(key.length + 1);
  expect(command, `usb-vm.py lists ${key}`).toBeTruthy();
  const r = sh(["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
    "--tmpfs", "/opt", "--ro-bind", btyVenv(), "/opt/bty/venv",
    "--tmpfs", "/var/lib", "--ro-bind", images, "/var/lib/bty/images", "sh", "-c", command!]);
  return { status: r.status, out: r.stdout + r.stderr };
}

/**
 * Work directories of this file's runs. A failed file keeps its scratch
 * (test/payload/setup.ts) for the debug bundles, without each run's 4 GiB
 * sparse disk.
 */
const works: string[] = [];
const layoutFor = (iso: string, work = scratch("usb")): UsbLayout => {
  works.push(work);
  return { ciDir: CI_DIR, work, iso };
};
afterAll(({}, file) => {
  if (anyFailed(file)) for (const w of works) rmSync(join(w, "disk.img"), { force: true });
});

describe("test-usb-grow on a mimic usbboot-pc ISO (root: loop devices)", () => {
  requireInstalled(rootMissing());
  let iso = "";
  beforeAll(() => {
    iso = mimicIso();
  }, 600_000);

  it("stages, boots, sees the wizard on tty1, powers off and finds BTY_IMAGES grown, within 4 minutes", () => {
    const layout = layoutFor(iso);
    const start = performance.now();
    const [stage, vm, assert] = usbGrowSteps(layout);
    run(stage!);
    const vmRun = run(vm!);
    const grown = run(assert!);
    const seconds = Math.round((performance.now() - start) / 1000);
    console.log(`bench: USB grow (stage, boot, wizard, grow, poweroff, assert): ${seconds} s`);
    expect(seconds).toBeLessThanOrEqual(GROW_BUDGET_S);
    expect(vmRun.stdout).toMatch(/accelerator (kvm|tcg) \(/);
    expect(grown.stdout).toMatch(/largest partition loop\d+p3 is \d+ B \(>= 1073741824 B\)/);
    expect(grown.stdout).toMatch(/BTY_IMAGES carries \.bty-grown/);
    const markers = JSON.parse(readFileSync(join(bundleDir(layout), "markers.json"), "utf8"));
    expect(Object.keys(markers.markers)).toEqual(["qemu-started", "login", "ssh", "wizard", "poweroff"]);
    expect(markers.failure).toBeNull();
    expect(readFileSync(join(bundleDir(layout), "qemu-cmdline.txt"), "utf8")).toMatch(/-drive file=\S+disk\.img,format=raw,if=ide .*-no-reboot/);
    expect(readFileSync(join(bundleDir(layout), "steps.log"), "utf8")).toMatch(/image_root: \/var\/lib\/bty\/images/);
    expect(loopsUnder(layout.work)).toEqual([]);
    expect(qemusUnder(layout.work)).toEqual([]);
  }, 600_000);

  it("an ISO without BTY_IMAGES fails at staging with the fix, and no VM starts", () => {
    const layout = layoutFor(join(dirname(iso), "without-bty-images.iso"));
    const r = sh(usbGrowSteps(layout)[0]!.argv);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/no BTY_IMAGES partition/);
    expect(r.stderr).toMatch(/pass the ISO from build-usbboot-pc/);
    expect(existsSync(join(layout.work, "disk.img"))).toBe(false);
    expect(existsSync(bundleDir(layout))).toBe(false);
  });

  it("an un-grown disk fails the assertion (the check can fail)", () => {
    const layout = layoutFor(iso);
    run(usbGrowSteps(layout)[0]!);
    const r = sh(usbGrowSteps(layout)[2]!.argv);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/NOT GROWN: largest partition loop\d+p3 is \d+ B \(< 1073741824 B\)/);
    expect(loopsUnder(layout.work)).toEqual([]);
  });

  it("a run killed while booting leaves no QEMU and writes its debug bundle", async () => {
    const layout = layoutFor(iso);
    run(usbGrowSteps(layout)[0]!);
    const { child, done } = runAsync(usbGrowSteps(layout)[1]!.argv);
    await expect.poll(() => existsSync(join(bundleDir(layout), "qemu-cmdline.txt")), { timeout: 60_000 }).toBe(true);
    await expect.poll(() => qemusUnder(layout.work).length, { timeout: 10_000 }).toBe(1);
    child.kill("SIGTERM");
    const { code, out } = await done;
    expect(code).toBe(143);
    expect(out).toMatch(/FAILED: stopped by signal/);
    expect(out).toMatch(/---- last \d+ lines of serial\.log ----/);
    expect(qemusUnder(layout.work)).toEqual([]);
    const markers = JSON.parse(readFileSync(join(bundleDir(layout), "markers.json"), "utf8"));
    expect(markers.markers["qemu-started"]).toBeTypeOf("number");
    expect(markers.markers.wizard).toBeUndefined();
  }, 120_000);

  it("two runs at once on one host do not collide (own ports, own disks)", async () => {
    const layouts = [layoutFor(iso), layoutFor(iso)];
    for (const l of layouts) run(usbGrowSteps(l)[0]!);
    const runs = layouts.map((l) => runAsync(usbGrowSteps(l)[1]!.argv));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const r of results) expect(r.code, r.out).toBe(0);
    const ports = layouts.map((l) => JSON.parse(readFileSync(join(bundleDir(l), "markers.json"), "utf8")).ssh_port);
    expect(new Set(ports).size).toBe(2);
    for (const l of layouts) expect(run(usbGrowSteps(l)[2]!).stdout).toMatch(/BTY_IMAGES carries \.bty-grown/);
  }, 600_000);
});

/**
 * bty's real usbboot-pc ISO (build-usbboot-pc's output, ~17 minutes of
 * live-build on 2 cores: more than `.ci/run` can hold next to netboot-pc's):
 * the bench builds it (`npm run bench -- --media=usbboot-pc --usb`) or takes
 * one (`--usb=ISO`) and hands it here through BTY_CI_USBBOOT_ISO; a path of
 * your own works too. Under KVM the grow is bty's boot-time path; under TCG,
 * where bty's bty-usb-grow.service misses its 20 s job cap, usb-vm.py starts
 * the unit after boot with the cap lifted for that boot only, and the same
 * assertion follows.
 */
const REAL_ISO = process.env.BTY_CI_USBBOOT_ISO;
const realAccel = REAL_ISO ? sh(["bash", join(CI_DIR, "qemu-accel.sh")]).stdout.trim() : "";
describe.skipIf(!REAL_ISO)(
  "test-usb-grow on bty's real usbboot-pc ISO (root; skipped unless BTY_CI_USBBOOT_ISO names a build-usbboot-pc ISO: a 1 GB live build .ci/run does not make, `npm run bench -- --media=usbboot-pc --usb` builds one and runs these)",
  () => {
    requireInstalled(rootMissing());
    let layout: UsbLayout;
    let vmOut = "";
    let grownOut = "";
    beforeAll(() => {
      expect(REAL_ISO!, "a build-usbboot-pc ISO").toMatch(/bty-usbboot-pc-x86_64-v[^/]+\.iso$/);
      layout = layoutFor(REAL_ISO!);
    });

    it("stages, boots bty's live system, SSH as root/bty, the wizard on tty1, the grow, powers off, BTY_IMAGES grown, within 4 minutes", () => {
      const start = performance.now();
      const [stage, vm, assert] = usbGrowSteps(layout);
      run(stage!);
      vmOut = run(vm!).stdout;
      grownOut = run(assert!).stdout;
      const seconds = Math.round((performance.now() - start) / 1000);
      console.log(`bench: USB grow run on the real usbboot-pc ISO (stage, boot, wizard, grow, poweroff, assert; ${realAccel}): ${seconds} s`);
      expect(vmOut).toMatch(new RegExp(`accelerator ${realAccel} \\(`));
      const markers = JSON.parse(readFileSync(join(bundleDir(layout), "markers.json"), "utf8"));
      expect(markers.failure).toBeNull();
      const steps = readFileSync(join(bundleDir(layout), "steps.log"), "utf8");
      // bty's own wizard on the real image's tty1 (the wizard marker is bty's
      // `grep -q 'image_root:' /dev/vcs1`; the screen's first lines are logged).
      expect(steps).toMatch(/bty: v[\d.]+ starting\.\.\./);
      expect(steps).toMatch(/Pick an image source/);
      // bty's own grow script's words, in its status file.
      expect(steps).toMatch(/BTY_IMAGES grown to fill \/dev\/sd[a-z]; content preserved/);
      expect(grownOut).toMatch(/largest partition loop\d+p\d+ is \d+ B \(>= 1073741824 B\)/);
      expect(grownOut).toMatch(/BTY_IMAGES carries \.bty-grown/);
      expect(seconds).toBeLessThanOrEqual(GROW_BUDGET_S);
      expect(qemusUnder(layout.work)).toEqual([]);
      expect(loopsUnder(layout.work)).toEqual([]);
    }, 900_000);

    it.skipIf(realAccel !== "kvm")(
      `under KVM the grow is bty's boot-time path${realAccel === "kvm" ? "" : " — skipped: TCG here"}`,
      () => {
        const markers = JSON.parse(readFileSync(join(bundleDir(layout), "markers.json"), "utf8"));
        expect(markers.grow_path).toBe("boot");
        expect(Object.keys(markers.markers)).toEqual(["qemu-started", "login", "ssh", "wizard", "poweroff"]);
        expect(vmOut).toMatch(/grow passed in [\d.]+s \(kvm, grown at boot\)/);
      },
    );

    it.skipIf(realAccel !== "tcg")(
      `under TCG bty's grow unit, timed out at boot, is started after the wizard with its cap lifted for that boot; the bundle says so${realAccel === "tcg" ? "" : " — skipped: KVM here"}`,
      () => {
        const steps = readFileSync(join(bundleDir(layout), "steps.log"), "utf8");
        expect(steps).toContain("Job bty-usb-grow.service/start timed out");
        expect(steps).toContain("> /run/systemd/system/bty-usb-grow.service.d/50-bty-ci-tcg.conf");
        const markers = JSON.parse(readFileSync(join(bundleDir(layout), "markers.json"), "utf8"));
        expect(markers.grow_path).toBe("runtime");
        expect(Object.keys(markers.markers)).toEqual(["qemu-started", "login", "ssh", "wizard", "grown", "poweroff"]);
        expect(markers.warnings).toEqual([
          "bty-usb-grow.service's start job timed out in the guest (bty's unit caps it at JobTimeoutSec=20s); a TCG boot is too slow for it; it is started again after the wizard check, the cap lifted",
        ]);
        expect(vmOut).toMatch(/grow passed in [\d.]+s \(tcg, grown at runtime\)/);
      },
    );
  },
);

describe("usb-vm.py on a disk that never boots", () => {
  it("fails at the first marker after its budget times the TCG scale, with the debug bundle", () => {
    const work = scratch("usb-noboot");
    writeFileSync(join(work, "disk.img"), Buffer.alloc(1 << 20));
    const start = performance.now();
    const r = sh(["python3", join(CI_DIR, "usb/usb-vm.py"), "--scenario", "grow", "--disk", join(work, "disk.img"),
      "--workdir", join(work, "vm"), "--accel", "tcg", "--timeout", "login=2", "--tcg-scale", "2"]);
    const seconds = (performance.now() - start) / 1000;
    expect(r.status).toBe(1);
    // 2 s under KVM is 4 s under TCG.
    expect(seconds).toBeGreaterThanOrEqual(4);
    expect(seconds).toBeLessThan(30);
    expect(r.stdout).toMatch(/accelerator tcg \(given with --accel\)/);
    expect(r.stderr).toMatch(/FAILED: serial marker login \('login:'\) not seen: MISSING login: 'login:' \(not within 4s\)/);
    expect(r.stderr).toMatch(/qemu: qemu-system-x86_64 -machine pc -cpu max -accel tcg .*-no-reboot/);
    // SeaBIOS writes nothing to the serial port: the bundle says so with an empty tail.
    expect(r.stderr).toMatch(/---- last 60 lines of serial\.log ----/);
    const bundle = JSON.parse(readFileSync(join(work, "vm/markers.json"), "utf8"));
    expect(bundle).toMatchObject({ accelerator: "tcg", failure: expect.stringMatching(/^serial marker login/) });
    expect(Object.keys(bundle.markers)).toEqual(["qemu-started"]);
    expect(qemusUnder(work)).toEqual([]);
  }, 60_000);
});

describe("test-usb-ventoy staging on a real loop device (root; Ventoy2Disk.sh is a stand-in: no Ventoy release reachable here)", () => {
  requireInstalled(rootMissing());
  it("puts the ISO, the local image, the catalog and ventoy.json on Ventoy's data partition, where bty's wizard code finds them", () => {
    const iso = mimicIso();
    const layout = layoutFor(iso);
    const [stage] = usbVentoySteps(layout, MIMIC);
    const r = run(stage!);
    expect(r.stdout).toMatch(/stand-in Ventoy2Disk\.sh: Ventoy's layout on \/dev\/loop\d+/);
    expect(loopsUnder(layout.work)).toEqual([]);
    // Read the staged disk back through a loop device of p1 alone.
    const parts = JSON.parse(sh(["sfdisk", "--json", join(layout.work, "disk.img")]).stdout).partitiontable.partitions;
    expect(parts.map((p: { type: string }) => p.type)).toEqual(["7", "ef"]);
    const loop = sh(["losetup", "-r", "-f", "--show", "-o", String(parts[0].start * 512), "--sizelimit", String(parts[0].size * 512), join(layout.work, "disk.img")]).stdout.trim();
    const mnt = scratch("ventoy-mnt");
    try {
      expect(sh(["mount", "-t", "exfat", "-o", "ro", loop, mnt]).status).toBe(0);
      expect(readdirSync(mnt).sort()).toEqual(["bty-images", `bty-usbboot-pc-x86_64-v${VERSION}.iso`, "ventoy"]);
      expect(readdirSync(join(mnt, "bty-images")).sort()).toEqual(["catalog.toml", "demo-bty-ventoy-test.img.gz"]);
      const catalog = parseToml(readFileSync(join(mnt, "bty-images/catalog.toml"), "utf8")) as { version: number; images: { name: string; src: string; format: string }[] };
      expect(catalog.version).toBe(1);
      expect(catalog.images.map((i) => [i.name, i.src, i.format])).toEqual([
        ["ventoy-test-fedora-sysdev", "oras://ghcr.io/safl/nosi/fedora-sysdev:latest", "img.gz"],
      ]);
      expect(JSON.parse(readFileSync(join(mnt, "ventoy/ventoy.json"), "utf8"))).toEqual({
        control: [{ VTOY_MENU_TIMEOUT: "1" }, { VTOY_SECONDARY_TIMEOUT: "1" }],
      });
      // The guest's wizard checks (usb-vm.py --scenario ventoy), run against bty's
      // real code on what was staged: the local image and the catalog entry are seen.
      const local = guestCheck("local-image", join(mnt, "bty-images"));
      expect(local.status, local.out).toBe(0);
      expect(local.out).toMatch(/demo-bty-ventoy-test\.img\.gz/);
      const entry = guestCheck("catalog", join(mnt, "bty-images"));
      expect(entry.status, entry.out).toBe(0);
      expect(entry.out).toMatch(/ventoy-test-fedora-sysdev/);
      // And they fail on an empty image root.
      const empty = scratch("no-images");
      expect(guestCheck("local-image", empty).status).not.toBe(0);
      expect(guestCheck("catalog", empty).status).not.toBe(0);
    } finally {
      sh(["umount", mnt]);
      sh(["losetup", "-d", loop]);
    }
  }, 600_000);

  it("refuses a directory without Ventoy2Disk.sh before touching any disk", () => {
    const layout = layoutFor(mimicIso());
    const r = sh(usbVentoySteps(layout, scratch("not-ventoy"))[0]!.argv);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/no Ventoy2Disk\.sh in .*: pass the unpacked ventoy-<version>-linux\.tar\.gz/);
    expect(existsSync(join(layout.work, "disk.img"))).toBe(false);
  });
});

// --help, strict mode and the linters for every ci/ program: test/unit/ci-programs.test.ts
// and test/payload/ci-scripts.test.ts; usb-vm.py's usage errors: test/unit/ci/test_usb_vm.py.
describe("the USB shell programs", () => {
  it.each([
    ["usb/grow-stage.sh", ["--iso", "/x.iso"]],
    ["usb/grow-assert.sh", ["--disk", "/nonexistent.img"]],
    ["usb/ventoy-stage.sh", ["--iso", "/x.iso", "--ventoy", "/v"]],
  ])("%s refuses incomplete arguments with exit 2", (script, args) => {
    expect(sh(["bash", join(CI_DIR, script), ...args]).status).toBe(2);
  });
});
