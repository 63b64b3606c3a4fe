/**
 * The files of a bty checkout that functions read before sending container
 * work (pyproject.toml for the version, .pre-commit-config.yaml for lint's
 * hook manifests), as an answer for the recording engine's `contents`.
 */
import type { Call, RecordingEngine } from "./engine.js";

export const PYPROJECT = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n';

/** No remote hook repository, so lint fetches no manifest (lint.test.ts covers them). */
export const PRE_COMMIT_CONFIG = "repos: []\n";

/** `contents` of the file a chain reads: the pre-commit config, else `pyproject`. */
export function checkoutContents(pyproject: string = PYPROJECT) {
  return ({ chain }: { chain: Call[] }): string =>
    chain.some((c) => c.field === "file" && c.args.path === ".pre-commit-config.yaml") ? PRE_COMMIT_CONFIG : pyproject;
}

/** What `entries` of netboot-pc's build lists (test-pxe checks the trio before booting it). */
export const NETBOOT_TRIO = [
  "bty-netboot-pc-x86_64-v0.77.2.vmlinuz",
  "bty-netboot-pc-x86_64-v0.77.2.initrd",
  "bty-netboot-pc-x86_64-v0.77.2.squashfs",
];

/**
 * The answers of a checkout every check can run on: every file exists,
 * `contents` as {@link checkoutContents}, and `entries` netboot-pc's trio.
 * A `useRecordingEngine` answers function (test/harness/use-engine.ts).
 */
export function answerCheckout(engine: RecordingEngine): void {
  engine.answer("exists", true);
  engine.answer("contents", checkoutContents());
  engine.answer("entries", NETBOOT_TRIO);
}

/** all-checks' arguments for a run where every check can pass: an unpacked Ventoy release. */
export const ALL_CHECKS_ARGS = { ventoy: "Directory:ventoy" };

/** Every check all-checks runs, as the CLI names them. */
export const ALL_CHECK_NAMES = [
  "lint", "test:py-311", "test:py-312", "test:py-313", "test:py-314", "typecheck", "flash-integration", "deploy-integration",
  "build-wheel", "docs", "build-ipxe", "build-netboot-pc", "build-ramboot-init", "build-usbboot-pc",
  "test-usb-grow", "test-usb-ventoy", "test-pxe:bios", "test-pxe:uefi",
];
