/**
 * The Raspberry Pi OS look-alike (test/payload/rpios-lookalike.sh: Debian
 * arm64 in Raspberry Pi OS Lite's partition layout, NOT Raspberry Pi OS),
 * made once per version of its script and cached with the payload caches:
 * the payload tier's rpi test and the engine tier's build-usbboot-rpi share it.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";

import { CACHE_DIR, REPO } from "./host.js";

const LOOKALIKE = join(REPO, "test/payload/rpios-lookalike.sh");

/** The look-alike image, made once per version of its script (cached like a volume). */
export function rpiosLookalike(): { path: string; seconds: number } {
  const key = createHash("sha256").update(readFileSync(LOOKALIKE)).digest("hex").slice(0, 12);
  const path = join(CACHE_DIR, `rpios-lookalike-${key}.img.xz`);
  if (existsSync(path)) return { path, seconds: 0 };
  mkdirSync(CACHE_DIR, { recursive: true });
  const start = performance.now();
  const building = `${path}.building-${process.pid}.img.xz`;
  const r = spawnSync("bash", [LOOKALIKE, building], { encoding: "utf8", timeout: 40 * 60_000 });
  if (r.status !== 0) throw new Error(`rpios-lookalike.sh exited ${r.status}:\n${r.stderr.slice(-4000)}`);
  renameSync(building, path);
  return { path, seconds: (performance.now() - start) / 1000 };
}

