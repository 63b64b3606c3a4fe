/**
 * testPxe through the real SDK against the recording engine: the server
 * service (bty's Dockerfile with the wheel and, for uefi, the iPXE seed;
 * withcache; ports; the segment address on lo), the privileged QEMU
 * container binding it, the chain driver's argv (seeding passwords by
 * variable name, markers and budgets, TCG scaling, bundle sources), the
 * debug bundle on failure, and validation before any VM starts.
 * Expectations are literals from bty's test and bty-ci's design.
 */
import { describe, expect, it } from "vitest";

import type { Call } from "../harness/engine.js";
import { invokeFunction } from "../harness/invoke.js";
import { findArgument, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const PYPROJECT = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n';
const TRIO = ["bty-netboot-pc-x86_64-v0.77.2.vmlinuz", "bty-netboot-pc-x86_64-v0.77.2.initrd", "bty-netboot-pc-x86_64-v0.77.2.squashfs"];
const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };

const engine = useRecordingEngine({
  scan: files,
  answers: (engine) => {
    engine.answer("exists", true);
    engine.answer("contents", PYPROJECT);
    engine.answer("entries", TRIO);
  },
});

const testPxe = (args: Record<string, unknown>) => invokeFunction({ files, fnName: "testPxe", parentState: state, args });
const fields = (chain: Call[]) => chain.map((c) => c.field);
/** The QEMU container: the chain ending in exitCode. */
const client = () => engine.chains().find((ch) => ch.at(-1)?.field === "exitCode")!;
/** The server: the chain ending in asService. */
const server = () => engine.chains().find((ch) => ch.some((c) => c.field === "asService"))!;
const execOf = (chain: Call[]) => chain.filter((c) => c.field === "withExec").at(-1)!.args as { args: string[]; insecureRootCapabilities?: boolean; expect?: string };
const flag = (argv: string[], name: string) => argv.filter((_, i) => argv[i - 1] === name);

describe("testPxe registration", () => {
  it("takes firmware (default bios), an optional trio and an optional iPXE directory, documented", async () => {
    const mod = await scanModule(files);
    expect(findArgument(mod, "testPxe", "firmware")).toMatchObject({ type: "string", defaultValue: "bios", description: expect.stringMatching(/bios.*uefi/) });
    expect(findArgument(mod, "testPxe", "trio")).toMatchObject({ type: "Directory", optional: true, description: expect.stringMatching(/build-netboot-pc/) });
    expect(findArgument(mod, "testPxe", "ipxe")).toMatchObject({ type: "Directory", optional: true, description: expect.stringMatching(/build-ipxe/) });
  });
});

describe("testPxe", () => {
  it("uefi: the server is bty's Dockerfile image with the wheel and bty's ipxe.efi as seed, withcache added, exposed on 8080/8081/8099", async () => {
    await testPxe({ firmware: "uefi", trio: "Directory:trio" });
    const svc = server();
    // The build context as bty's workflow stages it: docker/ of the checkout, the wheel under dist/, the seed.
    expect(svc.slice(0, svc.findIndex((c) => c.field === "dockerBuild")).map((c) => [c.field, c.args.path])).toEqual([
      ["directory", undefined],
      ["withDirectory", "docker"],
      ["withFile", "dist/bty_lab-0.77.2-py3-none-any.whl"],
      ["withFile", "docker/seed/ipxe.efi"],
    ]);
    expect(engine.pipelineOf(String(svc[1]!.args.source))?.map((c) => [c.field, c.args])).toEqual([
      ["node", { id: "Directory:bty" }],
      ["directory", { path: "docker" }],
    ]);
    expect(svc.find((c) => c.field === "dockerBuild")?.args).toEqual({
      dockerfile: "docker/Dockerfile",
      buildArgs: [{ name: "BTY_VERSION", value: "0.77.2" }],
    });
    expect(svc.filter((c) => c.field === "withExec").map((c) => c.args.args)).toEqual([
      ["bash", "/opt/bty-ci/ci/apt-install.sh", "iproute2"],
      ["pip", "install", "--no-cache-dir", "withcache==0.13.3"],
    ]);
    expect(svc.filter((c) => c.field === "withExposedPort").map((c) => c.args.port)).toEqual([8080, 8081, 8099]);
    expect(svc.find((c) => c.field === "withEnvVariable" && c.args.name === "BTY_CI_PXE_FIRMWARE")?.args.value).toBe("uefi");
    const service = svc.find((c) => c.field === "asService")!.args as { args: string[]; insecureRootCapabilities: boolean };
    // ip addr add on lo needs CAP_NET_ADMIN.
    expect(service.insecureRootCapabilities).toBe(true);
    expect(service.args.slice(0, 2)).toEqual(["bash", "/opt/bty-ci/ci/pxe/server.sh"]);
    expect(flag(service.args, "--withcache-url")).toEqual(["http://192.168.99.1:8081"]);
    expect(flag(service.args, "--alias")).toEqual(["192.168.99.1"]);
    expect(flag(service.args, "--host")).toEqual(["0.0.0.0"]);
    expect(flag(service.args, "--log-port")).toEqual(["8099"]);
    // The programs bty's image installs, logs and state in the service's own directories.
    expect(flag(service.args, "--bty-web")).toEqual(["bty-web"]);
    expect(flag(service.args, "--withcache")).toEqual(["withcache-server"]);
    expect(flag(service.args, "--logs")).toEqual(["/var/log/bty-ci"]);
    expect(flag(service.args, "--state")).toEqual(["/var/lib/bty-ci"]);
    // bty's image runs as an unprivileged user; the test server needs root (ip addr, apt).
    expect(svc.find((c) => c.field === "withUser")?.args.name).toBe("root");
    // Passwords travel by variable name, never in argv.
    expect(service.args.join(" ")).not.toMatch(/test-admin-pw|pxe-test-withcache/);
  });

  it("installs withcache from --python-index when one is given", async () => {
    await invokeFunction({ files, fnName: "testPxe", parentState: { ...state, pythonIndex: "https://pypi.internal/simple" }, args: { trio: "Directory:trio" } });
    expect(server().filter((c) => c.field === "withExec").map((c) => c.args.args)).toContainEqual([
      "pip", "install", "--no-cache-dir", "--index-url", "https://pypi.internal/simple", "withcache==0.13.3",
    ]);
  });

  it("uefi: the privileged QEMU container binds the server, gets the trio and bty's ipxe.efi, and runs the chain driver", async () => {
    await testPxe({ firmware: "uefi", trio: "Directory:trio" });
    const chain = client();
    expect(chain.find((c) => c.field === "from")?.args.address).toBe("python:3.12.14-slim-bookworm");
    expect(chain.filter((c) => c.field === "withExec")[0]!.args.args).toEqual([
      "bash", "/opt/bty-ci/ci/apt-install.sh", "qemu-system-x86", "qemu-utils", "dnsmasq-base", "ipxe", "ovmf", "seabios", "iproute2",
    ]);
    expect(chain.find((c) => c.field === "withDirectory" && c.args.path === "/pxe/trio")?.args.source).toBe("Directory:trio");
    expect(chain.find((c) => c.field === "withServiceBinding")?.args.alias).toBe("pxe-server");
    expect(chain.find((c) => c.field === "withFile" && c.args.path === "/pxe/ipxe.efi")).toBeDefined();
    const exec = execOf(chain);
    expect(exec.insecureRootCapabilities).toBe(true);
    expect(exec.expect).toBe("ANY");
    expect(exec.args.slice(0, 5)).toEqual(["timeout", "--signal=TERM", "1800", "python3", "/opt/bty-ci/ci/pxe/chain-test.py"]);
    const argv = exec.args;
    expect(flag(argv, "--firmware")).toEqual(["uefi"]);
    expect(flag(argv, "--nbp")).toEqual(["/pxe/ipxe.efi"]);
    expect(flag(argv, "--bty-web")).toEqual(["pxe-server:8080"]);
    expect(flag(argv, "--withcache")).toEqual(["pxe-server:8081"]);
    expect(flag(argv, "--subnet")).toEqual(["192.168.99"]);
    expect(flag(argv, "--memory")).toEqual(["2048"]);
    expect(flag(argv, "--healthz-timeout")).toEqual(["180"]);
    // KVM when it works, else TCG with budgets x2: the driver probes (no --accel given).
    expect(flag(argv, "--accel")).toEqual([]);
    expect(flag(argv, "--tcg-scale")).toEqual(["2"]);
    expect(flag(argv, "--service-log")).toEqual(["bty-web=http://pxe-server:8099/bty-web.log", "withcache=http://pxe-server:8099/withcache.log"]);
    expect(flag(argv, "--marker")).toEqual([
      "ipxe-loaded=iPXE@30",
      "ipxe-fetch-bootstrap=pxe-bootstrap.ipxe@30",
      "ipxe-fetch-permac=/pxe/{mac}@30",
      "kernel-initrd-fetched=bty-netboot-pc-x86_64-v@30",
      "kernel-booting=Linux version@30",
      "squashfs-fetched=.squashfs@30",
      "auto-flash-started=bty: auto-flash starting@240",
      "flash-complete=bty: flash complete; rebooting@180",
    ]);
    expect(argv.join(" ")).not.toMatch(/test-admin-pw|pxe-test-withcache/);
    expect(fields(chain).at(-1)).toBe("exitCode");
  });

  it("bios: Debian's stock undionly.kpxe, no iPXE build, no seed", async () => {
    await testPxe({ firmware: "bios", trio: "Directory:trio" });
    expect(flag(execOf(client()).args, "--nbp")).toEqual(["/usr/lib/ipxe/undionly.kpxe"]);
    expect(flag(execOf(client()).args, "--firmware")).toEqual(["bios"]);
    expect(client().find((c) => c.field === "withFile" && c.args.path === "/pxe/ipxe.efi")).toBeUndefined();
    expect(server().find((c) => c.field === "withFile" && c.args.path === "docker/seed/ipxe.efi")).toBeUndefined();
    expect(engine.chains().some((ch) => ch.some((c) => c.field === "git"))).toBe(false);
  });

  it("uefi with --ipxe uses that binary and builds no iPXE", async () => {
    await testPxe({ firmware: "uefi", trio: "Directory:trio", ipxe: "Directory:ipxe" });
    const efi = client().find((c) => c.field === "withFile" && c.args.path === "/pxe/ipxe.efi")!;
    expect(engine.pipelineOf(String(efi.args.source))?.map((c) => [c.field, c.args])).toEqual([
      ["node", { id: "Directory:ipxe" }],
      ["file", { path: "bty-ipxe-x86_64-v0.77.2.efi" }],
    ]);
    expect(engine.chains().some((ch) => ch.some((c) => c.field === "git"))).toBe(false);
  });

  it("a failed chain throws with the debug bundle: failure, markers seen and when, seeding, QEMU command line, logs", async () => {
    engine.answer("exitCode", 1);
    engine.answer("stdout", "chain-test.py: [  40.0s] accelerator tcg: marker budgets x2\n");
    engine.answer("stderr", "chain-test.py: FAILED: a serial marker did not appear in time (see markers.txt)\n");
    engine.answer("exists", (ctx: { args: { path: string } }) => ctx.args.path !== "nowhere");
    engine.answer("entries", (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "directory" && c.args.path === "/pxe/work/bundle")
        ? ["FAILURE.txt", "markers.txt", "seeding.log", "qemu-cmdline.txt", "serial.log", "bty-web.log"]
        : TRIO,
    );
    engine.answer("contents", (ctx: { chain: Call[] }) => {
      const file = [...ctx.chain].reverse().find((c) => c.field === "file")?.args.path;
      if (file === "pyproject.toml") return PYPROJECT;
      if (file === "serial.log") return Array.from({ length: 70 }, (_, i) => `serial line ${i + 1}`).join("\n");
      return `content of ${String(file)}\n`;
    });
    const err = (await testPxe({ firmware: "bios", trio: "Directory:trio" }).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/^test-pxe:bios failed \(chain-test\.py exited 1\)/);
    expect(err.message).toContain("accelerator tcg: marker budgets x2");
    expect(err.message).toContain("(see markers.txt)\n---- FAILURE.txt (last 60 lines) ----\ncontent of FAILURE.txt\n\n---- markers.txt");
    for (const name of ["FAILURE.txt", "markers.txt", "seeding.log", "qemu-cmdline.txt", "bty-web.log"]) {
      expect(err.message).toContain(`---- ${name} (last 60 lines) ----\ncontent of ${name}`);
    }
    // The last 60 lines of a long log.
    expect(err.message).toContain("---- serial.log (last 60 lines) ----\nserial line 11\nserial line 12\n");
    expect(err.message).not.toContain("serial line 10\n");
    // Only files the bundle has.
    for (const name of ["accel.txt", "dnsmasq.log", "withcache.log"]) expect(err.message).not.toContain(`---- ${name}`);
    // In this order: what failed first, the serial log before the server logs.
    expect(err.message.indexOf("---- markers.txt")).toBeLessThan(err.message.indexOf("---- serial.log"));
    expect(err.message.indexOf("---- serial.log")).toBeLessThan(err.message.indexOf("---- bty-web.log"));
  });

  it("a chain killed before it wrote its bundle throws with its output only", async () => {
    engine.answer("exitCode", 124);
    engine.answer("stdout", "chain-test.py: [ 900.0s] waiting for bty: flash complete\n");
    engine.answer("stderr", "");
    engine.answer("exists", (ctx: { args: { path: string } }) => ctx.args.path !== "bundle");
    engine.answer("entries", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "directory" && c.args.path === "/pxe/work/bundle")) throw new Error("no bundle to list");
      return TRIO;
    });
    const err = (await testPxe({ firmware: "bios", trio: "Directory:trio" }).catch((e: Error) => e)) as Error;
    expect(err.message).toBe("test-pxe:bios failed (chain-test.py exited 124)\nchain-test.py: [ 900.0s] waiting for bty: flash complete");
  });

  it("an unknown firmware fails naming the choices before any container", async () => {
    await expect(testPxe({ firmware: "coreboot", trio: "Directory:trio" })).rejects.toThrow(
      'unknown firmware "coreboot": use bios (SeaBIOS) or uefi (OVMF with bty\'s ipxe.efi)',
    );
    expect(engine.chains().some((ch) => ch.some((c) => c.field === "from" || c.field === "asService"))).toBe(false);
  });

  it("a trio with a missing file, or of another version, fails before any VM starts", async () => {
    engine.answer("entries", TRIO.slice(0, 2));
    await expect(testPxe({ firmware: "bios", trio: "Directory:trio" })).rejects.toThrow(
      "the trio lacks bty-netboot-pc-x86_64-v0.77.2.squashfs: pass a directory with bty's netboot-pc vmlinuz, initrd and squashfs (the output of build-netboot-pc) as --trio",
    );
    engine.answer("entries", ["vmlinuz", "initrd", "squashfs"].map((s) => `bty-netboot-pc-x86_64-v0.76.0.${s}`));
    await expect(testPxe({ firmware: "bios", trio: "Directory:trio" })).rejects.toThrow(/the trio is for another bty version .*this checkout is 0\.77\.2/);
    expect(engine.chains().some((ch) => ch.some((c) => c.field === "asService" || c.field === "exitCode"))).toBe(false);
  });

  it("without --trio, boots build-netboot-pc's output", async () => {
    await testPxe({ firmware: "bios" });
    const trio = client().find((c) => c.field === "withDirectory" && c.args.path === "/pxe/trio")!;
    expect(engine.pipelineOf(String(trio.args.source))?.some((c) => c.field === "from" && c.args.address === "debian:trixie-20251117-slim")).toBe(true);
  });

  it("without --trio, a build that lacks a trio file fails before any VM starts", async () => {
    engine.answer("entries", TRIO.slice(1));
    await expect(testPxe({ firmware: "bios" })).rejects.toThrow(/^the trio lacks bty-netboot-pc-x86_64-v0\.77\.2\.vmlinuz: /);
    expect(engine.chains().some((ch) => ch.some((c) => c.field === "asService" || c.field === "exitCode"))).toBe(false);
  });
});
