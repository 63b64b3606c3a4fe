/**
 * A gathered release tree (one folder per asset group, as the build
 * functions return them) made of real files: bty's own wheel and sdist from
 * the package index, Debian's iPXE EFI binary, a Linux-boot-format kernel
 * (iPXE's .lkrn), initrds made with cpio, a squashfs made with mksquashfs,
 * an ISO made with xorriso, a PDF, and sidecars written by sha256sum with
 * basenames. They are not bty's media builds (other functions make those);
 * they are real files of each kind under the names those builds use.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { ALL_CHECK_NAMES } from "../../harness/checkout.js";
import { REPO, scratch, CACHE_DIR } from "../host.js";

function run(argv: string[], cwd?: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`\`${argv.join(" ")}\` exited ${r.status ?? r.signal}:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/** bty's released wheel and sdist of `version`, from the package index (cached). */
export function btyDist(version: string): string {
  const dir = join(CACHE_DIR, `release-dist-${version}`);
  mkdirSync(dir, { recursive: true });
  const want = [`bty_lab-${version}-py3-none-any.whl`, `bty_lab-${version}.tar.gz`];
  if (!want.every((f) => existsSync(join(dir, f)))) {
    run(["python3", "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", "-d", dir, `bty-lab==${version}`]);
    run(["python3", "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", dir, `bty-lab==${version}`]);
  }
  return dir;
}

/** A minimal, valid one-page PDF. */
function pdf(): Buffer {
  const objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objs.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

/** Build the gathered tree for `version`; returns its root. */
export function gatheredTree(version: string): string {
  const root = join(scratch("gathered"), "gathered");
  const dir = (g: string) => { const d = join(root, g); mkdirSync(d, { recursive: true }); return d; };
  const v = version;
  const dist = dir("dist");
  for (const f of readdirSync(btyDist(v))) copyFileSync(join(btyDist(v), f), join(dist, f));
  const ipxe = dir("bty-ipxe-x86_64");
  copyFileSync(realpathSync("/usr/lib/ipxe/ipxe.efi"), join(ipxe, `bty-ipxe-x86_64-v${v}.efi`));
  writeFileSync(join(ipxe, `bty-ipxe-x86_64-v${v}.efi.sha256`), run(["sha256sum", `bty-ipxe-x86_64-v${v}.efi`], ipxe));

  const tree = join(scratch("rootfs"), "rootfs");
  mkdirSync(join(tree, "etc"), { recursive: true });
  writeFileSync(join(tree, "etc", "issue"), `bty ${v}\n`);
  const initrd = (out: string) => run(["bash", "-c", `find . | cpio -o -H newc --quiet | gzip -9n > '${out}'`], tree);
  for (const [group, base, squash] of [
    ["bty-netboot-pc-x86_64", `bty-netboot-pc-x86_64-v${v}`, true],
    ["bty-ramboot-init-x86_64", `bty-ramboot-init-x86_64-v${v}`, false],
  ] as const) {
    const d = dir(group);
    copyFileSync(realpathSync("/usr/lib/ipxe/ipxe.lkrn"), join(d, `${base}.vmlinuz`));
    initrd(join(d, `${base}.initrd`));
    const files = [`${base}.initrd`, `${base}.vmlinuz`];
    if (squash) {
      run(["mksquashfs", tree, join(d, `${base}.squashfs`), "-noappend", "-quiet", "-all-root"]);
      files.splice(1, 0, `${base}.squashfs`);
    }
    writeFileSync(join(d, `${base}.sha256`), run(["sha256sum", ...files], d));
  }
  const usb = dir("bty-usbboot-pc-x86_64-iso");
  const iso = `bty-usbboot-pc-x86_64-v${v}.iso`;
  run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "BTY", "-o", join(usb, iso), tree]);
  writeFileSync(join(usb, `${iso}.sha256`), run(["sha256sum", iso], usb));
  const rpi = dir("bty-usbboot-rpi-arm64");
  const img = `bty-usbboot-rpi-arm64-v${v}.img.gz`;
  run(["bash", "-c", `head -c 1048576 /dev/zero | gzip -9n > '${img}'`], rpi);
  writeFileSync(join(rpi, `${img}.sha256`), run(["sha256sum", img], rpi));
  writeFileSync(join(dir("docs-pdf"), "bty.pdf"), pdf());
  return root;
}

/** Result of one program run. */
export interface ProgramRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The host side of the release programs. */
export const HOST_RELEASE_LAYOUT = { runner: ["node", "--import", "tsx"], ciDir: join(REPO, "ci") };

/**
 * Run a program asynchronously (the fake servers live in this process), with
 * `env` added; `onSpawn` gets the child (e.g. to kill it mid-run).
 */
export function runProgram(
  argv: string[],
  env: Record<string, string>,
  onSpawn?: (kill: () => void) => void,
  cwd: string = REPO,
): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    onSpawn?.(() => child.kill("SIGKILL"));
  });
}

/** Which all-checks job builds each gathered group (bty's artifact producers). */
const BUILT_BY: Record<string, string> = {
  dist: "build-wheel",
  "bty-ipxe-x86_64": "build-ipxe",
  "bty-netboot-pc-x86_64": "build-netboot-pc",
  "bty-ramboot-init-x86_64": "build-ramboot-init",
  "bty-usbboot-pc-x86_64-iso": "build-usbboot-pc",
  "bty-usbboot-rpi-arm64": "build-usbboot-rpi",
  "docs-pdf": "docs",
};

/**
 * all-checks' report.json for a green run of `version` that built the files
 * under `gathered` (<group>/<file>): each file's sha256 computed here, with
 * node's crypto, the way the checks' own sums would list it. `failed` marks
 * jobs red. Returns the report's path (next to `gathered`).
 */
export function checksReport(version: string, gathered: string, failed: string[] = []): string {
  const artifacts = new Map<string, { name: string; size: number; sha256: string }[]>();
  for (const group of readdirSync(gathered)) {
    for (const name of readdirSync(join(gathered, group)).filter((f) => !f.endsWith(".sha256"))) {
      const bytes = readFileSync(join(gathered, group, name));
      const job = BUILT_BY[group]!;
      artifacts.set(job, [...(artifacts.get(job) ?? []), { name, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") }]);
    }
  }
  const jobs = ALL_CHECK_NAMES.map((name) => ({
    name,
    status: failed.includes(name) ? "failed" : "passed",
    seconds: 1,
    reason: failed.includes(name) ? "failed on purpose" : "ok",
    artifacts: artifacts.get(name) ?? [],
    tail: [],
  }));
  const path = join(dirname(gathered), failed.length ? "report-red.json" : "report.json");
  writeFileSync(path, JSON.stringify({ title: "all-checks", version, ok: failed.length === 0, jobs }, null, 2));
  return path;
}
