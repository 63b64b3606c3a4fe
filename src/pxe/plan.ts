/**
 * bty's PXE chain test, the pure part: firmware and trio
 * validation, the serial markers with their budgets, and the argv of the
 * server side (ci/pxe/server.sh) and of the chain driver
 * (ci/pxe/chain-test.py) that the Dagger function and the payload test both run.
 */

export const FIRMWARES = ["bios", "uefi"] as const;
export type Firmware = (typeof FIRMWARES)[number];

/** The three files of bty's netboot-pc live image the chain boots. */
export const TRIO_SUFFIXES = ["vmlinuz", "initrd", "squashfs"] as const;

export function trioNames(version: string): string[] {
  return TRIO_SUFFIXES.map((s) => `bty-netboot-pc-x86_64-v${version}.${s}`);
}

export class PxeInputError extends Error {
  override name = "PxeInputError";
}

/** Throws a PxeInputError naming the fix unless `firmware` is bios or uefi. */
export function checkFirmware(firmware: string): asserts firmware is Firmware {
  if (!(FIRMWARES as readonly string[]).includes(firmware)) {
    throw new PxeInputError(`unknown firmware "${firmware}": use bios (SeaBIOS) or uefi (OVMF with bty's ipxe.efi)`);
  }
}

/**
 * Checks a trio directory's listing against bty's version: every file of
 * the trio present, and no trio of another version (a build of another
 * checkout). Throws a PxeInputError naming the fix.
 */
export function checkTrio(entries: string[], version: string): void {
  const expected = trioNames(version);
  const others = entries.filter((e) => /^bty-netboot-pc-x86_64-v.+\.(vmlinuz|initrd|squashfs)$/.test(e) && !expected.includes(e));
  const missing = expected.filter((e) => !entries.includes(e));
  if (missing.length === 0) return;
  if (others.length > 0) {
    throw new PxeInputError(
      `the trio is for another bty version (${others.sort().join(", ")}); this checkout is ${version}: ` +
        "pass the netboot-pc build of this checkout (build-netboot-pc) as --trio",
    );
  }
  throw new PxeInputError(
    `the trio lacks ${missing.join(", ")}: pass a directory with bty's netboot-pc vmlinuz, initrd and squashfs ` +
      "(the output of build-netboot-pc) as --trio",
  );
}

/** One serial-console marker: a substring, in order, within `seconds` of the previous one under KVM. */
export interface Marker {
  key: string;
  needle: string;
  seconds: number;
}

/**
 * bty's markers in the order the chain prints them, with
 * per-marker budgets under KVM summing to bty's CHAIN_TIMEOUT (600 s). bty
 * checks presence only; bty-ci checks order too, and adds `kernel-booting`
 * (the trio's kernel printing its banner) to time the PXE part. `{mac}` is
 * the client MAC in bty's hyphenated URL form, filled in by the driver.
 */
export const CHAIN_MARKERS: Marker[] = [
  { key: "ipxe-loaded", needle: "iPXE", seconds: 30 },
  { key: "ipxe-fetch-bootstrap", needle: "pxe-bootstrap.ipxe", seconds: 30 },
  { key: "ipxe-fetch-permac", needle: "/pxe/{mac}", seconds: 30 },
  { key: "kernel-initrd-fetched", needle: "bty-netboot-pc-x86_64-v", seconds: 30 },
  { key: "kernel-booting", needle: "Linux version", seconds: 30 },
  { key: "squashfs-fetched", needle: ".squashfs", seconds: 30 },
  { key: "auto-flash-started", needle: "bty: auto-flash starting", seconds: 240 },
  { key: "flash-complete", needle: "bty: flash complete; rebooting", seconds: 180 },
];

/** Settings of the chain (from config, passed in so tests state them as literals). */
export interface PxeSettings {
  subnet: string;
  btyPort: number;
  withcachePort: number;
  logPort: number;
  btyPassword: string;
  withcachePassword: string;
  memoryMiB: number;
  healthzSeconds: number;
  tcgScale: number;
}

/** Names of the environment variables carrying the admin passwords (kept out of argv). */
export const PASSWORD_ENV = { bty: "BTY_CI_PXE_BTY_PASSWORD", withcache: "BTY_CI_PXE_WITHCACHE_PASSWORD" } as const;

/** Where the server side runs and what it runs. */
export interface ServerLayout {
  ciDir: string;
  btyWeb: string;
  withcache: string;
  logs: string;
  state: string;
  /** Listen address and ports of the servers. */
  host: string;
  btyPort: number;
  withcachePort: number;
  /** Add the segment's server address to lo (Dagger service: URLs the servers hand each other resolve locally). */
  alias: boolean;
  /** Serve the logs over HTTP (Dagger service: the driver collects them for the bundle). */
  serveLogs: boolean;
}

/** argv of ci/pxe/server.sh (passwords come from PASSWORD_ENV). */
export function serverArgv(layout: ServerLayout, settings: PxeSettings): string[] {
  const server = `${settings.subnet}.1`;
  return [
    "bash", `${layout.ciDir}/pxe/server.sh`,
    "--bty-web", layout.btyWeb,
    "--withcache", layout.withcache,
    "--logs", layout.logs,
    "--state", layout.state,
    "--withcache-url", `http://${server}:${settings.withcachePort}`,
    "--bty-password-env", PASSWORD_ENV.bty,
    "--withcache-password-env", PASSWORD_ENV.withcache,
    "--host", layout.host,
    "--bty-port", String(layout.btyPort),
    "--withcache-port", String(layout.withcachePort),
    ...(layout.alias ? ["--alias", server] : []),
    ...(layout.serveLogs ? ["--log-port", String(settings.logPort)] : []),
  ];
}

/** Where the chain driver runs and what it is given. */
export interface ChainLayout {
  ciDir: string;
  python: string;
  workdir: string;
  trio: string;
  /** undionly.kpxe (bios) or bty's ipxe.efi (uefi). */
  nbp: string;
  /** HOST:PORT of bty-web and withcache as the driver reaches them. */
  btyWeb: string;
  withcache: string;
  /** NAME → path or URL of each server log, for the debug bundle. */
  serviceLogs: Record<string, string>;
}

/**
 * argv of ci/pxe/chain-test.py. `markers` defaults to bty's full chain;
 * the payload tier's stand-in trio passes its own tail.
 */
export function chainArgv(
  layout: ChainLayout,
  settings: PxeSettings,
  firmware: Firmware,
  version: string,
  markers: Marker[] = CHAIN_MARKERS,
  extra: string[] = [],
): string[] {
  return [
    layout.python, `${layout.ciDir}/pxe/chain-test.py`,
    "--firmware", firmware,
    "--workdir", layout.workdir,
    "--trio", layout.trio,
    "--version", version,
    "--nbp", layout.nbp,
    "--bty-web", layout.btyWeb,
    "--withcache", layout.withcache,
    "--bty-password-env", PASSWORD_ENV.bty,
    "--withcache-password-env", PASSWORD_ENV.withcache,
    "--subnet", settings.subnet,
    "--memory", String(settings.memoryMiB),
    "--healthz-timeout", String(settings.healthzSeconds),
    "--tcg-scale", String(settings.tcgScale),
    ...Object.entries(layout.serviceLogs).flatMap(([name, source]) => ["--service-log", `${name}=${source}`]),
    ...markers.flatMap((m) => ["--marker", `${m.key}=${m.needle}@${m.seconds}`]),
    ...extra,
  ];
}
