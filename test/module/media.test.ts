/**
 * The media functions through the real SDK against the recording engine:
 * image, packages, cache volumes, stage order, which execs are privileged,
 * the staging that keeps the root file system independent of bty's wheel,
 * the CA / r8125 / time-bound arguments and input validation. Expectations
 * are literals from bty's build jobs and live-build config and docs/decisions.md.
 */
import { describe, expect, it } from "vitest";

import type { Call, RecordingEngine } from "../harness/engine.js";
import { answerCheckout, PYPROJECT } from "../harness/checkout.js";
import { ciFiles } from "../harness/ci-files.js";
import { invokeFunction } from "../harness/invoke.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
const SCRIPT = ["bash", "/opt/bty-ci/ci/media-build.sh"];

// test-pxe lists the netboot-pc build's files (a real build has these); lint
// reads bty's hook set too (main's lint), and an empty one starts no git fetch.
const engine = useRecordingEngine({ scan: files, answers: answerCheckout });

const call = (fnName: string, args: Record<string, unknown> = {}, over: Record<string, string> = {}) =>
  invokeFunction({ files, fnName, parentState: { ...state, ...over }, args });

const chainOf = (id: unknown): Call[] => engine.pipelineOf(String(id))!.filter((c) => c.field !== "sync");
const execs = (chain: Call[]) =>
  chain.filter((c) => c.field === "withExec").map((c) => c.args as { args: string[]; insecureRootCapabilities?: boolean });
const argv = (chain: Call[]) => execs(chain).map((e) => e.args);
const privileged = (chain: Call[]) =>
  execs(chain).filter((e) => e.insecureRootCapabilities === true).map((e) => e.args.slice(0, 3).join(" "));
const mounted = (chain: Call[], field: string, path: string) => chain.find((c) => c.field === field && c.args.path === path);
const cacheKeys = (chain: Call[]) =>
  Object.fromEntries(
    chain
      .filter((c) => c.field === "withMountedCache")
      .map((c) => [c.args.path, engine.pipelineOf(String(c.args.cache))?.at(-1)?.args.key]),
  );
/** The pipelines that start from a container image (the jobs the call built). */
const jobs = () => engine.chains().filter((chain) => chain.some((c) => c.field === "from"));

/** The container a withDirectory/withFile source came from (its chain up to .directory/.file). */
const sourceChain = (chain: Call[], path: string) =>
  chainOf(["withDirectory", "withMountedDirectory", "withFile"].map((field) => mounted(chain, field, path)?.args.source).find((s) => s !== undefined));

/**
 * The directory `id` is bty-ci's ci/ as D70 makes it for the media: every file
 * under the module's ci/, in name order, each taken by `Directory.file` (the
 * call the engine keys by content) from `currentModule.source.directory("ci")`,
 * synced once.
 */
function expectCiScriptsByContent(engine: RecordingEngine, id: string): void {
  const [empty, ...rest] = engine.pipelineOf(id) ?? [];
  expect(empty).toMatchObject({ parent: "Query", field: "directory" });
  expect(rest.at(-1)?.field).toBe("sync");
  const made = rest.slice(0, -1);
  expect(made.map((c) => c.args.path)).toEqual(ciFiles().map((f) => f.path));
  for (const c of made) {
    expect(engine.pipelineOf(String(c.args.source))?.map((s) => [s.field, s.args.path])).toEqual([
      ["currentModule", undefined],
      ["source", undefined],
      ["directory", "ci"],
      ["file", c.args.path],
    ]);
  }
}

describe("buildNetbootPc", () => {
  it("builds on trixie with live-build, apt and live-build caches in volumes, stages in bty's order", async () => {
    const out = chainOf(await call("buildNetbootPc"));
    expect(out.find((c) => c.field === "from")?.args.address).toBe("debian:trixie-20251117-slim");
    const apt = argv(out).find((a) => a[1] === "/opt/bty-ci/apt-install.sh")!;
    // Without --debian-mirror: the installer, then Debian package names only.
    expect(apt[0]).toBe("bash");
    for (const pkg of apt.slice(2)) expect(pkg).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    // exfatprogs and exfat-fuse: flash-env.sh mounts the usbboot ISO's exFAT partition through FUSE
    // where the kernel has no exFAT (a real engine's host here had none).
    for (const pkg of ["live-build", "debootstrap", "squashfs-tools", "xorriso", "isolinux", "git", "python3", "zstd", "cpio", "exfatprogs", "exfat-fuse"]) {
      expect(apt).toContain(pkg);
    }
    expect(cacheKeys(out)).toEqual({
      "/var/cache/apt/archives": "bty-ci-apt-archives-trixie",
      "/var/lib/apt/lists": "bty-ci-apt-lists-trixie",
      "/build/scratch/lb/cache": "bty-ci-live-build-cache-netboot-pc",
    });
    expect(argv(out).filter((a) => a[1] === SCRIPT[1]).map((a) => a[2])).toEqual([
      "prepare", "rootfs", "seal", "binary", "finish",
    ]);
    expect(argv(out)).toContainEqual([
      ...SCRIPT, "prepare", "--source", "/src", "--variant", "netboot-pc", "--work", "/build/scratch",
    ]);
    expect(argv(out)).toContainEqual([...SCRIPT, "rootfs", "--work", "/build/scratch", "--variant", "netboot-pc", "--timeout", "2400"]);
    expect(argv(out)).toContainEqual([...SCRIPT, "binary", "--work", "/build/scratch", "--variant", "netboot-pc", "--timeout", "2400"]);
    expect(argv(out).at(-1)).toEqual([
      ...SCRIPT, "finish", "--work", "/build/scratch", "--variant", "netboot-pc", "--version", "0.77.2", "--out", "/build/out",
    ]);
    expect(out.at(-1)).toMatchObject({ field: "directory", args: { path: "/build/out" } });
  });

  it("lays tools before the checkout: caches (locked), the apt installer alone, ci/, then bty-media/ and pyproject.toml", async () => {
    const out = chainOf(await call("buildNetbootPc"));
    const prepareAt = out.findIndex((c) => c.field === "withExec" && (c.args.args as string[])[2] === "prepare");
    const layer = (c: Call) =>
      c.field === "withExec" ? `${c.field} ${(c.args.args as string[]).slice(0, 2).join(" ")}` : `${c.field} ${String(c.args.path ?? c.args.address ?? "")}`;
    expect(out.slice(0, prepareAt).filter((c) => c.field !== "container").map(layer)).toEqual([
      "from debian:trixie-20251117-slim",
      "withMountedCache /var/cache/apt/archives",
      "withMountedCache /var/lib/apt/lists",
      "withFile /opt/bty-ci/apt-install.sh",
      "withExec bash /opt/bty-ci/apt-install.sh",
      "withoutMount /var/cache/apt/archives",
      "withoutMount /var/lib/apt/lists",
      "withDirectory /opt/bty-ci/ci",
      "withDirectory /src/bty-media",
      "withFile /src/pyproject.toml",
      "withMountedCache /build/scratch/lb/cache",
    ]);
    // Every cache is LOCKED: two builds never write one apt or live-build cache at once.
    expect(out.filter((c) => c.field === "withMountedCache").map((c) => c.args.sharing)).toEqual(["LOCKED", "LOCKED", "LOCKED"]);
    // The live-build cache leaves the container after rootfs, so no later layer depends on it.
    const unmountAt = out.findIndex((c) => c.field === "withoutMount" && c.args.path === "/build/scratch/lb/cache");
    const rootfsAt = out.findIndex((c) => c.field === "withExec" && (c.args.args as string[])[2] === "rootfs");
    expect(unmountAt).toBe(rootfsAt + 1);
    // Where each layer's files come from.
    const origin = (path: string) =>
      sourceChain(out, path).filter((c) => c.field !== "container").map((c) => (c.args.path === undefined ? c.field : `${c.field} ${String(c.args.path)}`));
    // bty-ci's ci/ by content (D70): the installer alone first, then the whole directory.
    const ciMade = ["directory", ...ciFiles().map((f) => `withFile ${f.path}`)];
    expect(origin("/opt/bty-ci/apt-install.sh")).toEqual([...ciMade, "file apt-install.sh"]);
    expect(origin("/opt/bty-ci/ci")).toEqual(ciMade);
    expectCiScriptsByContent(engine, String(mounted(out, "withDirectory", "/opt/bty-ci/ci")?.args.source));
    expect(origin("/src/pyproject.toml").at(-1)).toBe("file pyproject.toml");
    // The archive comes through Directory.file, the call the engine keys by content.
    expect(origin("/build/scratch/bty-outside.tar").slice(-2)).toEqual(["directory /build/scratch", "file bty-outside.tar"]);
    expect(origin("/build/scratch/bty-layer").at(-1)).toBe("directory /build/scratch/bty-layer");
    expect(origin("/build/scratch/pip-freeze.txt").at(-1)).toBe("file /build/scratch/pip-freeze.txt");
  });

  it("gives root capabilities to live-build's stages only", async () => {
    const out = chainOf(await call("buildNetbootPc"));
    expect(privileged(out)).toEqual([
      "bash /opt/bty-ci/ci/media-build.sh rootfs",
      "bash /opt/bty-ci/ci/media-build.sh binary",
    ]);
    const installed = sourceChain(out, "/build/scratch/bty-outside.tar");
    expect(privileged(installed).at(-1)).toBe("bash /opt/bty-ci/ci/media-build.sh install-bty");
    // The apt install and every other exec run without them.
    expect(execs(out).find((e) => e.args[1] === "/opt/bty-ci/apt-install.sh")?.insecureRootCapabilities ?? false).toBe(false);
  });

  it("builds the root file system from bty-media/ and pyproject.toml only, before the wheel arrives", async () => {
    const out = chainOf(await call("buildNetbootPc"));
    const rootfsEnd = out.findIndex((c) => c.field === "withExec" && (c.args.args as string[])[2] === "rootfs");
    const before = out.slice(0, rootfsEnd);
    const srcMounts = before.filter((c) => (c.field === "withDirectory" || c.field === "withFile") && String(c.args.path).startsWith("/src"));
    expect(srcMounts.map((c) => c.args.path)).toEqual(["/src/bty-media", "/src/pyproject.toml"]);
    expect(chainOf(srcMounts[0]!.args.source).map((c) => [c.field, c.args.path])).toContainEqual(["directory", "bty-media"]);
    expect(before.some((c) => c.args.path === "/build/wheel")).toBe(false);
    // The wheel is buildWheel's, given to install-bty only, by content:
    // a directory holding the one file Directory.file took from its dist/.
    const installed = sourceChain(out, "/build/scratch/bty-outside.tar");
    const wheelDir = sourceChain(installed, "/build/wheel");
    expect(wheelDir.map((c) => [c.parent, c.field, c.args.path])).toEqual([
      ["Query", "directory", undefined],
      ["Directory", "withFile", "bty_lab-0.77.2-py3-none-any.whl"],
    ]);
    const wheel = chainOf(wheelDir[1]!.args.source);
    // Mounted, not copied into install-bty's container (nor the layer into finish's).
    expect(mounted(installed, "withMountedDirectory", "/build/wheel")).toBeDefined();
    expect(mounted(out, "withMountedDirectory", "/build/scratch/bty-layer")).toBeDefined();
    expect(argv(wheel)).toContainEqual(expect.arrayContaining(["uv", "build"]));
    expect(wheel.slice(-2)).toMatchObject([
      { field: "directory", args: { path: "/src/dist" } },
      { field: "file", args: { path: "bty_lab-0.77.2-py3-none-any.whl" } },
    ]);
    expect(argv(installed).at(-1)).toEqual([
      ...SCRIPT, "install-bty", "--work", "/build/scratch", "--wheel", "/build/wheel", "--timeout", "2400",
    ]);
  });

  it("makes the base squashfs from the root file system plus only what bty's hook made outside /opt", async () => {
    const out = chainOf(await call("buildNetbootPc"));
    const binaryAt = out.findIndex((c) => c.field === "withExec" && (c.args.args as string[])[2] === "binary");
    const inputs = out.slice(0, binaryAt).filter((c) => String(c.args.path ?? "").startsWith("/build/scratch/bty-"));
    expect(inputs.map((c) => c.args.path)).toEqual(["/build/scratch/bty-outside.tar"]);
    // bty's /opt layer and pip freeze join only for the append in finish.
    const after = out.slice(binaryAt).filter((c) => String(c.args.path ?? "").startsWith("/build/scratch/"));
    expect(after.map((c) => c.args.path)).toEqual(["/build/scratch/bty-layer", "/build/scratch/pip-freeze.txt"]);
  });

  it("passes an extra CA bundle and an r8125 repository into the build, only when given", async () => {
    const out = chainOf(await call("buildNetbootPc", {}, { extraCaCerts: "File:ca", r8125Source: "Directory:r8125" }));
    expect(mounted(out, "withFile", "/run/bty-ci/extra-ca.crt")?.args.source).toBe("File:ca");
    expect(mounted(out, "withDirectory", "/run/bty-ci/r8125")?.args.source).toBe("Directory:r8125");
    expect(argv(out)).toContainEqual([
      ...SCRIPT, "prepare", "--source", "/src", "--variant", "netboot-pc", "--work", "/build/scratch",
      "--ca-cert", "/run/bty-ci/extra-ca.crt", "--r8125-repo", "/run/bty-ci/r8125",
    ]);
    engine.reset();
    engine.answer("exists", true);
    engine.answer("contents", PYPROJECT);
    const plain = chainOf(await call("buildNetbootPc"));
    expect(mounted(plain, "withFile", "/run/bty-ci/extra-ca.crt")).toBeUndefined();
    expect(argv(plain).flat()).not.toContain("--r8125-repo");
  });

  it("hands a Debian mirror to apt (live-build reads the archive from apt's sources), a package index to bty's install hook", async () => {
    const out = chainOf(
      await call("buildNetbootPc", {}, { debianMirror: "http://mirror.internal", pythonIndex: "https://pypi.internal/simple" }),
    );
    expect(argv(out)).toContainEqual(expect.arrayContaining(["/opt/bty-ci/apt-install.sh", "--mirror", "http://mirror.internal"]));
    // The mirror is scheme://host[/prefix]; live-build needs …/debian, which the rewritten sources hold.
    const prepare = argv(out).find((a) => a[2] === "prepare")!;
    expect(prepare).not.toContain("--mirror");
    expect(prepare.slice(-2)).toEqual(["--pip-index", "https://pypi.internal/simple"]);
  });

  it("bounds each live-build stage by timeoutSeconds", async () => {
    const out = chainOf(await call("buildNetbootPc", { timeoutSeconds: 600 }));
    for (const stage of ["rootfs", "binary"]) {
      expect(argv(out).find((a) => a[2] === stage)?.slice(-2)).toEqual(["--timeout", "600"]);
    }
  });
});

describe("buildRambootInit and buildUsbbootPc", () => {
  it.each([["buildRambootInit", "ramboot-init"], ["buildUsbbootPc", "usbboot-pc"]])(
    "%s: its own live-build cache; lb binary sees what bty's hook made outside /opt only, bty's /opt joins in finish",
    async (fn, variant) => {
      const out = chainOf(await call(fn));
      expect(cacheKeys(out)["/build/scratch/lb/cache"]).toBe(`bty-ci-live-build-cache-${variant}`);
      const binaryAt = out.findIndex((c) => c.field === "withExec" && (c.args.args as string[])[2] === "binary");
      const finishAt = out.findIndex((c) => c.field === "withExec" && (c.args.args as string[])[2] === "finish");
      const inputs = (from: number, to: number) =>
        out.slice(from, to).filter((c) => String(c.args.path ?? "").startsWith("/build/scratch/bty-")).map((c) => c.args.path);
      expect(inputs(0, binaryAt)).toEqual(["/build/scratch/bty-outside.tar"]);
      expect(inputs(binaryAt, finishAt)).toEqual(["/build/scratch/bty-layer"]);
      // Both from what install-bty left in its container; the archive through
      // Directory.file (keyed by content), the /opt layer as its directory.
      expect(sourceChain(out, "/build/scratch/bty-outside.tar").slice(-2)).toMatchObject([
        { field: "directory", args: { path: "/build/scratch" } },
        { field: "file", args: { path: "bty-outside.tar" } },
      ]);
      expect(sourceChain(out, "/build/scratch/bty-layer").at(-1)).toMatchObject({ field: "directory", args: { path: "/build/scratch/bty-layer" } });
      expect(argv(out).find((a) => a[2] === "finish")).toEqual([
        ...SCRIPT, "finish", "--work", "/build/scratch", "--variant", variant, "--version", "0.77.2", "--out", "/build/out",
      ]);
    },
  );

  it("usbboot-pc: bty's own usb_iso_build finish (privileged, loop devices), then the ISO checks", async () => {
    const out = chainOf(await call("buildUsbbootPc"));
    expect(sourceChain(out, "/src/cijoe/scripts").at(-1)).toMatchObject({ field: "directory", args: { path: "cijoe/scripts" } });
    const iso = "/build/out/bty-usbboot-pc-x86_64-v0.77.2.iso";
    expect(argv(out).slice(-3)).toEqual([
      [
        "bash", "/opt/bty-ci/ci/flash-env.sh", "--", "python3", "/opt/bty-ci/ci/usb-iso-finish.py",
        "--bty-scripts", "/src/cijoe/scripts", "--build-dir", "/build/scratch/lb", "--iso", iso,
      ],
      ["python3", "/opt/bty-ci/ci/media-verify.py", "iso", iso, "--label", "BTY_IMAGES"],
      ["python3", "/opt/bty-ci/ci/media-verify.py", "checksums", `${iso}.sha256`],
    ]);
    expect(privileged(out)).toEqual([
      "bash /opt/bty-ci/ci/media-build.sh rootfs",
      "bash /opt/bty-ci/ci/media-build.sh binary",
      "bash /opt/bty-ci/ci/flash-env.sh --",
    ]);
  });
});

describe("media input validation, before any build", () => {
  it("names the fix for a checkout without bty-media/", async () => {
    // bty-media/ itself may exist: live-build's auto/config is what the builds need.
    engine.answer("exists", (ctx: { args: Record<string, unknown> }) => ctx.args.path !== "bty-media/live-build/auto/config");
    for (const fn of ["buildNetbootPc", "buildRambootInit", "buildUsbbootPc"]) {
      await expect(call(fn)).rejects.toThrow(/no bty-media\/live-build\/auto\/config .*--source <path-to-bty>/);
    }
    expect(jobs()).toEqual([]);
  });

  it("refuses a time bound that is not a positive number of seconds", async () => {
    await expect(call("buildNetbootPc", { timeoutSeconds: 0 })).rejects.toThrow(/positive whole number of seconds/);
    expect(jobs()).toEqual([]);
  });
});

describe("all-checks", () => {
  it("runs the three media builds as build-netboot-pc, build-ramboot-init, build-usbboot-pc", async () => {
    const summary = String(await call("allChecks", { ventoy: "Directory:ventoy" }));
    for (const name of ["build-netboot-pc", "build-ramboot-init", "build-usbboot-pc"]) expect(summary).toContain(name);
    const finishes = engine
      .chains()
      .flatMap((chain) => argv(chain))
      .filter((a) => a[2] === "finish")
      .map((a) => a[6]);
    expect(new Set(finishes)).toEqual(new Set(["netboot-pc", "ramboot-init", "usbboot-pc"]));
  });

  it("builds every medium and iPXE with the constructor's offline inputs", async () => {
    await call("allChecks", { ventoy: "Directory:ventoy" }, { extraCaCerts: "File:ca", r8125Source: "Directory:r8125", ipxeSource: "Directory:ipxe" });
    const prepares = engine.chains().flatMap((chain) => argv(chain)).filter((a) => a[2] === "prepare");
    // chains() holds every chain and its prefixes: a build's prepare appears more than once.
    expect(new Set(prepares.map((a) => a[6]))).toEqual(new Set(["netboot-pc", "ramboot-init", "usbboot-pc"]));
    for (const a of prepares) expect(a.slice(-4)).toEqual(["--ca-cert", "/run/bty-ci/extra-ca.crt", "--r8125-repo", "/run/bty-ci/r8125"]);
    const ipxeTrees = engine.chains().flatMap((chain) => chain.filter((c) => c.field === "withDirectory" && c.args.path === "/ipxe"));
    expect(new Set(ipxeTrees.map((c) => c.args.source))).toEqual(new Set(["Directory:ipxe"]));
  });
});
