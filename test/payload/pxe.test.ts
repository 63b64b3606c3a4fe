/**
 * Payload tier for test-pxe, for real: ci/pxe/server.sh runs a real
 * withcache and a real bty-web (both from the package index) and
 * ci/pxe/chain-test.py, with the argv test-pxe runs, makes a bridge + tap in a
 * private network namespace, runs dnsmasq with bty's tag rules on it, does
 * bty's seeding sequence and PXE-boots QEMU (TCG here): SeaBIOS through the
 * NIC's iPXE ROM, OVMF through bty's ipxe.efi compiled from the pinned iPXE.
 * The trio here is a stand-in (Debian's kernel + a busybox initramfs named
 * as netboot-pc's): the chain runs through bty-web's per-MAC script to the
 * trio's kernel booting. The full chain through bty's flash runs on the real
 * netboot-pc trio right after its build, in test/payload/media.test.ts.
 *
 * The namespace is also a PID namespace whose init is the driver, so a killed
 * driver takes every process (and with them the segment) along, as a killed
 * Dagger exec does. chain-test.py's steps and its usage errors (exit 2
 * before anything starts) are unit-tested in test/unit/ci/test_chain_test.py.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { CHAIN_MARKERS, type Firmware, type Marker } from "../../src/pxe/plan.js";
import { requestsFor } from "./access-log.js";
import { btyCheckout, IPXE_TARBALL } from "./host.js";
import {
  btyWebBin, chainCommand as command, customIpxe, PXE_MISSING, type PxeInputs, type Run, runChain as chain, STANDIN_MARKER,
  standinTrio, withcacheBin,
} from "./pxe-host.js";
import { requireInstalled } from "../harness/requirements.js";

/** bty's markers up to the trio's kernel, then the stand-in's /init. */
const STANDIN_MARKERS: Marker[] = [
  ...CHAIN_MARKERS.filter((m) => !["auto-flash-started", "flash-complete"].includes(m.key)),
  { key: "standin-init", needle: STANDIN_MARKER, seconds: 30 },
];
const runChain = (firmware: Firmware, markers: Marker[], preamble = "") => chain(inputs, firmware, markers, [], preamble);
const chainCommand = (firmware: Firmware, markers: Marker[]) => command(inputs, firmware, markers);

let inputs: PxeInputs;

const seenAt = (out: string, key: string) => Number(new RegExp(`seen {4}${key} after ([\\d.]+)s`).exec(out)?.[1]);
const read = (file: string) => readFileSync(file, "latin1");
const macOf = (run: Run) => /PUT http:\/\/192\.168\.99\.1:8080\/machines\/(\S+) -> 200/.exec(read(join(run.work, "run/seeding.log")))?.[1];

/** Processes whose command line mentions `needle` (our runs' work directories are unique). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(needle) && Number(pid) !== process.pid) found.push(`${pid}: ${cmd.slice(0, 120)}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** The bty seeding sequence of bty's workflow, in order, as seeding.log records it. */
const SEEDING = [
  /^POST http:\/\/192\.168\.99\.1:8080\/ui\/login -> 303/,
  /^PUT http:\/\/192\.168\.99\.1:8080\/boot\/bty-netboot-pc-x86_64-v[\d.]+\.vmlinuz -> 200/,
  /^PUT http:\/\/192\.168\.99\.1:8080\/boot\/bty-netboot-pc-x86_64-v[\d.]+\.initrd -> 200/,
  /^PUT http:\/\/192\.168\.99\.1:8080\/boot\/bty-netboot-pc-x86_64-v[\d.]+\.squashfs -> 200/,
  /^PUT http:\/\/192\.168\.99\.1:8080\/boot\/test\.qcow2 -> 200/,
  /^PUT http:\/\/192\.168\.99\.1:8080\/boot\/test\.qcow2\.sha256 -> 20[01]/,
  /^POST http:\/\/192\.168\.99\.1:8081\/catalog\/entries -> 20[01]/,
  /^POST http:\/\/192\.168\.99\.1:8081\/catalog\/entries\/pxe-test-image\/download -> 20[012]/,
  /^GET http:\/\/192\.168\.99\.1:8081\/catalog -> 200/,
  /^POST http:\/\/192\.168\.99\.1:8080\/admin\/withcache\/refresh -> 204/,
  /^PUT http:\/\/192\.168\.99\.1:8080\/machines\/52:54:00:[0-9a-f:]{8} -> 200/,
];

function expectSeeding(run: Run) {
  // Polls of GET /catalog repeat until the download is listed; one is enough for the order.
  const lines = read(join(run.work, "run/seeding.log")).split("\n").filter(Boolean);
  const collapsed = lines.filter((l, i) => !(l.startsWith("GET ") && lines[i - 1]?.startsWith("GET ")));
  expect(collapsed).toHaveLength(SEEDING.length);
  SEEDING.forEach((re, i) => expect(collapsed[i]).toMatch(re));
}

function expectBootedTheTrio(run: Run) {
  const mac = macOf(run)!;
  const hyphen = mac.replaceAll(":", "-");
  expect(run.out).toMatch(/chain-test\.py: \[\s*[\d.]+s\] PXE chain complete: all 7 markers seen/);
  // bty-web served the chain to the client, through the forwarder on the bridge address.
  const web = read(join(run.work, "server-logs/bty-web.log"));
  for (const path of ["/pxe-bootstrap.ipxe", `/pxe/${hyphen}`, `/boot/bty-netboot-pc-x86_64-v${inputs.version}.vmlinuz?mac=`, `/boot/bty-netboot-pc-x86_64-v${inputs.version}.initrd?mac=`]) {
    expect(requestsFor(web, "GET", path, { prefix: true })).not.toEqual([]);
  }
  // The trio's kernel got bty's per-MAC command line.
  const serial = read(join(run.work, "run/serial.log"));
  expect(serial).toMatch(new RegExp(`${STANDIN_MARKER}; cmdline: .*boot=live fetch=http://192\\.168\\.99\\.1:8080/boot/bty-netboot-pc-x86_64-v[\\d.]+\\.squashfs .*bty\\.mac=${mac}`));
  const accel = /accelerator (kvm|tcg)/.exec(run.out)?.[1];
  console.log(
    `${run.work}: accel ${accel}, QEMU start -> trio kernel booting ${seenAt(run.out, "kernel-booting")} s, ` +
      `-> stand-in init ${seenAt(run.out, "standin-init")} s; whole run ${run.seconds.toFixed(0)} s`,
  );
  // The budget: QEMU start to the trio's kernel booting within 60 s on TCG.
  expect(seenAt(run.out, "kernel-booting")).toBeLessThanOrEqual(60);
}

describe("PXE chain to a real bty-web and withcache (stand-in trio)", () => {
  requireInstalled(PXE_MISSING);
  beforeAll(async () => {
    const checkout = btyCheckout();
    const version = /^version = "(.+)"$/m.exec(readFileSync(join(checkout, "pyproject.toml"), "utf8"))![1]!;
    inputs = { version, trio: standinTrio(version), efi: existsSync(IPXE_TARBALL) ? (await customIpxe(checkout, version)).efi : undefined };
    btyWebBin(version);
    withcacheBin();
  }, 30 * 60_000);

  it("bios: SeaBIOS, the NIC's iPXE gets bty's bootstrap URL by the tag rules, per-MAC script, the trio's kernel", async () => {
    const run = await runChain("bios", STANDIN_MARKERS);
    expect(run.code, `${run.out}\n${run.err}`).toBe(0);
    expectSeeding(run);
    expectBootedTheTrio(run);
    // QEMU's NIC option ROM is iPXE itself: bty's user-class rule hands it the HTTP URL at once.
    const dnsmasq = read(join(run.work, "run/dnsmasq.log"));
    expect(dnsmasq).toMatch(/tags: ipxe, bios, bpxb\d+x[0-9a-f]{3}\n(?:.*\n)*?.*bootfile-name {2}http:\/\/192\.168\.99\.1:8080\/pxe-bootstrap\.ipxe/);
    expect(read(join(run.work, "run/dnsmasq.conf"))).toContain("dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe");
    expect(read(join(run.work, "run/qemu-cmdline.txt"))).not.toContain("pflash");
  }, 15 * 60_000);

  it.skipIf(!existsSync(IPXE_TARBALL))(`uefi: OVMF gets bty's ipxe.efi over TFTP, it chains to bty-web, per-MAC script, the trio's kernel${existsSync(IPXE_TARBALL) ? "" : ` — skipped: no vendored iPXE at ${IPXE_TARBALL} (set BTY_CI_VENDOR_DIR)`}`, async () => {
    const run = await runChain("uefi", STANDIN_MARKERS);
    expect(run.code, `${run.out}\n${run.err}`).toBe(0);
    expectSeeding(run);
    expectBootedTheTrio(run);
    const dnsmasq = read(join(run.work, "run/dnsmasq.log"));
    expect(dnsmasq).toMatch(/sent \S+\/tftproot\/ipxe\.efi to 192\.168\.99\.\d+/);
    expect(dnsmasq).toMatch(/tags: efi, bpxb\d+x[0-9a-f]{3}\n(?:.*\n)*?.*bootfile-name {2}ipxe\.efi/);
    expect(dnsmasq).toMatch(/tags: ipxe, efi, bpxb\d+x[0-9a-f]{3}\n(?:.*\n)*?.*bootfile-name {2}http:\/\/192\.168\.99\.1:8080\/pxe-bootstrap\.ipxe/);
    // bty's embedded script ran: it is the custom binary, not a stock one.
    expect(read(join(run.work, "run/serial.log"))).toContain("bty: chaining to http://192.168.99.1:8080/pxe-bootstrap.ipxe");
    expect(read(join(run.work, "run/qemu-cmdline.txt"))).toMatch(/romfile=,bootindex=1/);
  }, 15 * 60_000);

  it("a missing marker fails with the debug bundle: serial, dnsmasq, server logs, QEMU command line, markers seen and when; a dead run's segment is reaped", async () => {
    // Missing while iPXE still runs (the stand-in powers off soon after its kernel, which would end the watch early).
    const markers = [STANDIN_MARKERS[0]!, { key: "flash-complete", needle: "bty: flash complete; rebooting", seconds: 5 }];
    // A segment a SIGKILLed run left in a shared namespace (its owner pid is gone) is reaped first.
    const run = await runChain("bios", markers, "ip link add bpxb4000000xdea type bridge\n");
    expect(run.out).toMatch(/removed segments of dead runs: bpxb4000000xdea/);
    expect(run.code).toBe(1);
    const bundle = join(run.work, "run/bundle");
    expect(readdirSync(bundle).sort()).toEqual(
      ["FAILURE.txt", "accel.txt", "bty-web.log", "dnsmasq.conf", "dnsmasq.log", "markers.txt", "qemu-cmdline.txt", "qemu.log", "seeding.log", "serial.log", "withcache.log"],
    );
    const markersTxt = read(join(bundle, "markers.txt"));
    expect(markersTxt).toMatch(/^seen {4}ipxe-loaded after [\d.]+s: 'iPXE'$/m);
    // Budgets are scaled to the accelerator QEMU got: 5 s under KVM, 10 s under TCG.
    expect(markersTxt).toMatch(/MISSING flash-complete: 'bty: flash complete; rebooting' \(not within (5|10)s\)/);
    expect(read(join(bundle, "accel.txt"))).toMatch(/^qemu-accel\.sh: (kvm|tcg) \(.+\)$/m);
    expect(read(join(bundle, "FAILURE.txt"))).toBe("a serial marker did not appear in time (see markers.txt)\n");
    expect(read(join(bundle, "qemu-cmdline.txt"))).toMatch(/^qemu-system-x86_64 -accel (kvm|tcg) .*-netdev tap,id=pxe,ifname=bpxt\d+x[0-9a-f]{3}/);
    expect(requestsFor(read(join(bundle, "bty-web.log")), "PUT", "/machines/52:54:00:", { prefix: true })).not.toEqual([]);
    expect(read(join(bundle, "withcache.log")).length).toBeGreaterThan(0);
    expect(run.err).toContain(`debug bundle ${bundle}:`);
    expect(run.err).toMatch(/^ {2}serial\.log \(\d+ bytes\)$/m);
    expect(processesMentioning(run.work)).toEqual([]);
  }, 15 * 60_000);

  it("a run killed mid-boot (SIGKILL) leaves no process, and so no namespace, bridge or tap, behind", async () => {
    const { argv, work, env } = chainCommand("bios", STANDIN_MARKERS);
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: "ignore" });
    const serial = join(work, "run/serial.log");
    const deadline = Date.now() + 5 * 60_000;
    while (!(existsSync(serial) && read(serial).includes("iPXE")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(read(serial)).toContain("iPXE");
    const before = processesMentioning(work);
    expect(before.some((p) => p.includes("qemu-system-x86_64"))).toBe(true);
    expect(before.some((p) => p.includes("dnsmasq"))).toBe(true);
    const netns = readlinkSync(`/proc/${Number(before.find((p) => p.includes("dnsmasq"))!.split(":")[0])}/ns/net`);
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));
    const gone = Date.now() + 20_000;
    while (processesMentioning(work).length && Date.now() < gone) await new Promise((r) => setTimeout(r, 250));
    expect(processesMentioning(work)).toEqual([]);
    // No process is left in the run's network namespace, so the kernel freed it with its bridge and tap.
    const inNetns = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readlinkSync(`/proc/${p}/ns/net`) === netns;
      } catch {
        return false;
      }
    });
    expect(inNetns).toEqual([]);
  }, 10 * 60_000);

  it("a run stopped by SIGTERM (a time bound, a cancel) cleans up and still writes its bundle", async () => {
    const { argv, work, env } = chainCommand("bios", STANDIN_MARKERS);
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: "ignore" });
    const closed = new Promise<number | null>((r) => child.on("close", r));
    const serial = join(work, "run/serial.log");
    const deadline = Date.now() + 5 * 60_000;
    while (!(existsSync(serial) && read(serial).includes("iPXE")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    const driver = processesMentioning(work).find((p) => p.includes("chain-test.py"))!;
    process.kill(Number(driver.split(":")[0]), "SIGTERM");
    expect(await closed).toBe(1);
    expect(read(join(work, "run/bundle/FAILURE.txt"))).toBe("stopped by signal SIGTERM\n");
    expect(readdirSync(join(work, "run/bundle"))).toEqual(expect.arrayContaining(["serial.log", "seeding.log", "qemu-cmdline.txt", "bty-web.log"]));
    expect(processesMentioning(work)).toEqual([]);
  }, 10 * 60_000);

  it("two runs at once do not collide: own segment names, MACs, both complete", async () => {
    const [a, b] = await Promise.all([runChain("bios", STANDIN_MARKERS), runChain("bios", STANDIN_MARKERS)]);
    expect(a.code, `${a.out}\n${a.err}`).toBe(0);
    expect(b.code, `${b.out}\n${b.err}`).toBe(0);
    expect(macOf(a)).not.toBe(macOf(b));
    const bridge = (r: Run) => /on (bpxb\d+x[0-9a-f]{3}), client tap (bpxt\d+x[0-9a-f]{3})/.exec(r.out)?.slice(1);
    expect(bridge(a)).toBeDefined();
    expect(bridge(a)).not.toEqual(bridge(b));
  }, 20 * 60_000);
});
