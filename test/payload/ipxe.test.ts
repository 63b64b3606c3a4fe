/**
 * Payload tier for build-ipxe, for real: iPXE compiled at the pinned commit
 * (the vendored tarball) with bty's files from its sdist, by the same step
 * list the Dagger function runs; the verifier passing it and failing broken
 * copies; and the binary booted: OVMF under QEMU PXE-boots it from dnsmasq
 * (bty's tag rules) on a bridge in a private network namespace, and it
 * chains to a real bty-web from the package index.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { IPXE } from "../../src/config.js";
import { btyCheckout, CI_DIR, IPXE_TARBALL as TARBALL, scratch } from "./host.js";
import { requestsFor } from "./access-log.js";
import { btyWebBin, customIpxe, PXE_MISSING } from "./pxe-host.js";
import { requireInstalled } from "../harness/requirements.js";

const TARBALL_SHA256 = "ce4461737deb70fcee4dd34e107bea713cc84adc5bd268bfed5c13497528301c";
const EFI_NAME = (version: string) => `bty-ipxe-x86_64-v${version}.efi`;
const CHAIN_LINE = "chain http://${next-server}:8080/pxe-bootstrap.ipxe";

const run = (argv: string[], opts: { timeout?: number } = {}) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: opts.timeout });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const haveTarball = existsSync(TARBALL);

/** What the compile produced, shared by the tests that use the binary. */
interface Built {
  version: string;
  checkout: string;
  outDir: string;
  efi: string;
  /** Undefined when an earlier test of this run compiled it. */
  compileSeconds?: number;
}
let built: Built | undefined;

const tarballNote = haveTarball ? "" : " — skipped: not there (set BTY_CI_VENDOR_DIR)";
describe.skipIf(!haveTarball)(`iPXE at the pinned commit, from the vendored ${TARBALL}${tarballNote}`, () => {
  beforeAll(async () => {
    const sha = createHash("sha256").update(readFileSync(TARBALL)).digest("hex");
    expect(sha, "the vendored tarball is the one the pin was checked against").toBe(TARBALL_SHA256);
    expect(IPXE.commit.startsWith("0ab2277c40f1")).toBe(true);

    const checkout = btyCheckout();
    const version = /^version = "(.+)"$/m.exec(readFileSync(join(checkout, "pyproject.toml"), "utf8"))![1]!;
    // build-ipxe's steps, compiled once per run for every payload test that boots the binary (test-pxe too).
    const ipxe = await customIpxe(checkout, version);
    built = { version, checkout, outDir: ipxe.outDir, efi: ipxe.efi, compileSeconds: ipxe.compileSeconds };
    const compile = built.compileSeconds === undefined ? "cached" : `${built.compileSeconds.toFixed(0)} s`;
    console.log(`iPXE compile: ${compile}, ${statSync(built.efi).size} bytes`);
  });

  it("builds bty-ipxe-x86_64-v<version>.efi with a basename .sha256, and nothing else, in the output", () => {
    const name = EFI_NAME(built!.version);
    expect(readdirSync(built!.outDir).sort()).toEqual([name, `${name}.sha256`]);
    const digest = createHash("sha256").update(readFileSync(built!.efi)).digest("hex");
    expect(readFileSync(join(built!.outDir, `${name}.sha256`), "utf8")).toBe(`${digest}  ${name}\n`);
  });

  it("staged bty's general.h as config/local/general.h and embedded bty's script", () => {
    const tree = resolve(built!.outDir, "../ipxe/src");
    const aux = join(built!.checkout, "bty-media/auxiliary");
    expect(readFileSync(join(tree, "config/local/general.h"), "utf8")).toBe(readFileSync(join(aux, "ipxe-local-general.h"), "utf8"));
    expect(readFileSync(join(tree, "bty-embed.ipxe"), "utf8")).toBe(readFileSync(join(aux, "ipxe-embed.ipxe"), "utf8"));
    expect(readFileSync(built!.efi).includes(Buffer.from(CHAIN_LINE))).toBe(true);
  });

  it("is about 1 MiB, with the general.h trims in effect (no HTTPS)", () => {
    const size = statSync(built!.efi).size;
    expect(size).toBeGreaterThan(900 * 1024);
    expect(size).toBeLessThan(1300 * 1024);
    // DOWNLOAD_PROTO_HTTPS is #undef'd by bty's general.h: iPXE's feature line lacks it.
    const text = readFileSync(built!.efi).toString("latin1");
    expect(text).toContain("HTTP");
    expect(text).not.toMatch(/Features:[^\n]*HTTPS/);
  });

  describe("ipxe-verify.py fails a broken binary and says what it found", () => {
    const verify = (file: string) =>
      run([
        "python3", join(CI_DIR, "ipxe-verify.py"),
        "--embed", join(built!.checkout, "bty-media/auxiliary/ipxe-embed.ipxe"),
        "--min-bytes", String(IPXE.minBytes), "--max-bytes", String(IPXE.maxBytes), file,
      ]);
    const broken = (name: string, edit: (b: Buffer) => Buffer) => {
      const file = join(scratch("ipxe-broken"), name);
      writeFileSync(file, edit(readFileSync(built!.efi)));
      return file;
    };

    it("passes the real one, every check reported", () => {
      const r = verify(built!.efi);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/passed 7 checks/);
      expect(r.out).toContain(`ok   bty chain line: found: ${CHAIN_LINE}`);
    });

    it("an EFI binary without bty's chain line", () => {
      const file = broken("no-chain.efi", (b) => {
        const at = b.indexOf(Buffer.from(`${CHAIN_LINE} ||`));
        b.write("chane", at, "latin1");
        return b;
      });
      const r = verify(file);
      expect(r.code).toBe(1);
      expect(r.err).toContain(`FAIL bty chain line: missing \`${CHAIN_LINE}`);
      expect(r.err).toMatch(/failed 1 check\(s\)/);
    });

    it("another architecture (arm64 machine field)", () => {
      const file = broken("arm64.efi", (b) => {
        b.writeUInt16LE(0xaa64, b.readUInt32LE(0x3c) + 4);
        return b;
      });
      const r = verify(file);
      expect(r.code).toBe(1);
      expect(r.err).toContain("FAIL machine x86-64: machine 0xaa64 (arm64)");
    });

    it("a truncated binary", () => {
      const file = broken("truncated.efi", (b) => b.subarray(0, b.length - 200_000));
      const r = verify(file);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/FAIL sections inside file: \d+ sections end at byte 1146368, file has 946368: truncated by 200000 bytes/);
    });

    it("not a PE file at all", () => {
      const file = broken("script.efi", () => Buffer.from("#!ipxe\necho hello\n"));
      const r = verify(file);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/FAIL DOS header: no MZ signature .*not a PE file/);
      expect(r.err).toMatch(/FAIL size band: 18 bytes/);
    });
  });

  describe("boots under QEMU (OVMF) and chains to a real bty-web", () => {
    requireInstalled(PXE_MISSING);
    it("PXE: firmware gets the binary over TFTP, iPXE runs bty's script and fetches /pxe-bootstrap.ipxe", () => {
      const btyWeb = btyWebBin(built!.version);
      const work = scratch("ipxe-boot");
      const start = performance.now();
      const r = run(
        [
          "unshare", "--net", "--",
          join(CI_DIR, "pxe/ipxe-chain-boot.sh"),
          "--workdir", work, "--efi-nbp", built!.efi, "--bty-web", btyWeb,
          "--subnet", "192.168.99",
          "--marker", "ipxe-loaded=iPXE",
          "--marker", "bty-script=bty: requesting DHCP lease",
          "--marker", "bty-chain=bty: chaining to http://192.168.99.1:8080/pxe-bootstrap.ipxe",
          "--marker", "bootstrap-fetched=http://192.168.99.1:8080/pxe-bootstrap.ipxe... ok",
          "--marker", "per-mac-plan=http://192.168.99.1:8080/pxe/52-54-00-11-22-33",
          "--served", "/pxe-bootstrap.ipxe",
          "--served", "/pxe/52-54-00-11-22-33",
          "--timeout", "240",
        ],
        { timeout: 15 * 60_000 },
      );
      const seconds = (performance.now() - start) / 1000;
      expect(r.code, `${r.out}\n${r.err}`).toBe(0);
      const chainAt = /seen {4}bty-chain after ([\d.]+)s/.exec(r.out)?.[1];
      console.log(`boot to bty's chain line: ${chainAt} s after QEMU start (whole run ${seconds.toFixed(0)} s)`);

      // The serial console shows bty's embedded script running, with next-server filled in.
      const serial = readFileSync(join(work, "serial.log"), "latin1");
      expect(serial).toContain("bty: chaining to http://192.168.99.1:8080/pxe-bootstrap.ipxe");
      // bty-web served the bootstrap script to the client (not to our health probe).
      const web = readFileSync(join(work, "bty-web.log"), "utf8");
      const bootstrap = requestsFor(web, "GET", "/pxe-bootstrap.ipxe").filter((r) => r.status === 200);
      expect(bootstrap.map((r) => r.client)).toContainEqual(expect.stringMatching(/^192\.168\.99\.\d+:\d+$/));
      // bty's tag rules: firmware got the binary over TFTP, iPXE got the HTTP URL instead.
      const dnsmasq = readFileSync(join(work, "dnsmasq.log"), "utf8");
      expect(dnsmasq).toMatch(/sent \S+\/tftproot\/ipxe\.efi to 192\.168\.99\.\d+/);
      expect(dnsmasq).toMatch(/tags: efi, btybr\d+\n(?:.*\n)*?.*bootfile-name {2}ipxe\.efi/);
      expect(dnsmasq).toMatch(/tags: ipxe, efi, btybr\d+\n(?:.*\n)*?.*bootfile-name {2}http:\/\/192\.168\.99\.1:8080\/pxe-bootstrap\.ipxe/);
    });

    it("fails, naming the missing marker, when the binary chains elsewhere", () => {
      const btyWeb = btyWebBin(built!.version);
      const work = scratch("ipxe-boot-bad");
      const wrong = join(work, "wrong-chain.efi");
      const b = readFileSync(built!.efi);
      b.write("pxe-bootstrXp", b.indexOf(Buffer.from("pxe-bootstrap.ipxe || echo")), "latin1");
      writeFileSync(wrong, b);
      const r = run(
        [
          "unshare", "--net", "--",
          join(CI_DIR, "pxe/ipxe-chain-boot.sh"),
          "--workdir", join(work, "run"), "--efi-nbp", wrong, "--bty-web", btyWeb,
          "--marker", "bty-script=bty: requesting DHCP lease@240",
          "--marker", "bootstrap-fetched=pxe-bootstrap.ipxe... ok@30",
          "--served", "/pxe-bootstrap.ipxe",
        ],
        { timeout: 15 * 60_000 },
      );
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/seen {4}bty-script after/);
      expect(r.err).toContain("MISSING bootstrap-fetched: 'pxe-bootstrap.ipxe... ok' (not within 30s)");
      expect(r.err).toContain("pxe-bootstrXp.ipxe");
      expect(r.err).toMatch(/the chain failed/);
    });
  });
});

describe("ipxe-build.sh with a stand-in make", () => {
  /** An iPXE-shaped tree and a `make` on PATH that records its argv and writes the target. */
  function fakeTree(makeBody: string) {
    const dir = scratch("ipxe-fake");
    const tree = join(dir, "ipxe");
    mkdirSync(join(tree, "src"), { recursive: true });
    writeFileSync(join(tree, "src/Makefile"), "# stand-in\n");
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin/make"), `#!/bin/sh\n${makeBody}\n`, { mode: 0o755 });
    writeFileSync(join(dir, "embed.ipxe"), "#!ipxe\nchain http://x/\n");
    writeFileSync(join(dir, "general.h"), "#undef DOWNLOAD_PROTO_HTTPS\n");
    return { dir, tree };
  }
  const build = (dir: string, tree: string, extra: string[] = []) =>
    spawnSync(
      "bash",
      [
        join(CI_DIR, "ipxe-build.sh"), "--ipxe-tree", tree, "--embed", join(dir, "embed.ipxe"),
        "--general-h", join(dir, "general.h"), "--output", join(dir, "out/ipxe.efi"), ...extra,
      ],
      { encoding: "utf8", env: { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH}` } },
    );

  it("stages bty's files and runs bty's make call", () => {
    const { dir, tree } = fakeTree(
      `echo "$@" > "${"$"}{0%/bin/make}/argv"; mkdir -p "$4/bin-x86_64-efi"; printf MZ > "$4/bin-x86_64-efi/ipxe.efi"`,
    );
    const r = build(dir, tree, ["--jobs", "2"]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, "argv"), "utf8")).toBe(
      `-j 2 -C ${tree}/src bin-x86_64-efi/ipxe.efi EMBED=bty-embed.ipxe NO_WERROR=1\n`,
    );
    expect(readFileSync(join(tree, "src/config/local/general.h"), "utf8")).toBe("#undef DOWNLOAD_PROTO_HTTPS\n");
    expect(readFileSync(join(tree, "src/bty-embed.ipxe"), "utf8")).toBe("#!ipxe\nchain http://x/\n");
    expect(readFileSync(join(dir, "out/ipxe.efi"), "utf8")).toBe("MZ");
  });

  it("a failing compile exits 1 with the log's last lines", () => {
    const { dir, tree } = fakeTree('echo "cc: error: something broke" ; exit 2');
    const r = build(dir, tree);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cc: error: something broke");
    expect(r.stderr).toContain("ipxe-build.sh: make exited 2");
    expect(existsSync(join(dir, "out/ipxe.efi"))).toBe(false);
  });

  it("a hanging compile is stopped at --timeout, with the log's last lines", () => {
    const { dir, tree } = fakeTree('echo "compiling forever"; exec sleep 60');
    const start = performance.now();
    const r = build(dir, tree, ["--timeout", "2"]);
    expect(r.status).toBe(1);
    expect((performance.now() - start) / 1000).toBeLessThan(20);
    expect(r.stderr).toContain("compiling forever");
    expect(r.stderr).toContain("the compile did not finish within 2s (stopped)");
  });

  it("refuses a directory that is not an iPXE tree, before building (exit 2)", () => {
    const { dir } = fakeTree("exit 0");
    const r = build(dir, join(dir, "bin"));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("pass the iPXE source tree root (containing src/Makefile)");
  });
});

// --help, strict mode and the linters for every ci/ program: test/unit/ci-programs.test.ts
// and test/payload/ci-scripts.test.ts; serial-watch.py and dnsmasq-conf.py: test/unit/ci/.
describe("the iPXE and PXE shell programs on this host", () => {
  it("lan.sh and ipxe-chain-boot.sh refuse bad arguments before touching the network (exit 2)", () => {
    expect(run([join(CI_DIR, "pxe/lan.sh"), "up", "--bridge", "name-longer-than-15", "--tap", "t", "--address", "10.0.0.1/24"]).code).toBe(2);
    const r = run([join(CI_DIR, "pxe/ipxe-chain-boot.sh"), "--workdir", scratch("x"), "--efi-nbp", "/nonexistent.efi", "--bty-web", "true", "--marker", "a=b"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--efi-nbp /nonexistent.efi not found");
  });

  it("qemu-accel.sh picks an accelerator and says why", () => {
    const r = run([join(CI_DIR, "qemu-accel.sh")]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^(kvm|tcg)$/);
    expect(r.err).toMatch(/qemu-accel\.sh: (kvm|tcg) \(.+\)/);
  });
});
