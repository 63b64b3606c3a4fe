/**
 * What the PXE payload tests need on this machine, made once and kept under
 * CACHE_DIR: bty-web (bty-lab[web]) and withcache from the package index in
 * venvs, bty's custom ipxe.efi compiled from the vendored pinned iPXE by the
 * same steps build-ipxe runs, and a small stand-in trio (Debian's kernel from
 * its package + a busybox initramfs that prints a marker) for when the real
 * netboot-pc build is not at hand.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { IPXE, PXE } from "../../src/config.js";
import { ipxeArtifactName, ipxeSteps } from "../../src/ipxe/plan.js";
import { type ChainLayout, chainArgv, type Firmware, type Marker, PASSWORD_ENV, serverArgv } from "../../src/pxe/plan.js";
import { btySdist, CACHE_DIR, CI_DIR, IPXE_TARBALL, runHostSteps, scratch } from "./host.js";
import { constraintsKey, uvLockConstraints, WITHCACHE_VERSION, withcacheConstraintLines } from "./python-lock.js";

/** What the stand-in trio's /init prints on the serial console. */
export const STANDIN_MARKER = "bty-ci: stand-in trio booted";

/** bty's BIOS path: Debian's stock undionly.kpxe (the ipxe package), as bty's test seeds it. */
export const STOCK_UNDI = "/usr/lib/ipxe/undionly.kpxe";


const has = (cmd: string, args = ["--version"]) => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
/** What a QEMU boot on a private network segment lacks here, or undefined when it can run. */
export const PXE_MISSING = (() => {
  const lacking = [
    process.getuid?.() === 0 ? "" : "root",
    has("unshare", ["--net", "--pid", "--fork", "--mount-proc", "true"]) ? "" : "unshare (net+pid)",
    has("qemu-system-x86_64") ? "" : "qemu-system-x86",
    has("dnsmasq") ? "" : "dnsmasq",
    has("setpriv") ? "" : "setpriv",
    existsSync("/usr/share/OVMF/OVMF_CODE_4M.fd") ? "" : "OVMF",
    existsSync(STOCK_UNDI) ? "" : "Debian's ipxe",
  ].filter(Boolean);
  return lacking.length ? `a PXE boot needs ${lacking.join(", ")}` : undefined;
})();

function must(argv: string[], what: string, opts: { cwd?: string } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", cwd: opts.cwd, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${what} failed (${argv.join(" ")}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Made in a staging directory and renamed into place, so parallel or killed runs never see half a result. */
function cached(name: string, make: (staging: string) => void | Promise<void>): Promise<string> | string {
  const dir = join(CACHE_DIR, name);
  if (existsSync(dir)) return dir;
  mkdirSync(CACHE_DIR, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  const finish = () => {
    try {
      renameSync(staging, dir);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(dir)) throw e;
    }
    return dir;
  };
  const made = make(staging);
  return made instanceof Promise ? made.then(finish) : finish();
}

/**
 * A venv with `spec` pip-installed under `constraints` (locked versions);
 * returns its bin directory. The venv's name carries the constraints' key.
 */
export function venvBin(base: string, spec: string, constraints: readonly string[]): string {
  const name = `${base}-${constraintsKey(constraints)}`;
  const dir = cached(name, (staging) => {
    must(["python3", "-m", "venv", staging], "python3 -m venv");
    const file = join(staging, "constraints.txt");
    writeFileSync(file, `${constraints.join("\n")}\n`);
    must([join(staging, "bin/pip"), "install", "-q", "-c", file, spec], `pip install -c ${file} ${spec}`);
    // A venv's scripts name its path in their shebang: point them at where
    // the staging directory is renamed to, or they cannot start.
    const bin = join(staging, "bin");
    for (const entry of readdirSync(bin)) {
      const file = join(bin, entry);
      if (!lstatSync(file).isFile()) continue;
      const text = readFileSync(file, "latin1");
      if (text.includes(staging)) writeFileSync(file, text.split(staging).join(join(CACHE_DIR, name)), "latin1");
    }
  }) as string;
  return join(dir, "bin");
}

/** bty-web (bty-lab[web]) at `version`, its dependencies at the versions of that sdist's uv.lock. */
export function btyWebBin(version: string): string {
  const lock = must(["tar", "-xzOf", btySdist(version), `bty_lab-${version}/uv.lock`], `read uv.lock of bty-lab ${version}'s sdist`);
  return join(venvBin(`bty-web-${version}`, `bty-lab[web]==${version}`, uvLockConstraints(lock)), "bty-web");
}
export const withcacheBin = () =>
  join(venvBin(`withcache-${WITHCACHE_VERSION}`, `withcache==${WITHCACHE_VERSION}`, withcacheConstraintLines()), "withcache-server");

/** What the iPXE compile left: the binary, its output directory, the built tree and the compile's seconds (undefined when cached). */
export interface BuiltIpxe {
  efi: string;
  outDir: string;
  tree: string;
  compileSeconds?: number;
}

/**
 * bty's ipxe.efi from the vendored pinned iPXE, by build-ipxe's steps,
 * compiled once per (commit, bty version) and shared by the payload tests
 * (the compile takes minutes here); the tree is kept for inspection.
 */
export async function customIpxe(checkout: string, version: string): Promise<BuiltIpxe> {
  let compileSeconds: number | undefined;
  const dir = await cached(`ipxe-${IPXE.commit.slice(0, 12)}-${version}`, async (staging) => {
    const tree = join(staging, "ipxe");
    mkdirSync(tree);
    must(["tar", "-xzf", IPXE_TARBALL, "-C", tree, "--strip-components=1"], "unpack iPXE");
    const layout = { ciDir: CI_DIR, python: "python3", checkout, ipxeTree: tree, outDir: join(staging, "out"), buildLog: join(staging, "build.log") };
    const runs = await runHostSteps(ipxeSteps(layout, IPXE, version), checkout, { logName: "ipxe" });
    compileSeconds = runs[0]!.seconds;
  });
  return { efi: join(dir, "out", ipxeArtifactName(version)), outDir: join(dir, "out"), tree: join(dir, "ipxe"), compileSeconds };
}

/**
 * A small real trio named as netboot-pc's: Debian's kernel (the package
 * linux-image-amd64 depends on, fetched with apt-get download), a busybox
 * initramfs whose /init prints STANDIN_MARKER and the kernel command line
 * and powers off, and a tiny squashfs. It boots the kernel bty-web hands out;
 * it does not flash (that needs the real netboot-pc build).
 */
export function standinTrio(version: string): string {
  return cached(`standin-trio-${version}`, (staging) => {
    const work = scratch("standin-trio");
    const depends = must(["apt-cache", "depends", "linux-image-amd64"], "apt-cache depends");
    const pkg = /Depends: (linux-image-\S+)/.exec(depends)?.[1];
    if (!pkg) throw new Error(`no kernel package in: ${depends}`);
    must(["apt-get", "download", pkg], `apt-get download ${pkg}`, { cwd: work });
    const deb = readdirSync(work).find((f) => f.endsWith(".deb"))!;
    const debRoot = join(work, "deb");
    mkdirSync(debRoot);
    must(["sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ./boot`, "sh", join(work, deb), debRoot], "unpack kernel");
    const vmlinuz = readdirSync(join(debRoot, "boot")).find((f) => f.startsWith("vmlinuz-"))!;
    const name = (s: string) => join(staging, `bty-netboot-pc-x86_64-v${version}.${s}`);
    copyFileSync(join(debRoot, "boot", vmlinuz), name("vmlinuz"));

    const root = join(work, "initramfs");
    for (const d of ["bin", "dev", "proc"]) mkdirSync(join(root, d), { recursive: true });
    copyFileSync("/bin/busybox", join(root, "bin/busybox"));
    writeFileSync(
      join(root, "init"),
      [
        "#!/bin/busybox sh",
        "/bin/busybox mount -t proc proc /proc",
        "/bin/busybox mount -t devtmpfs dev /dev",
        `echo "${STANDIN_MARKER}; cmdline: $(/bin/busybox cat /proc/cmdline)" >/dev/ttyS0`,
        "/bin/busybox poweroff -f",
        "",
      ].join("\n"),
    );
    chmodSync(join(root, "init"), 0o755);
    must(["sh", "-c", `cd "$1" && find . | cpio -o -H newc --quiet | gzip -9 >"$2"`, "sh", root, name("initrd")], "initramfs");
    const sq = join(work, "squashfs");
    mkdirSync(sq);
    writeFileSync(join(sq, "README"), "bty-ci stand-in squashfs\n");
    must(["mksquashfs", sq, name("squashfs"), "-quiet", "-noappend"], "mksquashfs");
    rmSync(work, { recursive: true, force: true });
  }) as string;
}

/** What a chain run boots: bty's version, a trio directory and (uefi) bty's ipxe.efi. */
export interface PxeInputs {
  version: string;
  trio: string;
  efi?: string;
}

export interface Run {
  code: number | null;
  out: string;
  err: string;
  work: string;
  seconds: number;
}

/** The wrapper test-pxe's engine side stands for: the server, then the driver as the namespace's init. */
export function chainCommand(inputs: PxeInputs, firmware: Firmware, markers: Marker[], extra: string[] = [], preamble = ""): { argv: string[]; work: string; env: NodeJS.ProcessEnv } {
  const work = scratch(`pxe-${firmware}`);
  const logs = join(work, "server-logs");
  const server = serverArgv(
    {
      ciDir: CI_DIR, btyWeb: btyWebBin(inputs.version), withcache: withcacheBin(), logs, state: join(work, "server-state"),
      host: "127.0.0.1", btyPort: 18080, withcachePort: 18081, alias: false, serveLogs: false,
    },
    PXE,
  );
  const layout: ChainLayout = {
    ciDir: CI_DIR, python: "python3", workdir: join(work, "run"), trio: inputs.trio,
    nbp: firmware === "bios" ? STOCK_UNDI : inputs.efi!,
    btyWeb: "127.0.0.1:18080", withcache: "127.0.0.1:18081",
    serviceLogs: { "bty-web": join(logs, "bty-web.log"), withcache: join(logs, "withcache.log") },
  };
  const driver = chainArgv(layout, PXE, firmware, inputs.version, markers, ["--accel", "auto", ...extra]);
  const q = (argv: string[]) => argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const script = `set -euo pipefail\nip link set lo up\n${preamble}setpriv --pdeathsig TERM ${q(server)} &\nexec ${q(driver)}\n`;
  return {
    argv: ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc", "--", "bash", "-c", script],
    work,
    env: { ...process.env, [PASSWORD_ENV.bty]: PXE.btyPassword, [PASSWORD_ENV.withcache]: PXE.withcachePassword },
  };
}

export function runChain(inputs: PxeInputs, firmware: Firmware, markers: Marker[], extra: string[] = [], preamble = ""): Promise<Run> {
  const { argv, work, env } = chainCommand(inputs, firmware, markers, extra, preamble);
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code, out, err, work, seconds: (performance.now() - start) / 1000 }));
  });
}

