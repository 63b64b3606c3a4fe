/**
 * The payload tier's scratch lifecycle (host.ts, setup.ts): removed after a
 * passing file, never emptied through a mount point, kept after a failure.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import type { RunnerTask } from "vitest";
import { describe, expect, it } from "vitest";

import { anyFailed, clearScratch, mountPoints, REPO, scratch, scratchMade } from "./host.js";
import { assertInstalled, rootMissing } from "../harness/requirements.js";


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

  it("keeps a directory with a mount point inside, and the mounted files (root: mount)", () => {
    assertInstalled(rootMissing());
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

/**
 * A file of test/payload/scratch-files run by a vitest of its own with the
 * payload setup: its exit code, output and the scratch directory it made.
 */
function runFile(name: string, keep = false) {
  const probe = join(scratch("probe-out"), "made");
  const env: NodeJS.ProcessEnv = { ...process.env, SCRATCH_PROBE: probe };
  delete env.BTY_CI_KEEP_SCRATCH;
  if (keep) env.BTY_CI_KEEP_SCRATCH = "1";
  const r = spawnSync(
    process.execPath,
    [join(REPO, "node_modules/vitest/vitest.mjs"), "run", "--config", join(import.meta.dirname, "scratch-files/vitest.config.ts"), name],
    { cwd: REPO, env, encoding: "utf8" },
  );
  return { code: r.status, out: r.stdout + r.stderr, dir: readFileSync(probe, "utf8") };
}

describe("the payload setup on whole files", () => {
  it("a file that passed leaves no scratch and says nothing about it", () => {
    const r = runFile("passes.fixture.ts");
    expect(r.code, r.out).toBe(0);
    expect(existsSync(r.dir)).toBe(false);
    expect(r.out).not.toMatch(/scratch (kept|not removed)/);
  });

  it.each([
    ["a failed test", "test-fails.fixture.ts"],
    ["a throwing afterAll of the file's own", "after-all-throws.fixture.ts"],
  ])("%s keeps the file's scratch and lists it", (_what, name) => {
    const r = runFile(name);
    expect(r.code, r.out).toBe(1);
    expect(existsSync(r.dir)).toBe(true);
    expect(r.out).toContain(`scratch kept (a test or hook failed):\n  ${r.dir}\n`);
    rmSync(r.dir, { recursive: true });
  });

  it("BTY_CI_KEEP_SCRATCH=1 keeps a passing file's scratch and lists it", () => {
    const r = runFile("passes.fixture.ts", true);
    expect(r.code, r.out).toBe(0);
    expect(existsSync(r.dir)).toBe(true);
    expect(r.out).toContain(`scratch kept (BTY_CI_KEEP_SCRATCH=1):\n  ${r.dir}\n`);
    rmSync(r.dir, { recursive: true });
  });
});
