/**
 * Locked cache volumes are held only while the exec that needs the lock
 * runs. A container keeps its mounts for every later exec, and a service
 * runs for as long as its clients do: with apt's LOCKED caches left mounted,
 * test-pxe's QEMU container and its server both held them, and a real engine
 * never started the server. Here every exec of all-checks (and every
 * service) is replayed with the mounts it would run with.
 */
import { describe, expect, it } from "vitest";

import type { Call } from "../harness/engine.js";
import { ALL_CHECKS_ARGS, answerCheckout } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { readContainerRun } from "../harness/pipeline.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const engine = useRecordingEngine({ scan: files, answers: answerCheckout });
const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
/** apt-install.sh where the job containers and the media builds' trixie base put it. */
const APT_INSTALLERS = ["/opt/bty-ci/ci/apt-install.sh", "/opt/bty-ci/apt-install.sh"];

describe("locked caches in all-checks", () => {
  it("apt's locked caches are mounted for apt-install only; no service runs with a locked cache", async () => {
    await invokeFunction({ files, fnName: "allChecks", args: ALL_CHECKS_ARGS, parentState: state });
    // Outside apt's own installs, the only locked caches are live-build's,
    // one per media variant, held by that variant's two live-build stages.
    const heldElsewhere = new Map<string, Set<string>>();
    let aptInstalls = 0;
    for (const chain of engine.chains()) {
      for (const exec of readContainerRun(engine, chain).execs) {
        const locked = exec.caches.filter((c) => c.sharing === "LOCKED");
        if (APT_INSTALLERS.includes(exec.argv[1]!)) {
          aptInstalls++;
          continue;
        }
        for (const c of locked) heldElsewhere.set(c.key, (heldElsewhere.get(c.key) ?? new Set()).add(exec.argv.slice(1, 3).join(" ")));
      }
    }
    expect(aptInstalls).toBeGreaterThan(0);
    expect(Object.fromEntries([...heldElsewhere].map(([key, execs]) => [key, [...execs].sort()]))).toEqual(
      Object.fromEntries(
        ["netboot-pc", "ramboot-init", "usbboot-pc"].map((v) => [
          `bty-ci-live-build-cache-${v}`,
          ["/opt/bty-ci/ci/media-build.sh prepare", "/opt/bty-ci/ci/media-build.sh rootfs"],
        ]),
      ),
    );
    // Every service's container, as it runs.
    const services = engine.calls().filter((c: Call) => c.field === "withServiceBinding").map((c) => engine.pipelineOf(String(c.args.service)) ?? []);
    expect(services.length).toBeGreaterThan(0);
    for (const svc of services) {
      const run = readContainerRun(engine, svc.slice(0, svc.findIndex((c) => c.field === "asService")));
      expect(run.final.caches.filter((c) => c.sharing === "LOCKED"), run.image).toEqual([]);
    }
  });
});
