/**
 * build-usbboot-rpi through the real SDK against the recording engine
 * (every query validated against the v0.21.8 schema): the pinned Raspberry
 * Pi OS download checked by the engine (or a file the caller gives), the
 * container and its packages, the image, wheel and checkout in place, the
 * literal steps with only the build privileged, the platform, and the
 * inputs refused before any container or download. Expectations are the
 * contract in contracts/build-usbboot-rpi.ts (from bty's job) and literals,
 * not values imported from src/.
 */
import { describe, expect, it } from "vitest";

import type { Call } from "../harness/engine.js";
import { ALL_CHECKS_ARGS, answerCheckout, NETBOOT_TRIO } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { type ContainerRun, readContainerRun } from "../harness/pipeline.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { BUILD_USBBOOT_RPI as CONTRACT, RPI_PATHS, RPI_PIN, RPI_VERIFY, rpiBuild, rpiCheck } from "./contracts/build-usbboot-rpi.js";
import { CI_SCRIPTS, SRC } from "./contracts/contract.js";
import { MODULE_FILES as files } from "./module-files.js";

const SOURCE_ID = "Directory:bty";
const state = { source: SOURCE_ID, pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
const OTHER = "0123456789abcdef".repeat(4);

const engine = useRecordingEngine({ scan: files, answers: answerCheckout });

const call = (args: Record<string, unknown> = {}, over: Record<string, string> = {}) =>
  invokeFunction({ files, fnName: "buildUsbbootRpi", parentState: { ...state, ...over }, args });

/** The returned directory's pipeline, read as the engine would run it. */
async function build(args: Record<string, unknown> = {}, over: Record<string, string> = {}): Promise<ContainerRun> {
  const id = await call(args, over);
  const chain = engine.pipelineOf(String(id));
  expect(chain, "a Directory of this engine comes back").toBeDefined();
  return readContainerRun(engine, chain!);
}

const pipeline = (id: unknown): Call[] => engine.pipelineOf(String(id)) ?? [];
const containerCalls = (run: ContainerRun, field: string) => run.calls.filter((c) => c.parent === "Container" && c.field === field);
const mountedAt = (run: ContainerRun, field: string, path: string) => containerCalls(run, field).filter((c) => c.args.path === path);
/** Container work or a download asked of the engine. */
const containerWork = () =>
  engine.calls().filter((c) => (c.parent === "Query" && (c.field === "container" || c.field === "http")) || c.field === "from");
const httpCalls = () => engine.chains().flat().filter((c) => c.field === "http");

/** One run held to the contract: image, tool layers before the checkout, steps, privileges, the returned directory. */
function expectContract(run: ContainerRun, steps = CONTRACT.steps) {
  expect(run.image).toMatch(CONTRACT.image);
  const hasSource = (e: ContainerRun["execs"][number]) => e.directories.some((d) => d.path === SRC);
  const setup = run.execs.filter((e) => !hasSource(e));
  expect(run.execs.slice(0, setup.length)).toEqual(setup);
  expect(setup.map((e) => e.argv)).toEqual(CONTRACT.setup);
  for (const e of setup) expect(e.privileged, e.argv.join(" ")).toBe(false);
  expect(run.execs.slice(setup.length).map((e) => ({ argv: e.argv, workdir: e.workdir, privileged: e.privileged, env: e.env }))).toEqual(
    steps.map((s) => ({ argv: s.argv, workdir: s.workdir, privileged: s.privileged, env: {} })),
  );
  for (const e of run.execs.slice(setup.length)) {
    // apt's caches are gone before the job's steps; nothing but argv and privileges on the exec.
    expect(e.caches, e.argv.join(" ")).toEqual(CONTRACT.caches);
    expect(e.options, e.argv.join(" ")).toEqual({});
    expect(e.directories).toEqual([
      { path: CI_SCRIPTS, from: ["currentModule", "source", "directory"], id: expect.any(String) },
      { path: SRC, from: ["node"], id: SOURCE_ID },
    ]);
  }
  // The out directory comes back, synced (the build really runs).
  expect(run.last?.field).toBe("sync");
  expect(run.calls.at(-2)).toMatchObject({ parent: "Container", field: "directory", args: { path: RPI_PATHS.out } });
}

describe("buildUsbbootRpi against bty's build-usbboot-rpi", () => {
  it("sends what its contract says", async () => {
    expectContract(await build());
  });

  it("downloads the pinned Raspberry Pi OS Lite through the engine, refused unless it has the pinned sha256", async () => {
    const run = await build();
    const [image, ...more] = mountedAt(run, "withMountedFile", RPI_PATHS.image);
    expect(more).toEqual([]);
    expect(pipeline(image?.args.source).map((c) => [c.parent, c.field, c.args])).toEqual([
      ["Query", "http", { url: RPI_PIN.url, checksum: `sha256:${RPI_PIN.sha256}` }],
    ]);
    expect(httpCalls()).toHaveLength(1);
    // Checked again in the container, against the pin.
    expect(run.execs.map((e) => e.argv)).toContainEqual(rpiCheck(RPI_PIN.sha256));
  });

  it("is a build row of all-checks: the pinned download, the engine's platform, its directory synced", async () => {
    engine.answer("entries", NETBOOT_TRIO);
    const text = String(await invokeFunction({ files, fnName: "allChecks", args: { ...ALL_CHECKS_ARGS, failOnError: false }, parentState: state }));
    expect(text).toMatch(/^build-usbboot-rpi +pass /m);
    expect(httpCalls().map((c) => c.args)).toEqual([{ url: RPI_PIN.url, checksum: `sha256:${RPI_PIN.sha256}` }]);
    const rpiBuild = engine.chains().find((chain) => chain.at(-1)?.field === "sync" && chain.some((c) => c.field === "directory" && c.args.path === RPI_PATHS.out));
    expect(rpiBuild, "build-usbboot-rpi's directory synced").toBeDefined();
    expect(rpiBuild!.find((c) => c.field === "container")?.args).toEqual({});
  });

  it("all-checks --rpi-image builds from the given image, checked against --rpi-image-checksum; nothing is downloaded", async () => {
    engine.answer("entries", NETBOOT_TRIO);
    const args = { ...ALL_CHECKS_ARGS, failOnError: false, rpiImage: "File:rpios", rpiImageChecksum: OTHER };
    expect(String(await invokeFunction({ files, fnName: "allChecks", args, parentState: state }))).toMatch(/^build-usbboot-rpi +pass /m);
    expect(httpCalls()).toEqual([]);
    expect(engine.execs().map((e) => e.args)).toContainEqual(rpiCheck(OTHER));
  });

  it("mounts the wheel directory of build-wheel and copies bty's checkout, after the tool layers", async () => {
    const run = await build();
    const [wheel, ...more] = mountedAt(run, "withMountedDirectory", RPI_PATHS.wheel);
    expect(more).toEqual([]);
    const made = pipeline(wheel?.args.source);
    expect(made.at(-1)).toMatchObject({ field: "directory", args: { path: "/src/dist" } });
    expect(made.some((c) => c.field === "withExec" && (c.args.args as string[]).slice(0, 2).join(" ") === "uv build")).toBe(true);
    // Layers in order: ci/, apt (its caches for the install only), inputs, the checkout last, the checkout's root.
    const layer = (c: Call) =>
      c.field === "withExec" ? `withExec ${(c.args.args as string[]).slice(0, 2).join(" ")}` : `${c.field} ${String(c.args.path ?? c.args.address ?? "")}`;
    const firstStep = run.calls.findIndex((c) => c.field === "withExec" && (c.args.args as string[])[0] === "sh");
    expect(run.calls.slice(0, firstStep).filter((c) => c.field !== "container").map(layer)).toEqual([
      expect.stringMatching(/^from python:3\.12\.\d+-slim-bookworm$/),
      "withDirectory /opt/bty-ci/ci",
      "withMountedCache /var/cache/apt/archives",
      "withMountedCache /var/lib/apt/lists",
      "withExec bash /opt/bty-ci/ci/apt-install.sh",
      "withoutMount /var/cache/apt/archives",
      "withoutMount /var/lib/apt/lists",
      `withMountedFile ${RPI_PATHS.image}`,
      `withMountedDirectory ${RPI_PATHS.wheel}`,
      "withDirectory /src",
      "withWorkdir /src",
    ]);
    expect(containerCalls(run, "withMountedCache").map((c) => c.args.sharing)).toEqual(["LOCKED", "LOCKED"]);
  });

  it("uses a given wheel directory as it is", async () => {
    const run = await build({ dist: "Directory:dist" });
    expect(mountedAt(run, "withMountedDirectory", RPI_PATHS.wheel).map((c) => c.args.source)).toEqual(["Directory:dist"]);
    expect(engine.execs().some((e) => e.args[0] === "uv")).toBe(false);
    expectContract(run);
  });

  it("gives root capabilities to rpios-build.py alone", async () => {
    const run = await build();
    expect(run.execs.filter((e) => e.privileged).map((e) => e.argv)).toEqual([rpiBuild()]);
  });

  it("makes the container on the engine's platform by default, on --platform when given", async () => {
    expect((await build()).calls[0]).toEqual({ parent: "Query", field: "container", args: {} });
    for (const platform of ["linux/arm64", "linux/amd64"]) {
      engine.reset();
      answerCheckout(engine);
      const run = await build({ platform });
      expect(run.calls[0]).toEqual({ parent: "Query", field: "container", args: { platform } });
      expectContract(run);
    }
  });

  it("--rpi-image replaces the download (no http query), checked against --rpi-image-checksum", async () => {
    const run = await build({ rpiImage: "File:rpi", rpiImageChecksum: OTHER });
    expect(mountedAt(run, "withMountedFile", RPI_PATHS.image).map((c) => c.args.source)).toEqual(["File:rpi"]);
    expect(httpCalls()).toEqual([]);
    expectContract(run, [{ ...CONTRACT.steps[0]!, argv: rpiCheck(OTHER) }, ...CONTRACT.steps.slice(1)]);
  });

  it("--rpi-image without a checksum is checked against the pin", async () => {
    const run = await build({ rpiImage: "File:rpi" });
    expect(httpCalls()).toEqual([]);
    expectContract(run);
  });

  it("hands the Debian mirror to apt and the build, the package index and a CA bundle to the build", async () => {
    const run = await build({}, { debianMirror: "http://mirror.internal", pythonIndex: "https://pypi.internal/simple", extraCaCerts: "File:ca" });
    expect(run.execs[0]?.argv.slice(0, 4)).toEqual(["bash", `${CI_SCRIPTS}/apt-install.sh`, "--mirror", "http://mirror.internal"]);
    expect(mountedAt(run, "withMountedFile", "/run/bty-ci/extra-ca.crt").map((c) => c.args.source)).toEqual(["File:ca"]);
    expect(run.execs.filter((e) => e.privileged).map((e) => e.argv)).toEqual([
      rpiBuild("--debian-mirror", "http://mirror.internal", "--pip-index", "https://pypi.internal/simple", "--ca-cert", "/run/bty-ci/extra-ca.crt"),
    ]);
    expect(run.execs.at(-1)?.argv).toEqual(RPI_VERIFY);
  });
});

describe("bad input is refused before any container or download", () => {
  it.each([
    ["a malformed --rpi-image-checksum", { rpiImageChecksum: "abc123" }, '--rpi-image-checksum "abc123" is not a sha256'],
    ["a malformed --rpi-image-checksum with --rpi-image", { rpiImage: "File:rpi", rpiImageChecksum: OTHER.toUpperCase() }, "is not a sha256"],
    ["a --rpi-image-checksum other than the pin's without --rpi-image", { rpiImageChecksum: OTHER }, "--rpi-image-checksum without --rpi-image"],
    ["--platform linux/s390x", { platform: "linux/s390x" }, 'unknown --platform "linux/s390x": use linux/arm64 or linux/amd64'],
  ])("%s", async (_what, args, message) => {
    await expect(call(args)).rejects.toThrow(message);
    expect(containerWork()).toEqual([]);
  });

  it("a checkout without cijoe/scripts/rpios_image_build.py, naming the file", async () => {
    engine.answer("exists", (ctx: { args: Record<string, unknown> }) => ctx.args.path !== "cijoe/scripts/rpios_image_build.py");
    const err = (await call().catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toContain("the checkout has no cijoe/scripts/rpios_image_build.py");
    expect(err.message).toContain("pass --source with a bty checkout");
    // It was asked of the checkout, and nothing else was started.
    expect(engine.fieldCalls("exists").map((c) => c.args.path)).toContain("cijoe/scripts/rpios_image_build.py");
    expect(containerWork()).toEqual([]);
  });
});
