/** The pure part of test-pxe: firmware and trio checks, marker order and budgets, server and driver argv. */
import { describe, expect, it } from "vitest";

import { CHAIN_MARKERS, chainArgv, checkFirmware, checkTrio, PxeInputError, serverArgv, trioNames } from "../../src/pxe/plan.js";

const SETTINGS = {
  subnet: "10.9.8", btyPort: 8080, withcachePort: 8081, logPort: 8099, btyPassword: "p1", withcachePassword: "p2",
  memoryMiB: 1024, healthzSeconds: 90, tcgScale: 3,
};

describe("checkFirmware", () => {
  it("accepts bios and uefi only", () => {
    expect(() => checkFirmware("bios")).not.toThrow();
    expect(() => checkFirmware("uefi")).not.toThrow();
    for (const bad of ["", "BIOS", "efi", "coreboot"]) expect(() => checkFirmware(bad)).toThrow(PxeInputError);
    expect(() => checkFirmware("efi")).toThrow(expect.objectContaining({ name: "PxeInputError" }));
  });
});

describe("checkTrio", () => {
  const trio = ["bty-netboot-pc-x86_64-v1.2.3.vmlinuz", "bty-netboot-pc-x86_64-v1.2.3.initrd", "bty-netboot-pc-x86_64-v1.2.3.squashfs"];
  it("names bty's three files", () => expect(trioNames("1.2.3")).toEqual(trio));
  it("passes a complete trio, with extra files beside it", () => expect(() => checkTrio([...trio, "bty-netboot-pc-x86_64-v1.2.3.sha256"], "1.2.3")).not.toThrow());
  it("names each missing file", () => {
    expect(() => checkTrio(trio.slice(1), "1.2.3")).toThrow(/^the trio lacks bty-netboot-pc-x86_64-v1\.2\.3\.vmlinuz: pass/);
    expect(() => checkTrio([], "1.2.3")).toThrow("lacks bty-netboot-pc-x86_64-v1.2.3.vmlinuz, bty-netboot-pc-x86_64-v1.2.3.initrd, bty-netboot-pc-x86_64-v1.2.3.squashfs");
  });
  it("counts only trio files as another version's: not copies or renamed ones", () => {
    for (const stray of ["old-bty-netboot-pc-x86_64-v1.2.2.vmlinuz", "bty-netboot-pc-x86_64-v1.2.2.vmlinuz.bak"]) {
      expect(() => checkTrio([stray], "1.2.3"), stray).toThrow(/^the trio lacks /);
    }
  });
  it("says when the trio is another version's", () => {
    expect(() => checkTrio(["bty-netboot-pc-x86_64-v1.2.2.squashfs", "bty-netboot-pc-x86_64-v1.2.2.initrd"], "1.2.3")).toThrow(
      "the trio is for another bty version (bty-netboot-pc-x86_64-v1.2.2.initrd, bty-netboot-pc-x86_64-v1.2.2.squashfs); this checkout is 1.2.3: pass the netboot-pc build of this checkout (build-netboot-pc) as --trio",
    );
  });
});

describe("CHAIN_MARKERS", () => {
  it("are bty's needles in chain order, budgets summing to bty's 600 s", () => {
    expect(CHAIN_MARKERS.map((m) => m.key)).toEqual([
      "ipxe-loaded", "ipxe-fetch-bootstrap", "ipxe-fetch-permac", "kernel-initrd-fetched", "kernel-booting", "squashfs-fetched", "auto-flash-started", "flash-complete",
    ]);
    expect(CHAIN_MARKERS.reduce((s, m) => s + m.seconds, 0)).toBe(600);
  });
});

describe("serverArgv", () => {
  const layout = { ciDir: "/ci", btyWeb: "/b/bty-web", withcache: "/b/wc", logs: "/l", state: "/s", host: "127.0.0.1", btyPort: 1, withcachePort: 2 };
  it("points bty-web at withcache on the segment address; alias and log server only when asked", () => {
    expect(serverArgv({ ...layout, alias: false, serveLogs: false }, SETTINGS)).toEqual([
      "bash", "/ci/pxe/server.sh", "--bty-web", "/b/bty-web", "--withcache", "/b/wc", "--logs", "/l", "--state", "/s",
      "--withcache-url", "http://10.9.8.1:8081", "--bty-password-env", "BTY_CI_PXE_BTY_PASSWORD",
      "--withcache-password-env", "BTY_CI_PXE_WITHCACHE_PASSWORD", "--host", "127.0.0.1", "--bty-port", "1", "--withcache-port", "2",
    ]);
    expect(serverArgv({ ...layout, alias: true, serveLogs: true }, SETTINGS).slice(-4)).toEqual(["--alias", "10.9.8.1", "--log-port", "8099"]);
  });
});

describe("chainArgv", () => {
  const layout = { ciDir: "/ci", python: "py", workdir: "/w", trio: "/t", nbp: "/n", btyWeb: "h:1", withcache: "h:2", serviceLogs: { a: "/a.log" } };
  it("passes settings, bundle sources, markers in order and extra flags last", () => {
    expect(chainArgv(layout, SETTINGS, "bios", "1.2.3", [{ key: "k", needle: "n x", seconds: 7 }], ["--accel", "tcg"])).toEqual([
      "py", "/ci/pxe/chain-test.py", "--firmware", "bios", "--workdir", "/w", "--trio", "/t", "--version", "1.2.3", "--nbp", "/n",
      "--bty-web", "h:1", "--withcache", "h:2", "--bty-password-env", "BTY_CI_PXE_BTY_PASSWORD",
      "--withcache-password-env", "BTY_CI_PXE_WITHCACHE_PASSWORD", "--subnet", "10.9.8", "--memory", "1024",
      "--healthz-timeout", "90", "--tcg-scale", "3", "--service-log", "a=/a.log", "--marker", "k=n x@7", "--accel", "tcg",
    ]);
  });
  it("defaults to bty's full marker list", () => {
    const argv = chainArgv(layout, SETTINGS, "uefi", "1.2.3");
    expect(argv.filter((_, i) => argv[i - 1] === "--marker")).toHaveLength(8);
    expect(argv.at(-1)).toBe("flash-complete=bty: flash complete; rebooting@180");
  });
});
