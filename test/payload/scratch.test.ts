/**
 * The payload tier's scratch lifecycle (host.ts, setup.ts): removed after a
 * passing file, never emptied through a mount point, kept after a failure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { RunnerTask } from "vitest";
import { describe, expect, it } from "vitest";

import { anyFailed, clearScratch, mountPoints, scratch, scratchMade } from "./host.js";

const ROOT = process.getuid?.() === 0;

describe("scratch directories", () => {
  it("reads mount points from mountinfo, spaces and tabs decoded", () => {
    const mountinfo = [
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
      "97 22 0:45 / /tmp/bty-ci-media-ab12/build/chroot/proc rw - proc proc rw",
      "98 22 0:46 / /tmp/a\\040dir\\011x rw - tmpfs tmpfs rw",
      "",
    ].join("\n");
    expect(mountPoints(mountinfo)).toEqual(["/", "/tmp/bty-ci-media-ab12/build/chroot/proc", "/tmp/a dir\tx"]);
  });

  it("removes what it made, files and subdirectories included", () => {
    const dir = scratch("lifecycle");
    mkdirSync(join(dir, "a/b"), { recursive: true });
    writeFileSync(join(dir, "a/b/disk.img"), "x");
    expect(scratchMade()).toContain(dir);
    expect(clearScratch()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(scratchMade()).toEqual([]);
  });

  it.skipIf(!ROOT)(`keeps a directory with a mount point inside, and the mounted files${ROOT ? "" : " — skipped: needs root to mount"}`, () => {
    const dir = scratch("mounted");
    const proc = join(dir, "chroot/proc");
    mkdirSync(proc, { recursive: true });
    expect(spawnSync("mount", ["-t", "tmpfs", "tmpfs", proc]).status).toBe(0);
    try {
      writeFileSync(join(proc, "on-the-mount"), "kept");
      expect(clearScratch()).toEqual([{ dir, why: `${proc} is mounted there` }]);
      expect(existsSync(join(proc, "on-the-mount"))).toBe(true);
    } finally {
      spawnSync("umount", [proc]);
    }
    // Still on the list: once unmounted, the next clear removes it.
    expect(scratchMade()).toEqual([dir]);
    expect(clearScratch()).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });

  it("a failure anywhere in a file's task tree keeps its scratch", () => {
    const task = (state: "pass" | "fail" | "skip", tasks?: RunnerTask[]) =>
      ({ result: { state }, ...(tasks ? { tasks } : {}) }) as unknown as RunnerTask;
    expect(anyFailed(task("pass", [task("pass"), task("skip")]))).toBe(false);
    expect(anyFailed(task("pass", [task("pass", [task("pass"), task("fail")])]))).toBe(true);
    // A file-level beforeAll that threw fails the file itself, its tests skipped.
    expect(anyFailed(task("fail", [task("skip")]))).toBe(true);
  });
});
