/**
 * The Dagger side of bty's USB tests: one privileged container (QEMU, loop
 * devices, exFAT) runs the command lists of plan.ts against the ISO. The
 * function returns the run's debug bundle (markers with their times, the
 * accelerator, serial log, QEMU command line, guest command log). When the
 * boot or the grow assertion fails it throws a JobFailure carrying that
 * bundle, with what the failing program printed (usb-vm.py: its summary and
 * serial tail), so all-checks-bundle exports it as it does test-pxe's.
 */
import { type Container, dag, type Directory, type File } from "@dagger.io/dagger";

import { PATHS, USB } from "../config.js";
import { type JobInputs, jobContainer, withStep } from "../containers.js";
import type { Step } from "../steps.js";
import { JobFailure } from "../checks/report.js";
import { bundleDir, type UsbLayout, usbGrowSteps, usbVentoySteps } from "./plan.js";

/** The layout inside the test container. */
export function usbLayout(): UsbLayout {
  return { ciDir: PATHS.ciScripts, work: USB.workDir, iso: `${USB.workDir}/bty-usbboot-pc.iso` };
}

/**
 * Stage, boot, then the steps after the boot; the debug bundle of a passed
 * run, or a JobFailure with the bundle when the boot or a later step (the
 * grow assertion) failed. Staging fails as any exec does: there is no VM
 * and no bundle yet.
 */
async function runUsb(job: string, inputs: JobInputs, iso: File, steps: Step[], extra: (ctr: Container) => Container): Promise<Directory> {
  const layout = usbLayout();
  const boot = steps.findIndex((s) => s.writesBundle);
  let ctr = jobContainer(inputs, {
    apt: USB.apt,
    tools: (c) => extra(c.withFile(layout.iso, iso)),
    steps: () => steps.slice(0, boot),
    // QEMU's /dev/kvm (when it works), loop devices, mount and FUSE.
    privileged: true,
  });
  for (const step of steps.slice(boot)) {
    ctr = withStep(ctr, step, { privileged: true, expectAny: true });
    const code = await ctr.exitCode();
    if (code !== 0) {
      const out = `${await ctr.stdout()}${await ctr.stderr()}`.trim();
      throw new JobFailure(`${job} failed (${step.label}: exit ${code})\n${out}`, ctr.directory(bundleDir(layout)));
    }
  }
  return ctr.directory(bundleDir(layout)).sync();
}

/** test-usb-grow: the debug bundle of a passed run. */
export function usbGrowBundle(inputs: JobInputs, iso: File): Promise<Directory> {
  return runUsb("test-usb-grow", inputs, iso, usbGrowSteps(usbLayout()), (ctr) => ctr);
}

/** Where an unpacked Ventoy release sits in the container. */
export const VENTOY_DIR = `${USB.workDir}/ventoy`;

/**
 * test-usb-ventoy with a Ventoy release given as a directory, or fetched at
 * the pinned version and checked against `sha256` before it is unpacked.
 */
export function usbVentoyBundle(inputs: JobInputs, iso: File, ventoy: Directory | { sha256: string }): Promise<Directory> {
  const layout = usbLayout();
  const tarball = `${USB.workDir}/ventoy-${USB.ventoy.version}-linux.tar.gz`;
  const release = "sha256" in ventoy
    ? [
        { label: "verify ventoy release", argv: ["sh", "-c", 'printf "%s  %s\\n" "$0" "$1" | sha256sum -c -', ventoy.sha256, tarball] },
        { label: "unpack ventoy release", argv: ["tar", "-xzf", tarball, "-C", USB.workDir] },
      ]
    : [];
  const ventoyDir = "sha256" in ventoy ? `${USB.workDir}/ventoy-${USB.ventoy.version}` : VENTOY_DIR;
  const extra = (ctr: Container) =>
    "sha256" in ventoy ? ctr.withFile(tarball, dag.http(USB.ventoy.url)) : ctr.withDirectory(VENTOY_DIR, ventoy);
  return runUsb("test-usb-ventoy", inputs, iso, [...release, ...usbVentoySteps(layout, ventoyDir)], extra);
}
