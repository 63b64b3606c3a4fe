/**
 * test-pxe's chain per firmware, as the payload tier runs it: seconds from
 * QEMU start to the trio's kernel booting, and, given a directory holding
 * bty's real netboot-pc trio (build-netboot-pc's output), the full chain
 * through `bty: flash complete; rebooting`. Without one the stand-in trio
 * (Debian kernel + busybox initramfs) is booted and the flash is not timed.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { CHAIN_MARKERS, FIRMWARES, type Marker } from "../src/pxe/plan.js";
import { btyCheckout, IPXE_TARBALL } from "../test/payload/host.js";
import { customIpxe, runChain, STANDIN_MARKER, standinTrio } from "../test/payload/pxe-host.js";

const STANDIN_MARKERS: Marker[] = [
  ...CHAIN_MARKERS.filter((m) => !["auto-flash-started", "flash-complete"].includes(m.key)),
  { key: "standin-init", needle: STANDIN_MARKER, seconds: 30 },
];

const seenAt = (out: string, key: string) => new RegExp(`seen {4}${key} after ([\\d.]+)s`).exec(out)?.[1];

export async function benchPxe(trioDir?: string): Promise<void> {
  const checkout = btyCheckout();
  const version = /^version = "(.+)"$/m.exec(readFileSync(join(checkout, "pyproject.toml"), "utf8"))![1]!;
  const trio = trioDir ?? standinTrio(version);
  const efi = existsSync(IPXE_TARBALL) ? (await customIpxe(checkout, version)).efi : undefined;
  const markers = trioDir ? CHAIN_MARKERS : STANDIN_MARKERS;
  console.log(`\ntest-pxe chain (${trioDir ? `netboot-pc trio from ${trioDir}` : "stand-in trio: Debian kernel + busybox initramfs, no flash"}):`);
  for (const firmware of FIRMWARES) {
    if (firmware === "uefi" && !efi) {
      console.log(`  uefi: skipped, no ${IPXE_TARBALL} (set BTY_CI_VENDOR_DIR)`);
      continue;
    }
    const run = await runChain({ version, trio, efi }, firmware, markers);
    const accel = /accelerator (kvm|tcg)/.exec(run.out)?.[1] ?? "?";
    const kernel = seenAt(run.out, "kernel-booting");
    const flash = seenAt(run.out, "flash-complete");
    console.log(
      `  ${firmware} (${accel}): QEMU start -> trio kernel booting ${kernel ?? "not reached"} s` +
        (trioDir ? `, -> flash complete ${flash ?? "not reached"} s` : "") +
        `; whole run ${run.seconds.toFixed(0)} s, exit ${run.code}${run.code === 0 ? "" : ` (bundle in ${run.work}/run/bundle)`}`,
    );
  }
}
