/**
 * The files of a bty checkout that functions read before sending container
 * work (pyproject.toml for the version, .pre-commit-config.yaml for lint's
 * hook manifests, the deploy tests for the tag the quadlet test deploys), as
 * an answer for the recording engine's `contents`.
 */
import type { Call, RecordingEngine } from "./engine.js";

export const PYPROJECT = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n';

/** No remote hook repository, so lint fetches no manifest (lint.test.ts covers them). */
export const PRE_COMMIT_CONFIG = "repos: []\n";

/** The lines of bty 0.77.2's tests/test_deploy_integration.py that pin the version its quadlet test deploys. */
export const DEPLOY_TESTS = [
  "@pytest.mark.integration",
  "def test_deploy_purge_redeploy_quadlet_lifecycle(",
  "    quadlet_deploy_dest: Path,",
  "    monkeypatch: pytest.MonkeyPatch,",
  ") -> None:",
  '    monkeypatch.setattr(bty, "__version__", "0.65.2")',
  '    monkeypatch.setattr(deploy_mod, "__version__", "0.65.2", raising=False)',
  "",
].join("\n");

/** `contents` of the file a chain reads: the pre-commit config, the deploy tests, else `pyproject`. */
export function checkoutContents(pyproject: string = PYPROJECT) {
  const reads = (chain: Call[], path: string) => chain.some((c) => c.field === "file" && c.args.path === path);
  return ({ chain }: { chain: Call[] }): string =>
    reads(chain, ".pre-commit-config.yaml") ? PRE_COMMIT_CONFIG : reads(chain, "tests/test_deploy_integration.py") ? DEPLOY_TESTS : pyproject;
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
  "deploy-quadlet-integration", "build-wheel", "docs", "build-ipxe", "build-netboot-pc", "build-ramboot-init", "build-usbboot-pc", "build-usbboot-rpi",
  "test-usb-grow", "test-usb-ventoy", "test-pxe:bios", "test-pxe:uefi",
];
