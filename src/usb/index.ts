/**
 * The Dagger side of bty's USB tests: one privileged container (QEMU, loop
 * devices, exFAT) runs the command lists of plan.ts against the ISO. On
 * success the function returns the run's debug bundle (markers with their
 * times, the accelerator, serial log, QEMU command line, guest command
 * log); on failure the exec's error carries the bundle's summary and the
 * serial log's last lines, printed by ci/usb/usb-vm.py.
 */
import { type Container, dag, type Directory, type File } from "@dagger.io/dagger";

import { PATHS, USB } from "../config.js";
import { type JobInputs, jobContainer } from "../containers.js";
import { bundleDir, type UsbLayout, type UsbStep, usbGrowSteps, usbVentoySteps } from "./plan.js";

/** The layout inside the test container. */
export function usbLayout(): UsbLayout {
  return { ciDir: PATHS.ciScripts, work: USB.workDir, iso: `${USB.workDir}/bty-usbboot-pc.iso` };
}

function usbContainer(inputs: JobInputs, iso: File, steps: UsbStep[], extra: (ctr: Container) => Container): Container {
  const layout = usbLayout();
  return jobContainer(inputs, {
    apt: USB.apt,
    tools: (ctr) => extra(ctr.withFile(layout.iso, iso)),
    steps: () => steps,
    // QEMU's /dev/kvm (when it works), loop devices, mount and FUSE.
    privileged: true,
  });
}

/** test-usb-grow: the debug bundle of a passed run. */
export function usbGrowBundle(inputs: JobInputs, iso: File): Directory {
  return usbContainer(inputs, iso, usbGrowSteps(usbLayout()), (ctr) => ctr).directory(bundleDir(usbLayout()));
}

/** Where an unpacked Ventoy release sits in the container. */
export const VENTOY_DIR = `${USB.workDir}/ventoy`;

/**
 * test-usb-ventoy with a Ventoy release given as a directory, or fetched at
 * the pinned version and checked against `sha256` before it is unpacked.
 */
export function usbVentoyBundle(inputs: JobInputs, iso: File, ventoy: Directory | { sha256: string }): Directory {
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
  return usbContainer(inputs, iso, [...release, ...usbVentoySteps(layout, ventoyDir)], extra).directory(bundleDir(layout));
}
