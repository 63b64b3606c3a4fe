/**
 * The command lists of bty's USB tests (pure, no Dagger): staging, the QEMU
 * run with bty's in-VM checks, and the grow assertion. The Dagger functions
 * run them as container execs; the payload tier runs the same lists here.
 */
import { USB } from "../config.js";
import { isSha256 } from "../sha256.js";
import type { Step } from "../steps.js";

export interface UsbLayout {
  /** Directory holding bty-ci's `ci/` programs. */
  ciDir: string;
  /** Working directory: disk image and debug bundle go below it. */
  work: string;
  /** The usbboot-pc ISO. */
  iso: string;
}

/** Where a run's debug bundle is written (markers.json, serial.log, qemu-cmdline.txt, steps.log). */
export function bundleDir(layout: UsbLayout): string {
  return `${layout.work}/vm`;
}

/** `--timeout key=seconds` arguments in a fixed order. */
export function timeoutArgs(timeouts: Record<string, number>): string[] {
  return Object.entries(timeouts).flatMap(([key, seconds]) => ["--timeout", `${key}=${seconds}`]);
}

/** Programs touching loop devices run under flash-env.sh (partition nodes in a container, exFAT fallback, leftover loops detached). */
function withLoops(ciDir: string, argv: string[]): string[] {
  return ["bash", `${ciDir}/flash-env.sh`, "--", ...argv];
}

function vmStep(layout: UsbLayout, scenario: "grow" | "ventoy", timeouts: Record<string, number>): Step {
  return {
    label: `boot and check (${scenario})`,
    writesBundle: true,
    argv: [
      "python3", `${layout.ciDir}/usb/usb-vm.py`,
      "--scenario", scenario,
      "--disk", `${layout.work}/disk.img`,
      "--workdir", bundleDir(layout),
      "--accel", "auto",
      ...timeoutArgs(timeouts),
      "--tcg-scale", String(USB.tcgScale),
    ],
  };
}

/** test-usb-grow: stage the ISO on a 4 GiB disk, boot it and check the wizard, then assert the grow. */
export function usbGrowSteps(layout: UsbLayout): Step[] {
  return [
    {
      label: "stage",
      argv: [
        "bash", `${layout.ciDir}/usb/grow-stage.sh`,
        "--iso", layout.iso,
        "--out", layout.work,
        "--verifier", `${layout.ciDir}/media-verify.py`,
        "--size", String(USB.diskBytes),
        "--label", USB.imagesLabel,
      ],
    },
    vmStep(layout, "grow", USB.growTimeouts),
    {
      label: "assert grown",
      argv: withLoops(layout.ciDir, [
        "bash", `${layout.ciDir}/usb/grow-assert.sh`,
        "--disk", `${layout.work}/disk.img`,
        "--min-bytes", String(USB.minGrowBytes),
        "--label", USB.imagesLabel,
      ]),
    },
  ];
}

/** test-usb-ventoy: install Ventoy on a 4 GiB disk with the ISO, local image and catalog; boot and check. */
export function usbVentoySteps(layout: UsbLayout, ventoyDir: string): Step[] {
  return [
    {
      label: "stage ventoy",
      argv: withLoops(layout.ciDir, [
        "bash", `${layout.ciDir}/usb/ventoy-stage.sh`,
        "--iso", layout.iso,
        "--ventoy", ventoyDir,
        "--out", layout.work,
        "--verifier", `${layout.ciDir}/media-verify.py`,
        "--size", String(USB.diskBytes),
        "--label", USB.imagesLabel,
      ]),
    },
    vmStep(layout, "ventoy", USB.ventoyTimeouts),
  ];
}

/** A sha256 as the release's sha256.txt prints it: 64 hex digits. */
export function checkVentoySha256(sha: string): string {
  const s = sha.trim().toLowerCase();
  if (!isSha256(s)) {
    throw new Error(
      `--ventoy-checksum "${sha}" is not a sha256: give the 64 hex digits listed for ventoy-${USB.ventoy.version}-linux.tar.gz in the release's sha256.txt`,
    );
  }
  return s;
}
