/**
 * Commands as data: every job of bty-ci is a list of Steps. The Dagger side
 * runs them as container execs (containers.ts, the one runner); the payload
 * tests run the very same lists on this machine, so the two cannot drift apart.
 */

/** One command of a job. */
export interface Step {
  /** Short name for people reading the plan (and its tests); the engine sees only the argv. */
  label: string;
  argv: string[];
  /** Working directory relative to the bty checkout (default: the container's, the checkout's root in a job container). */
  cwd?: string;
  /** Extra environment for this command only. */
  env?: Record<string, string>;
  /** Needs root capabilities: loop devices, mounts, live-build's chroot, QEMU's /dev/kvm. */
  privileged?: boolean;
  /**
   * Starts the debug bundle (a VM boot): from this step on, a failure hands the
   * bundle on instead of failing the exec alone.
   */
  writesBundle?: true;
}
