/**
 * build-usbboot-rpi as data (src/rpi/plan.ts): bty's release names, the
 * inputs refused before any download or container, and the literal argv of
 * the three steps (the base image's sha256, ci/rpi/rpios-build.py as root,
 * ci/rpi/rpios-verify.py). Expectations are written out by hand from bty's
 * job (bty-usbboot-rpi-arm64-v*.img.gz + .sha256) and the two programs'
 * command lines, never computed by the code under test.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { checkRpiInputs, RPI_BUILD_PLATFORMS, RPI_SCRIPT, rpiArtifactNames, rpiBuildSteps } from "../../src/rpi/plan.js";

/** The pinned Raspberry Pi OS Lite release's sha256 (2026-06-18-raspios-trixie-arm64-lite.img.xz). */
const PINNED = "acff736ca7945e3b305f07cda4abdb870910e12634991da69783611756e381b3";
const OTHER = "0123456789abcdef".repeat(4);

const layout = { ciDir: "/ci", image: "/in/base.img.xz", source: "/bty", wheelDir: "/wheel", out: "/out" };

describe("rpiArtifactNames", () => {
  it("names bty's release files for 0.77.2", () => {
    expect(rpiArtifactNames("0.77.2")).toEqual({
      image: "bty-usbboot-rpi-arm64-v0.77.2.img.gz",
      sha256: "bty-usbboot-rpi-arm64-v0.77.2.img.gz.sha256",
      manifest: "bty-usbboot-rpi-arm64-v0.77.2.build-manifest.txt",
    });
  });

  it("puts the version in as given", () => {
    expect(rpiArtifactNames("1.0.0rc1").image).toBe("bty-usbboot-rpi-arm64-v1.0.0rc1.img.gz");
  });
});

describe("constants", () => {
  it("builds natively on arm64 or on amd64 through binfmt, and reads bty's own build script", () => {
    expect(RPI_BUILD_PLATFORMS).toEqual(["linux/arm64", "linux/amd64"]);
    expect(RPI_SCRIPT).toBe("cijoe/scripts/rpios_image_build.py");
  });
});

describe("checkRpiInputs", () => {
  it("accepts the pinned download, on the engine's platform or either build platform", () => {
    expect(() => checkRpiInputs({ given: false, sha256: PINNED, platform: "" })).not.toThrow();
    expect(() => checkRpiInputs({ given: false, sha256: PINNED, platform: "linux/arm64" })).not.toThrow();
    expect(() => checkRpiInputs({ given: false, sha256: PINNED, platform: "linux/amd64" })).not.toThrow();
  });

  it("accepts a given file with any well-formed sha256, the pin's too", () => {
    expect(() => checkRpiInputs({ given: true, sha256: OTHER, platform: "" })).not.toThrow();
    expect(() => checkRpiInputs({ given: true, sha256: PINNED, platform: "linux/arm64" })).not.toThrow();
  });

  it.each([
    ["too short", "abc123"],
    ["empty", ""],
    ["65 digits", `${PINNED}0`],
    ["upper case", PINNED.toUpperCase()],
    ["not hex", "g".repeat(64)],
    ["with the sha256: prefix", `sha256:${PINNED}`],
    ["with a trailing newline", `${PINNED}\n`],
  ])("refuses a sha256 that is not 64 lower-case hex digits (%s)", (_what, sha256) => {
    for (const given of [true, false]) {
      expect(() => checkRpiInputs({ given, sha256, platform: "" })).toThrow(
        `--rpi-image-checksum "${sha256}" is not a sha256 (64 lower-case hex digits)`,
      );
    }
  });

  it("refuses a sha256 other than the pin's without a given file, naming --rpi-image and the pin", () => {
    let err: unknown;
    try {
      checkRpiInputs({ given: false, sha256: OTHER, platform: "" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(/^--rpi-image-checksum without --rpi-image: /);
    expect(message).toContain("2026-06-18-raspios-trixie-arm64-lite.img.xz");
    expect(message).toContain(PINNED);
    expect(message).toContain("pass the image you mean with --rpi-image");
  });

  it.each(["linux/s390x", "linux/arm/v7", "arm64", "linux/amd64 "])("refuses --platform %j, naming the two platforms", (platform) => {
    expect(() => checkRpiInputs({ given: false, sha256: PINNED, platform })).toThrow(
      `unknown --platform "${platform}": use linux/arm64 or linux/amd64 (or leave it out for the engine's own)`,
    );
  });
});

describe("rpiBuildSteps", () => {
  const CHECK = ["sh", "-c", 'echo "$0  $1" | sha256sum --check --strict', OTHER, "/in/base.img.xz"];
  const VERIFY = ["python3", "/ci/rpi/rpios-verify.py", "/out/bty-usbboot-rpi-arm64-v0.77.2.img.gz", "--version", "0.77.2"];

  it("checks the base image, builds as root, verifies: literal argv without options", () => {
    expect(rpiBuildSteps(layout, "0.77.2", OTHER)).toEqual([
      { label: "base image sha256", argv: CHECK },
      {
        label: "rpios image build",
        argv: [
          "python3", "/ci/rpi/rpios-build.py",
          "--image", "/in/base.img.xz", "--source", "/bty", "--wheel", "/wheel",
          "--version", "0.77.2", "--out", "/out",
        ],
        privileged: true,
      },
      { label: "verify", argv: VERIFY },
    ]);
  });

  it("passes the Debian mirror, package index and CA bundle to the build only, in that order", () => {
    const steps = rpiBuildSteps(layout, "0.77.2", OTHER, {
      debianMirror: "http://mirror.internal",
      pipIndex: "https://pypi.internal/simple",
      caCert: "/run/ca.crt",
    });
    expect(steps.map((s) => s.argv)).toEqual([
      CHECK,
      [
        "python3", "/ci/rpi/rpios-build.py",
        "--image", "/in/base.img.xz", "--source", "/bty", "--wheel", "/wheel",
        "--version", "0.77.2", "--out", "/out",
        "--debian-mirror", "http://mirror.internal",
        "--pip-index", "https://pypi.internal/simple",
        "--ca-cert", "/run/ca.crt",
      ],
      VERIFY,
    ]);
  });

  it("passes each option alone, and none when empty", () => {
    const build = (opts: Parameters<typeof rpiBuildSteps>[3]) => rpiBuildSteps(layout, "0.77.2", OTHER, opts)[1]!.argv.slice(12);
    expect(build({ debianMirror: "http://m" })).toEqual(["--debian-mirror", "http://m"]);
    expect(build({ pipIndex: "https://p/simple" })).toEqual(["--pip-index", "https://p/simple"]);
    expect(build({ caCert: "/c.crt" })).toEqual(["--ca-cert", "/c.crt"]);
    expect(build({ debianMirror: "", pipIndex: "", caCert: "" })).toEqual([]);
    expect(build({})).toEqual([]);
  });

  it("gives root capabilities to the build only", () => {
    const steps = rpiBuildSteps(layout, "0.77.2", OTHER, { debianMirror: "http://m" });
    expect(steps.map((s) => [s.label, s.privileged === true])).toEqual([
      ["base image sha256", false],
      ["rpios image build", true],
      ["verify", false],
    ]);
  });

  it("verifies the image of the version built, under the out directory", () => {
    expect(rpiBuildSteps({ ...layout, out: "/o/x" }, "1.2.3", OTHER)[2]!.argv).toEqual([
      "python3", "/ci/rpi/rpios-verify.py", "/o/x/bty-usbboot-rpi-arm64-v1.2.3.img.gz", "--version", "1.2.3",
    ]);
  });

  it("hands sha256 and path to the check as positional arguments, not inside the script", () => {
    const weird = { ...layout, image: "/in/a b'$(touch x)\".img.xz" };
    const [check] = rpiBuildSteps(weird, "0.77.2", OTHER);
    expect(check!.argv.slice(0, 3)).toEqual(["sh", "-c", 'echo "$0  $1" | sha256sum --check --strict']);
    expect(check!.argv[2]).not.toContain(OTHER);
    expect(check!.argv[2]).not.toContain("base");
    expect(check!.argv.slice(3)).toEqual([OTHER, "/in/a b'$(touch x)\".img.xz"]);
  });
});

describe("the sha256 step, run by sh", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rpi-plan-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // sha256 of "bty rpi base\n", from sha256sum.
  const CONTENT_SHA = "b293d3961721341346172a45d3fac1442f20ddf0425087a57048d1cc52488128";
  const run = (sha256: string, image: string) => {
    const [check] = rpiBuildSteps({ ...layout, image }, "0.77.2", sha256);
    const [cmd, ...args] = check!.argv;
    return spawnSync(cmd!, args, { cwd: dir, encoding: "utf8" });
  };

  it("passes for the file's sha256, even at a path with spaces and quotes; fails for another", () => {
    const image = join(dir, "a b'c\".img.xz");
    writeFileSync(image, "bty rpi base\n");
    expect(execFileSync("sha256sum", [image], { encoding: "utf8" }).split(" ")[0]).toBe(CONTENT_SHA);
    expect(run(CONTENT_SHA, image).status).toBe(0);
    const wrong = run(OTHER, image);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout + wrong.stderr).toMatch(/FAILED/);
  });
});
