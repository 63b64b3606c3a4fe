/** The media plan: release names and stage argv, as literals. */
import { describe, expect, it } from "vitest";

import { MEDIA, MEDIA_CACHE, MEDIA_STAGE_TIMEOUT_SECONDS } from "../../src/config.js";
import {
  artifactNames,
  buildManifestName,
  checkTimeout,
  MEDIA_VARIANTS,
  type MediaLayout,
  mediaStages,
  MISSING_MEDIA,
} from "../../src/media/plan.js";

const layout: MediaLayout = { ciDir: "/ci", source: "/bty", work: "/w", out: "/o" };

describe("release names", () => {
  it("match bty's assets for v0.77.2", () => {
    expect(artifactNames("netboot-pc", "0.77.2")).toEqual([
      "bty-netboot-pc-x86_64-v0.77.2.vmlinuz",
      "bty-netboot-pc-x86_64-v0.77.2.initrd",
      "bty-netboot-pc-x86_64-v0.77.2.squashfs",
      "bty-netboot-pc-x86_64-v0.77.2.sha256",
    ]);
    expect(artifactNames("ramboot-init", "0.77.2")).toEqual([
      "bty-ramboot-init-x86_64-v0.77.2.vmlinuz",
      "bty-ramboot-init-x86_64-v0.77.2.initrd",
      "bty-ramboot-init-x86_64-v0.77.2.sha256",
    ]);
    expect(artifactNames("usbboot-pc", "0.77.2")).toEqual([
      "bty-usbboot-pc-x86_64-v0.77.2.iso",
      "bty-usbboot-pc-x86_64-v0.77.2.iso.sha256",
    ]);
    expect(buildManifestName("usbboot-pc", "1.0.0")).toBe("bty-usbboot-pc-x86_64-v1.0.0.build-manifest.txt");
    expect(MEDIA_VARIANTS).toEqual(["netboot-pc", "ramboot-init", "usbboot-pc"]);
  });
});

describe("stages", () => {
  it("netboot-pc: six stages of media-build.sh, root capabilities for live-build's only", () => {
    const stages = mediaStages(layout, "netboot-pc", "0.77.2", "/whl", {});
    expect(stages.map((s) => [s.label, s.privileged])).toEqual([
      ["prepare", false],
      ["rootfs", true],
      ["install bty", true],
      ["seal", false],
      ["binary", true],
      ["finish", false],
    ]);
    expect(stages.map((s) => s.argv)).toEqual([
      ["bash", "/ci/media-build.sh", "prepare", "--source", "/bty", "--variant", "netboot-pc", "--work", "/w"],
      ["bash", "/ci/media-build.sh", "rootfs", "--work", "/w", "--variant", "netboot-pc", "--timeout", "2400"],
      ["bash", "/ci/media-build.sh", "install-bty", "--work", "/w", "--wheel", "/whl", "--timeout", "2400"],
      ["bash", "/ci/media-build.sh", "seal", "--work", "/w", "--variant", "netboot-pc"],
      ["bash", "/ci/media-build.sh", "binary", "--work", "/w", "--variant", "netboot-pc", "--timeout", "2400"],
      ["bash", "/ci/media-build.sh", "finish", "--work", "/w", "--variant", "netboot-pc", "--version", "0.77.2", "--out", "/o"],
    ]);
  });

  it("passes the CA, r8125 repository, mirror and time bound through", () => {
    const [prepare, rootfs, install, , binary] = mediaStages(layout, "ramboot-init", "1", "/whl", {
      caCert: "/ca.pem",
      r8125Repo: "/r8125",
      mirror: "http://m/debian",
      pipIndex: "https://pypi.internal/simple",
      timeoutSeconds: 60,
    });
    expect(prepare!.argv.slice(9)).toEqual([
      "--ca-cert", "/ca.pem", "--r8125-repo", "/r8125", "--mirror", "http://m/debian",
      "--pip-index", "https://pypi.internal/simple",
    ]);
    for (const s of [rootfs!, install!, binary!]) expect(s.argv.slice(-2)).toEqual(["--timeout", "60"]);
  });

  it("usbboot-pc adds bty's ISO finishing (privileged, through flash-env.sh) and two checks", () => {
    const stages = mediaStages(layout, "usbboot-pc", "2.0.0", "/whl");
    expect(stages).toHaveLength(9);
    expect(stages.slice(6).map((s) => s.label)).toEqual(["bty usb_iso_build finish", "verify iso", "verify iso checksum"]);
    const iso = "/o/bty-usbboot-pc-x86_64-v2.0.0.iso";
    expect(stages.slice(6).map((s) => [s.argv, s.privileged])).toEqual([
      [
        [
          "bash", "/ci/flash-env.sh", "--", "python3", "/ci/usb-iso-finish.py", "--bty-scripts", "/bty/cijoe/scripts",
          "--build-dir", "/w/lb", "--iso", iso,
        ],
        true,
      ],
      [["python3", "/ci/media-verify.py", "iso", iso, "--label", "BTY_IMAGES"], false],
      [["python3", "/ci/media-verify.py", "checksums", `${iso}.sha256`], false],
    ]);
  });
});

describe("validation and pins", () => {
  it("accepts only a positive whole number of seconds", () => {
    expect(() => checkTimeout(1)).not.toThrow();
    for (const bad of [0, -5, 1.5, Number.NaN]) expect(() => checkTimeout(bad)).toThrow(/positive whole number/);
  });

  it("tells the user how to get bty-media", () => {
    expect(MISSING_MEDIA).toMatch(/bty-media\/live-build\/auto\/config/);
    expect(MISSING_MEDIA).toMatch(/--source <path-to-bty>/);
  });

  it("pins a trixie image (live-build >= 20240208) and keys the apt caches by trixie", () => {
    expect(MEDIA.image).toMatch(/^debian:trixie-\d{8}-slim$/);
    expect(MEDIA.suite).toBe("trixie");
    expect(MEDIA_STAGE_TIMEOUT_SECONDS).toBe(2400);
    expect(MEDIA_CACHE).toEqual({
      aptArchives: "bty-ci-apt-archives-trixie",
      aptLists: "bty-ci-apt-lists-trixie",
      liveBuild: "bty-ci-live-build-cache",
    });
  });
});
