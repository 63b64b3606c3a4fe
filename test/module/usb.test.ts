/**
 * test-usb-grow and test-usb-ventoy through the real SDK against the
 * recording engine: the privileged container, its packages, the staged ISO,
 * the exact program argv (staging, QEMU run with markers' budgets and the
 * TCG scale, grow assertion), the returned debug bundle, and the Ventoy
 * input (directory, or pinned URL checked against a caller's sha256).
 * Expected values are literals from bty's cijoe tasks/configs or
 * bty-ci's decisions, not imported from src/.
 */
import { describe, expect, it } from "vitest";

import type { Call } from "../harness/engine.js";
import { checkoutContents, NETBOOT_TRIO } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { type DaggerFunction, getFunction, getObject, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
const CI = "/opt/bty-ci/ci";
const WORK = "/var/lib/bty-ci/usb";
const SHA = "ab".repeat(32);

const engine = useRecordingEngine({
  scan: files,
  answers: (engine) => {
    engine.answer("exists", true);
    engine.answer("contents", '[project]\nname = "bty-lab"\nversion = "0.77.2"\n');
  },
});

const call = (fnName: string, args: Record<string, string>) =>
  invokeFunction({ files, fnName, args, parentState: state });
const resultOf = (id: unknown) => engine.pipelineOf(String(id))!.filter((c) => c.field !== "sync");
const execs = (chain: Call[]) =>
  chain.filter((c) => c.field === "withExec").map((c) => c.args as { args: string[]; insecureRootCapabilities?: boolean });

const GROW_STAGE = ["bash", `${CI}/usb/grow-stage.sh`, "--iso", `${WORK}/bty-usbboot-pc.iso`, "--out", WORK,
  "--verifier", `${CI}/media-verify.py`, "--size", "4294967296", "--label", "BTY_IMAGES"];
const GROW_VM = ["python3", `${CI}/usb/usb-vm.py`, "--scenario", "grow", "--disk", `${WORK}/disk.img`,
  "--workdir", `${WORK}/vm`, "--accel", "auto",
  "--timeout", "login=180", "--timeout", "ssh=240", "--timeout", "wizard=60", "--timeout", "grown=120", "--timeout", "poweroff=60",
  "--tcg-scale", "3"];
const GROW_ASSERT = ["bash", `${CI}/flash-env.sh`, "--", "bash", `${CI}/usb/grow-assert.sh`,
  "--disk", `${WORK}/disk.img`, "--min-bytes", "1073741824", "--label", "BTY_IMAGES"];
const VENTOY_VM = ["python3", `${CI}/usb/usb-vm.py`, "--scenario", "ventoy", "--disk", `${WORK}/disk.img`,
  "--workdir", `${WORK}/vm`, "--accel", "auto",
  "--timeout", "ssh=480", "--timeout", "wizard=60", "--timeout", "poweroff=60", "--tcg-scale", "3"];
const ventoyStage = (dir: string) => ["bash", `${CI}/flash-env.sh`, "--", "bash", `${CI}/usb/ventoy-stage.sh`,
  "--iso", `${WORK}/bty-usbboot-pc.iso`, "--ventoy", dir, "--out", WORK, "--verifier", `${CI}/media-verify.py`,
  "--size", "4294967296", "--label", "BTY_IMAGES"];

function expectUsbContainer(chain: Call[]) {
  expect(chain.find((c) => c.field === "from")?.args.address).toBe("python:3.12.14-slim-bookworm");
  const apt = execs(chain).find((e) => e.args[1]?.endsWith("apt-install.sh"));
  expect(apt?.args.slice(2)).toEqual([
    "qemu-system-x86", "qemu-utils", "ovmf", "openssh-client", "sshpass", "fdisk", "parted", "udev", "exfatprogs", "exfat-fuse",
    "dosfstools", "bsdextrautils", "procps", "xz-utils",
  ]);
  expect(chain).toContainEqual(expect.objectContaining({ field: "withFile", args: { path: `${WORK}/bty-usbboot-pc.iso`, source: "File:iso" } }));
  // The bundle of the run is what comes back.
  expect(chain.at(-1)).toMatchObject({ field: "directory", args: { path: `${WORK}/vm` } });
}

describe("testUsbGrow", () => {
  it("stages, boots and asserts in a privileged container, returning the debug bundle", async () => {
    const chain = resultOf(await call("testUsbGrow", { iso: "File:iso" }));
    expectUsbContainer(chain);
    const argv = execs(chain).map((e) => e.args);
    expect(argv.slice(-3)).toEqual([GROW_STAGE, GROW_VM, GROW_ASSERT]);
    // Only the test's own steps are privileged (KVM, loop devices, mounts).
    expect(execs(chain).slice(-3).every((e) => e.insecureRootCapabilities === true)).toBe(true);
    expect(execs(chain).slice(0, -3).some((e) => e.insecureRootCapabilities)).toBe(false);
  });

  it("boots and asserts with any exit code allowed, so that a failure there still has the VM's bundle; staging as usual", async () => {
    const chain = resultOf(await call("testUsbGrow", { iso: "File:iso" }));
    const all = chain.filter((c) => c.field === "withExec").map((c) => c.args as { args: string[]; expect?: string });
    expect(all.filter((e) => e.expect === "ANY").map((e) => e.args)).toEqual([GROW_VM, GROW_ASSERT]);
  });

  it("a failed boot throws with usb-vm.py's output and hands on the VM's bundle; the grow is not asserted", async () => {
    const booting = (chain: Call[]) => execs(chain).at(-1)?.args[1]?.endsWith("usb-vm.py") === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (booting(ctx.chain) ? 1 : 0));
    engine.answer("stdout", (ctx: { chain: Call[] }) => (booting(ctx.chain) ? "FAILED: wizard on tty1 (no marker in 180 s)\n" : ""));
    engine.answer("stderr", "");
    await expect(call("testUsbGrow", { iso: "File:iso" })).rejects.toMatchObject({
      message: "test-usb-grow failed (boot and check (grow): exit 1)\nFAILED: wizard on tty1 (no marker in 180 s)",
    });
    expect(engine.execs().some((e) => e.args.some((a) => a.endsWith("grow-assert.sh")))).toBe(false);
  });

  it("a failed Ventoy boot names the job and the step that failed", async () => {
    const booting = (chain: Call[]) => execs(chain).at(-1)?.args[1]?.endsWith("usb-vm.py") === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (booting(ctx.chain) ? 1 : 0));
    engine.answer("stdout", "");
    engine.answer("stderr", (ctx: { chain: Call[] }) => (booting(ctx.chain) ? "FAILED: bty-images-discover active\n" : ""));
    await expect(call("testUsbVentoy", { iso: "File:iso", ventoy: "Directory:ventoy" })).rejects.toMatchObject({
      message: "test-usb-ventoy failed (boot and check (ventoy): exit 1)\nFAILED: bty-images-discover active",
    });
  });
});

describe("all-checks-bundle and a failed USB boot", () => {
  it("exports the VM's bundle under debug/<job>/ and reports the job failed", async () => {
    const booting = (chain: Call[]) => execs(chain).at(-1)?.args[1]?.endsWith("usb-vm.py") === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (booting(ctx.chain) ? 1 : 0));
    engine.answer("entries", NETBOOT_TRIO);
    const steps = (engine.pipelineOf(String(await call("allChecksBundle", { ventoy: "Directory:ventoy" }))) ?? []).slice(1);
    const debug = steps.filter((c) => c.field === "withDirectory" && String(c.args.path).startsWith("debug/"));
    expect(debug.map((c) => c.args.path)).toEqual(["debug/test-usb-grow", "debug/test-usb-ventoy"]);
    for (const d of debug) expect(engine.pipelineOf(String(d.args.source))?.at(-1)).toMatchObject({ field: "directory", args: { path: `${WORK}/vm` } });
    const md = String(steps.find((c) => c.args.path === "report.md")!.args.contents);
    expect(md).toMatch(/^\| test-usb-grow \| ❌ failed \| [\d.]+ s \| test-usb-grow failed \(boot and check \(grow\): exit 1\)/m);
  });

  it("a failed grow assertion (after a good boot) hands the VM's bundle on too", async () => {
    const asserting = (chain: Call[]) => execs(chain).at(-1)?.args.some((a) => a.endsWith("grow-assert.sh")) === true;
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (asserting(ctx.chain) ? 1 : 0));
    engine.answer("entries", NETBOOT_TRIO);
    const steps = (engine.pipelineOf(String(await call("allChecksBundle", { ventoy: "Directory:ventoy" }))) ?? []).slice(1);
    const debug = steps.filter((c) => c.field === "withDirectory" && String(c.args.path).startsWith("debug/"));
    expect(debug.map((c) => c.args.path)).toEqual(["debug/test-usb-grow"]);
    const md = String(steps.find((c) => c.args.path === "report.md")!.args.contents);
    expect(md).toMatch(/^\| test-usb-grow \| ❌ failed \| [\d.]+ s \| test-usb-grow failed \(assert grown: exit 1\)/m);
  });
});

describe("testUsbVentoy", () => {
  it("uses a given Ventoy directory and runs bty's Ventoy staging and checks", async () => {
    const chain = resultOf(await call("testUsbVentoy", { iso: "File:iso", ventoy: "Directory:ventoy" }));
    expectUsbContainer(chain);
    expect(chain).toContainEqual(expect.objectContaining({ field: "withDirectory", args: { path: `${WORK}/ventoy`, source: "Directory:ventoy" } }));
    expect(engine.chains().some((c) => c.some((x) => x.field === "http"))).toBe(false);
    expect(execs(chain).map((e) => e.args).slice(-2)).toEqual([ventoyStage(`${WORK}/ventoy`), VENTOY_VM]);
  });

  it("fetches the pinned 1.1.05 release and checks the given sha256 before unpacking it", async () => {
    const chain = resultOf(await call("testUsbVentoy", { iso: "File:iso", ventoyChecksum: SHA.toUpperCase() }));
    expectUsbContainer(chain);
    const tarball = `${WORK}/ventoy-1.1.05-linux.tar.gz`;
    const file = chain.find((c) => c.field === "withFile" && c.args.path === tarball);
    expect(engine.pipelineOf(String(file?.args.source))?.at(-1)).toMatchObject({
      field: "http",
      args: { url: "https://github.com/ventoy/Ventoy/releases/download/v1.1.05/ventoy-1.1.05-linux.tar.gz" },
    });
    expect(execs(chain).map((e) => e.args).slice(-4)).toEqual([
      ["sh", "-c", 'printf "%s  %s\\n" "$0" "$1" | sha256sum -c -', SHA, tarball],
      ["tar", "-xzf", tarball, "-C", WORK],
      ventoyStage(`${WORK}/ventoy-1.1.05`),
      VENTOY_VM,
    ]);
  });

  it("without a Ventoy directory or checksum, checks the download against the pinned sha256", async () => {
    const chain = resultOf(await call("testUsbVentoy", { iso: "File:iso" }));
    const tarball = `${WORK}/ventoy-1.1.05-linux.tar.gz`;
    // The sha256 Arch's ventoy-bin 1.1.05 recipe and Homebrew's 1.1.05 formula pin for this URL.
    expect(execs(chain).map((e) => e.args)).toContainEqual([
      "sh", "-c", 'printf "%s  %s\\n" "$0" "$1" | sha256sum -c -', "3379c99890359dcff55aab7f7b3286f87c988d1da2fd616e6a9e305fb0a1de9e", tarball,
    ]);
  });

  it("rejects a checksum that is not 64 hex digits, before any container work", async () => {
    await expect(call("testUsbVentoy", { iso: "File:iso", ventoyChecksum: "1234" })).rejects.toThrow(
      /--ventoy-checksum "1234" is not a sha256: give the 64 hex digits listed for ventoy-1.1.05-linux.tar.gz/,
    );
    expect(engine.chains().filter((c) => c.some((x) => x.field === "from"))).toEqual([]);
  });
});

describe("defaults and all-checks", () => {
  it("without --iso, boots the ISO of build-usbboot-pc by bty's file name", async () => {
    const chain = resultOf(await call("testUsbGrow", {}));
    const iso = chain.find((c) => c.field === "withFile" && c.args.path === `${WORK}/bty-usbboot-pc.iso`);
    const source = engine.pipelineOf(String(iso?.args.source))!;
    expect(source.at(-1)).toMatchObject({ field: "file", args: { path: "bty-usbboot-pc-x86_64-v0.77.2.iso" } });
    // That directory is the usbboot-pc build (its live-build runs with BTY_VARIANT=usbboot-pc).
    expect(JSON.stringify(source)).toMatch(/usbboot-pc/);
  });

  it("all-checks without a Ventoy input runs test-usb-ventoy on the pinned release: every check passes", async () => {
    engine.answer("contents", checkoutContents());
    engine.answer("entries", NETBOOT_TRIO);
    const text = String(await invokeFunction({ files, fnName: "allChecks", args: { failOnError: false }, parentState: state }));
    expect(text).toMatch(/^test-usb-grow\s+pass/m);
    expect(text).toMatch(/^test-usb-ventoy\s+pass/m);
    expect(text).toMatch(/all 20 checks passed/);
    const ventoyCheck = engine
      .chains()
      .flatMap((chain) => execs(chain).map((e) => e.args))
      .find((argv) => argv.at(-1) === `${WORK}/ventoy-1.1.05-linux.tar.gz` && argv[0] === "sh");
    expect(ventoyCheck?.[3]).toBe("3379c99890359dcff55aab7f7b3286f87c988d1da2fd616e6a9e305fb0a1de9e");
  });
});

describe("registration", () => {
  it("both tests are never cached (they boot a VM), document their bundle and take the ISO first", async () => {
    const mod = await scanModule(files);
    const obj = getObject(mod);
    for (const name of ["testUsbGrow", "testUsbVentoy"]) {
      const fn = getFunction(obj, name) as DaggerFunction;
      expect(fn.cache).toBe("never");
      expect(fn.description).toMatch(/debug bundle/);
      expect(fn.returnType).toMatchObject({ name: "Directory" });
    }
    const ventoy = getFunction(obj, "testUsbVentoy") as DaggerFunction;
    expect(Object.values(ventoy.arguments).map((a) => [a.name, a.defaultValue])).toEqual([
      ["iso", undefined],
      ["ventoy", undefined],
      ["ventoyChecksum", "3379c99890359dcff55aab7f7b3286f87c988d1da2fd616e6a9e305fb0a1de9e"],
    ]);
  });
});
