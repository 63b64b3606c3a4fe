/**
 * The release rules: version and tag,
 * asset naming, sidecars, release.toml, upload/resume decisions and the
 * publish flow's order and reports. Expectations are literals from bty's
 * workflow and spec, or bty-ci's recorded decisions.
 */
import { readFileSync } from "node:fs";

import { parse } from "smol-toml";
import { beforeEach, describe, expect, it } from "vitest";

import { ASSET_GROUP_NAMES, type AssetGroup, assetGroups, missingAssets, parseSidecar, sidecarLine, sidecarPlan } from "../../src/release/assets.js";
import {
  assertCredentials,
  assertOnMain,
  formatOutcomes,
  formatPlan,
  indexGate,
  notPublishedVerdict,
  PUBLISH_STEPS,
  runInOrder,
} from "../../src/release/flow.js";
import { buildManifest, compareCodeUnits, type Manifest, parseReleaseToml, renderReleaseToml } from "../../src/release/manifest.js";
import { utcStamp } from "../../src/release/stamp.js";
import { assembleArgv, assertGitHubTarget, githubReleaseArgv, githubTagArgv, githubTagShaArgv } from "../../src/release/program.js";
import { indexVersionsArgv, parseIndexAnswer, projectPage, uvPublishArgv } from "../../src/release/pypi.js";
import { manifestLast, mismatch, planUploads, verifyRelease } from "../../src/release/upload-plan.js";
import {
  assertReleasableVersion,
  assertTagMatchesVersion,
  assertTagOnCommit,
  isPrerelease,
  tagOf,
} from "../../src/release/version.js";

const SHA = "f3cab0c3012fbb4dc6f0b2ed30d506bc9c2506bd";
const HEX = (c: string) => c.repeat(64);

describe("version and tag rules", () => {
  it("tags are v + the canonical PEP 440 version", () => {
    expect(tagOf("0.77.2")).toBe("v0.77.2");
    expect(tagOf("0.78.0rc1")).toBe("v0.78.0rc1");
    expect(() => tagOf("0.77")).not.toThrow();
  });
  it("refuses non-PEP 440, non-canonical and local versions, naming the fix", () => {
    expect(() => assertReleasableVersion("1.0.0-rc.1.x")).toThrow(/not a PEP 440 version/);
    expect(() => assertReleasableVersion("banana")).toThrow(
      'version "banana" is not a PEP 440 version: set [project] version in pyproject.toml to a release like "0.77.2" (or "0.78.0rc1")',
    );
    expect(() => assertReleasableVersion("1.0-rc1")).toThrow(/write "1.0rc1"/);
    expect(() => assertReleasableVersion("v1.0")).toThrow(/write "1.0"/);
    expect(() => assertReleasableVersion("1.0+local")).toThrow(/local segment/);
    expect(() => assertReleasableVersion("1.0.post1.dev2")).not.toThrow();
  });
  it("pre-releases are recognised", () => {
    expect(isPrerelease("0.78.0rc1")).toBe(true);
    expect(isPrerelease("0.78.0.dev1")).toBe(true);
    expect(isPrerelease("0.77.2")).toBe(false);
    expect(isPrerelease("0.77.2.post1")).toBe(false);
    expect(isPrerelease("not a version")).toBe(false);
  });
  it("the tag must equal v<version>", () => {
    expect(() => assertTagMatchesVersion("v0.77.2", "0.77.2")).not.toThrow();
    expect(() => assertTagMatchesVersion("0.77.2", "0.77.2")).toThrow(/release tag v0\.77\.2/);
    expect(() => assertTagMatchesVersion("v0.77.3", "0.77.2")).toThrow(
      `tag "v0.77.3" does not match pyproject.toml's version 0.77.2: release tag v0.77.2, or bump [project] version to the tag's version`,
    );
    // The name the engine's output shows for every refused release input.
    expect(() => assertTagMatchesVersion("v0.77.3", "0.77.2")).toThrow(expect.objectContaining({ name: "ReleaseInputError" }));
  });
  it("the remote tag must exist and point at the checked-out commit", () => {
    expect(() => assertTagOnCommit("v0.77.2", SHA, SHA)).not.toThrow();
    expect(() => assertTagOnCommit("v0.77.2", null, SHA)).toThrow(/does not exist on the remote: run tag-release/);
    expect(() => assertTagOnCommit("v0.77.2", "0".repeat(40), SHA)).toThrow(/git checkout v0\.77\.2/);
    expect(() => assertTagOnCommit("v0.77.2", SHA, "main")).toThrow(/not a full git commit id/);
    expect(() => assertTagOnCommit("v0.77.2", SHA, SHA.toUpperCase())).toThrow(/not a full git commit id/);
  });
  it("tag-release runs on main only", () => {
    expect(() => assertOnMain("refs/heads/main")).not.toThrow();
    expect(() => assertOnMain("main")).not.toThrow();
    expect(() => assertOnMain("refs/heads/feature")).toThrow(/from main only.*refs\/heads\/feature/);
  });
});

describe("asset naming", () => {
  let groups: AssetGroup[] = [];
  beforeEach(() => {
    groups = assetGroups("0.77.2");
  });
  it("every group, its builder and files, in bty's gathered-path order", () => {
    expect(groups.map((g) => [g.group, g.builtBy, g.files, g.sidecars])).toEqual([
      ["bty-ipxe-x86_64", "buildIpxe", ["bty-ipxe-x86_64-v0.77.2.efi"], ["bty-ipxe-x86_64-v0.77.2.efi.sha256"]],
      [
        "bty-netboot-pc-x86_64",
        "buildNetbootPc",
        ["bty-netboot-pc-x86_64-v0.77.2.initrd", "bty-netboot-pc-x86_64-v0.77.2.squashfs", "bty-netboot-pc-x86_64-v0.77.2.vmlinuz"],
        ["bty-netboot-pc-x86_64-v0.77.2.sha256"],
      ],
      [
        "bty-ramboot-init-x86_64",
        "buildRambootInit",
        ["bty-ramboot-init-x86_64-v0.77.2.initrd", "bty-ramboot-init-x86_64-v0.77.2.vmlinuz"],
        ["bty-ramboot-init-x86_64-v0.77.2.sha256"],
      ],
      ["bty-usbboot-pc-x86_64-iso", "buildUsbbootPc", ["bty-usbboot-pc-x86_64-v0.77.2.iso"], ["bty-usbboot-pc-x86_64-v0.77.2.iso.sha256"]],
      ["bty-usbboot-rpi-arm64", "buildUsbbootRpi", ["bty-usbboot-rpi-arm64-v0.77.2.img.gz"], ["bty-usbboot-rpi-arm64-v0.77.2.img.gz.sha256"]],
      ["dist", "buildWheel", ["bty_lab-0.77.2-py3-none-any.whl", "bty_lab-0.77.2.tar.gz"], []],
      ["docs-pdf", "docs", ["bty.pdf"], []],
    ]);
  });
  it("the names the drop-in uploads and downloads are these groups'", () => {
    expect(ASSET_GROUP_NAMES).toEqual(groups.map((g) => g.group));
  });
  it("no catalog.toml (dropped in bty v0.46.0), and no build manifest (it stays with the build, as bty's job uploads none)", () => {
    const all = groups.flatMap((g) => [...g.files, ...g.sidecars]);
    expect(all.some((n) => n.includes("catalog"))).toBe(false);
    expect(all.some((n) => n.includes("build-manifest"))).toBe(false);
  });
  it("refuses a bad version before naming anything", () => {
    expect(() => assetGroups("0.77.2+dirty")).toThrow(/local segment/);
  });
  it("missing files are named group/file", () => {
    const present = Object.fromEntries(groups.map((g) => [g.group, [...g.files, ...g.sidecars]]));
    expect(missingAssets(groups, present)).toEqual([]);
    present["docs-pdf"] = [];
    delete present["bty-ipxe-x86_64"];
    expect(missingAssets(groups, present)).toEqual([
      "bty-ipxe-x86_64/bty-ipxe-x86_64-v0.77.2.efi",
      "bty-ipxe-x86_64/bty-ipxe-x86_64-v0.77.2.efi.sha256",
      "docs-pdf/bty.pdf",
    ]);
  });
});

describe("sidecars", () => {
  it("are sha256sum lines of basenames", () => {
    expect(sidecarLine(HEX("a"), "bty.pdf")).toBe(`${HEX("a")}  bty.pdf\n`);
    expect([...parseSidecar(`${HEX("a")}  x.iso\n${HEX("b")} *y.bin\n\n`)]).toEqual([["x.iso", HEX("a")], ["y.bin", HEX("b")]]);
    expect(() => parseSidecar(`${HEX("a")}  dir/x.iso\n`)).toThrow(/basename/);
    expect(() => parseSidecar(`${HEX("a")} x.iso\n`)).toThrow(/not a sha256sum line/);
    expect(() => parseSidecar(`${"A".repeat(64)}  x.iso\n`)).toThrow(/not a sha256sum line/);
    expect(() => parseSidecar(`0${HEX("a")}  x.iso\n`)).toThrow(/not a sha256sum line/);
    // Whitespace-only lines are blank lines.
    expect([...parseSidecar(`${HEX("a")}  x.iso\n  \n`)]).toEqual([["x.iso", HEX("a")]]);
  });
  it("a refusal is a ReleaseAssetError, the name the engine's output shows", () => {
    expect(() => parseSidecar("x")).toThrow(expect.objectContaining({ name: "ReleaseAssetError" }));
  });
  const groups: AssetGroup[] = [
    { group: "g", builtBy: "buildNetbootPc", files: ["k.vmlinuz", "k.initrd"], sidecars: ["k.sha256"] },
    { group: "d", builtBy: "buildWheel", files: ["w.whl"], sidecars: [] },
  ];
  const digests = { "k.vmlinuz": HEX("1"), "k.initrd": HEX("2"), "w.whl": HEX("3") };
  it("build sidecars are checked and uncovered files get their own", () => {
    const texts = { "k.sha256": `${HEX("1")}  k.vmlinuz\n${HEX("2")}  k.initrd\n` };
    expect(sidecarPlan(groups, texts, digests)).toEqual([{ name: "w.whl.sha256", text: `${HEX("3")}  w.whl\n` }]);
  });
  it("a wrong digest, a foreign name, a gap or a missing sidecar is refused", () => {
    expect(() => sidecarPlan(groups, { "k.sha256": `${HEX("9")}  k.vmlinuz\n${HEX("2")}  k.initrd\n` }, digests)).toThrow(
      /k\.sha256: k\.vmlinuz has sha256 1{64}, the sidecar says 9{64}/,
    );
    expect(() => sidecarPlan(groups, { "k.sha256": `${HEX("3")}  w.whl\n` }, digests)).toThrow(/names w\.whl, which is not in its group/);
    expect(() => sidecarPlan(groups, { "k.sha256": `${HEX("1")}  k.vmlinuz\n` }, digests)).toThrow(/do not cover k\.initrd/);
    expect(() => sidecarPlan(groups, {}, digests)).toThrow(/sidecar k\.sha256 was not gathered/);
    expect(() => sidecarPlan(groups, { "k.sha256": `${HEX("1")}  k.vmlinuz\n${HEX("2")}  k.initrd\n` }, { "k.vmlinuz": HEX("1"), "k.initrd": HEX("2") })).toThrow(
      "no digest for w.whl",
    );
    const trio: AssetGroup = { group: "t", builtBy: "buildNetbootPc", files: ["t.vmlinuz", "t.initrd", "t.squashfs"], sidecars: ["t.sha256", "t2.sha256"] };
    expect(() => sidecarPlan([trio], { "t.sha256": `${HEX("1")}  t.vmlinuz\n`, "t2.sha256": "" }, { "t.vmlinuz": HEX("1") })).toThrow(
      "t.sha256, t2.sha256 do not cover t.initrd, t.squashfs",
    );
  });
});

describe("release.toml", () => {
  let groups: AssetGroup[] = [];
  let stats: Record<string, { size: number; sha256: string }> = {};
  let manifest: Manifest;
  beforeEach(() => {
    groups = assetGroups("0.77.2");
    stats = Object.fromEntries(groups.flatMap((g) => g.files).map((n, i) => [n, { size: 1000 + i, sha256: HEX(i.toString(16)) }]));
    manifest = buildManifest("v0.77.2", "0.77.2", new Date("2026-07-12T09:08:07.654Z"), groups, stats);
  });
  it("version, tag, second-precision UTC stamp, and one row per file in sorted-path order", () => {
    expect(manifest.version).toBe("0.77.2");
    expect(manifest.tag).toBe("v0.77.2");
    expect(manifest.released).toBe("2026-07-12T09:08:07Z");
    expect(manifest.artifacts.map((a) => a.name)).toEqual([
      "bty-ipxe-x86_64-v0.77.2.efi",
      "bty-netboot-pc-x86_64-v0.77.2.initrd",
      "bty-netboot-pc-x86_64-v0.77.2.squashfs",
      "bty-netboot-pc-x86_64-v0.77.2.vmlinuz",
      "bty-ramboot-init-x86_64-v0.77.2.initrd",
      "bty-ramboot-init-x86_64-v0.77.2.vmlinuz",
      "bty-usbboot-pc-x86_64-v0.77.2.iso",
      "bty-usbboot-rpi-arm64-v0.77.2.img.gz",
      "bty_lab-0.77.2-py3-none-any.whl",
      "bty_lab-0.77.2.tar.gz",
      "bty.pdf",
    ]);
    expect(manifest.artifacts[0]).toEqual({ name: "bty-ipxe-x86_64-v0.77.2.efi", size: 1000, sha256: HEX("0") });
  });
  it("renders as TOML a TOML parser reads back, integers as integers", () => {
    const text = renderReleaseToml(manifest);
    expect(text.startsWith("# bty release manifest")).toBe(true);
    expect(text).toMatch(/releases\/latest\/download\/release\.toml/);
    const back = parse(text) as Record<string, unknown>;
    expect(back).toEqual(manifest);
    expect(text).toContain("[[artifacts]]");
    expect(text).toMatch(/^size = 1000$/m);
    expect(parseReleaseToml(text)).toEqual(manifest);
  });
  it("refuses a mismatched tag, a file without stats, and a bad manifest", () => {
    expect(() => buildManifest("v0.77.3", "0.77.2", new Date(), groups, stats)).toThrow(/does not match/);
    expect(() => buildManifest("v0.77.2", "0.77.2", new Date(), groups, {})).toThrow(/no size\/digest for bty-ipxe/);
    expect(() => parseReleaseToml('version = "1"\ntag = "v1"\nreleased = "2026-07-12 09:00"\n')).toThrow(/released/);
    expect(() => parseReleaseToml('version = "1"\ntag = "v1"\nreleased = "2026-07-12T09:00:00Z"\n[[artifacts]]\nname = "x"\nsize = -1\nsha256 = "00"\n')).toThrow(/artifacts\.0\.size: [^;]+; artifacts\.0\.sha256: /);
  });
  it("orders rows by group folder, then name, in code units as Python's sorted() does (not the locale's)", () => {
    const groups: AssetGroup[] = [
      { group: "z", builtBy: "docs", files: ["b.pdf", "a.pdf"], sidecars: [] },
      { group: "B", builtBy: "docs", files: ["x.pdf"], sidecars: [] },
      { group: "a", builtBy: "docs", files: ["y.pdf", "Y.pdf"], sidecars: [] },
    ];
    const stats = Object.fromEntries(["a.pdf", "b.pdf", "x.pdf", "y.pdf", "Y.pdf"].map((n) => [n, { size: 1, sha256: HEX("c") }]));
    const m = buildManifest("v1.0", "1.0", new Date(0), groups, stats);
    expect(m.artifacts.map((a) => a.name)).toEqual(["x.pdf", "Y.pdf", "y.pdf", "a.pdf", "b.pdf"]);
  });
  it("stamps drop milliseconds only", () => {
    expect(utcStamp(new Date("2026-01-02T03:04:05.999Z"))).toBe("2026-01-02T03:04:05Z");
  });
});

describe("upload plan and resume decisions", () => {
  const local = [
    { name: "a.iso", size: 10, sha256: HEX("a") },
    { name: "b.pdf", size: 5, sha256: HEX("b") },
    { name: "c.whl", size: 7, sha256: HEX("c") },
    { name: "d.efi", size: 3, sha256: HEX("d") },
    { name: "e.img", size: 4, sha256: HEX("e") },
  ];
  const remote = [
    { id: 1, name: "a.iso", size: 10, digest: `sha256:${HEX("a")}`, state: "uploaded" },
    { id: 2, name: "b.pdf", size: 5, digest: `sha256:${HEX("f")}`, state: "uploaded" },
    { id: 3, name: "c.whl", size: 0, digest: "", state: "open" },
    { id: 4, name: "catalog.toml", size: 9, digest: `sha256:${HEX("9")}`, state: "uploaded" },
    { id: 5, name: "d.efi", size: 3, digest: null, state: "uploaded" },
  ];
  it("same name and digest: skip; other digest, half upload or no digest: replace; absent: upload; stray: delete first", () => {
    expect(planUploads(local, remote)).toEqual([
      { kind: "delete", name: "catalog.toml", id: 4 },
      { kind: "skip", name: "a.iso", id: 1 },
      { kind: "replace", name: "b.pdf", id: 2, reason: `digest sha256:${HEX("f")} differs` },
      { kind: "replace", name: "c.whl", id: 3, reason: "upload never finished (state open)" },
      { kind: "replace", name: "d.efi", id: 5, reason: "GitHub has no digest for it" },
      { kind: "upload", name: "e.img" },
    ]);
  });
  it("a size mismatch with an equal digest is still a mismatch", () => {
    expect(mismatch(local[0]!, { ...remote[0]!, size: 11 })).toBe("size 11 differs from 10");
    expect(mismatch(local[0]!, remote[0]!)).toBeNull();
  });
  it("verification lists missing, duplicate, different and stray assets; empty when complete", () => {
    expect(verifyRelease(local, remote)).toEqual([
      `b.pdf: digest sha256:${HEX("f")} differs`,
      "c.whl: upload never finished (state open)",
      "d.efi: GitHub has no digest for it",
      "e.img: missing",
      "catalog.toml: not part of this release",
    ]);
    const dup = [remote[0]!, { ...remote[0]!, id: 9 }];
    expect(verifyRelease([local[0]!], dup)).toEqual(["a.iso: 2 copies"]);
    expect(verifyRelease([local[0]!], [remote[0]!])).toEqual([]);
  });
  it("release.toml goes last", () => {
    expect(manifestLast([{ name: "release.toml" }, { name: "a" }, { name: "b" }], "release.toml").map((a) => a.name)).toEqual(["a", "b", "release.toml"]);
  });
});

describe("publish flow", () => {
  it("the order is gate, checks, release, images, pypi (PyPI last)", () => {
    expect([...PUBLISH_STEPS]).toEqual(["gate", "checks", "release", "images", "pypi"]);
  });
  it("stops at the first failure; later steps are not run; the report says what completed", async () => {
    const ran: string[] = [];
    const step = (name: string, fail = false) => async () => {
      ran.push(name);
      if (fail) throw new Error(`${name} broke`);
      return `${name} ok`;
    };
    const { ok, outcomes } = await runInOrder({ gate: step("gate"), checks: step("checks"), release: step("release", true), images: step("images"), pypi: step("pypi") });
    expect(ok).toBe(false);
    expect(ran).toEqual(["gate", "checks", "release"]);
    expect(outcomes.map((o) => o.status)).toEqual(["done", "done", "failed", "not run", "not run"]);
    const report = formatOutcomes("v0.77.2", outcomes);
    expect(report).toContain('publish v0.77.2 stopped at "release"; completed: gate, checks.');
    expect(report).toMatch(/^release  failed   release broke$/m);
    expect(report).toMatch(/^pypi     not run $/m);
    expect(report).toContain("run publish again");
  });
  it("a failing check stops everything that sends", async () => {
    const ran: string[] = [];
    const ok = (n: string) => async () => (ran.push(n), n);
    const { outcomes } = await runInOrder({ gate: ok("gate"), checks: async () => { throw new Error("1 of 13 checks failed"); }, release: ok("release"), images: ok("images"), pypi: ok("pypi") });
    expect(ran).toEqual(["gate"]);
    expect(formatOutcomes("v1", outcomes)).toContain("completed: gate.");
  });
  it("all done reads so", async () => {
    const ok = async () => "fine";
    const { ok: good, outcomes } = await runInOrder({ gate: ok, checks: ok, release: ok, images: ok, pypi: ok });
    expect(good).toBe(true);
    // Timed by the real clock when none is given.
    for (const o of outcomes) expect(o.status === "done" && o.seconds! >= 0 && o.seconds! < 60, JSON.stringify(o)).toBe(true);
    expect(formatOutcomes("v1", outcomes)).toMatch(/publish v1: every step completed$/);
    expect(formatOutcomes("v1", [{ step: "gate", status: "failed", detail: "x" }])).toContain("completed: nothing.");
  });
  it("the dry-run plan lists every step in order, with notes", () => {
    const plan = formatPlan("v0.77.2", { release: "would upload: a, b" });
    expect(plan.split("\n")[0]).toBe("publish v0.77.2 (dry run: nothing is sent)");
    expect(plan).toMatch(/^1\. gate /m);
    expect(plan).toMatch(/^5\. pypi .*cannot be undone$/m);
    expect(plan).toContain("\n   would upload: a, b\n4. images");
  });
  it("credentials: every missing one is named at once; OIDC pair replaces the PyPI token", () => {
    const all = { githubToken: true, registryUser: true, registryToken: true, pypiToken: true, oidc: false };
    expect(() => assertCredentials({ githubToken: false, registryUser: false, registryToken: false, pypiToken: false, oidc: false })).toThrow(
      /^missing credentials: release: --github-token.*; images: --registry-user.*; images: --registry-token.*; pypi: --pypi-token/,
    );
    expect(() => assertCredentials({ ...all, pypiToken: false, oidc: true })).not.toThrow();
    expect(() => assertCredentials(all)).not.toThrow();
    expect(() => assertCredentials({ ...all, registryToken: false })).toThrow(/^missing credentials: images: --registry-token/);
    expect(() => assertCredentials({ ...all, registryUser: false })).toThrow(/^missing credentials: images: --registry-user \(GITHUB_ACTOR\)$/);
    expect(() => assertCredentials({ ...all, githubToken: false })).toThrow(/^missing credentials: release: --github-token env:GITHUB_TOKEN$/);
    expect(() => assertCredentials({ ...all, pypiToken: false })).toThrow(
      "missing credentials: pypi: --pypi-token env:PYPI_TOKEN, or trusted publishing with --oidc-request-token " +
        "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL",
    );
  });
  it("index gate: absent or unknown publishes, partial finishes, complete or foreign refuses", () => {
    const files = ["bty_lab-1.0-py3-none-any.whl", "bty_lab-1.0.tar.gz"];
    expect(indexGate(null, files, "1.0")).toBe("publish");
    expect(indexGate([], files, "1.0")).toBe("publish");
    expect(indexGate([files[0]!], files, "1.0")).toBe("finish");
    expect(() => indexGate(files, files, "1.0")).toThrow(
      "the package index already has bty-lab 1.0 (bty_lab-1.0-py3-none-any.whl, bty_lab-1.0.tar.gz): bump [project] version in pyproject.toml and tag again",
    );
    expect(() => indexGate(["bty_lab-1.0-cp312-linux.whl", "bty_lab-1.0.zip"], files, "1.0")).toThrow(
      "the package index has bty-lab 1.0 with other files (bty_lab-1.0-cp312-linux.whl, bty_lab-1.0.zip): it was published from elsewhere; bump the version",
    );
  });
  it("check-not-published verdicts: only a completely (or elsewhere) published version is refused", () => {
    const files = ["bty_lab-1.0-py3-none-any.whl", "bty_lab-1.0.tar.gz"];
    expect(notPublishedVerdict({ index: "I", files: null }, "1.0", files)).toBe("I does not know bty-lab yet: 1.0 is not published");
    expect(notPublishedVerdict({ index: "I", files: [] }, "1.0", files)).toBe("I has no bty-lab 1.0: not published");
    expect(notPublishedVerdict({ index: "I", files: ["bty_lab-1.0.tar.gz"] }, "1.0", files)).toBe(
      "I has part of bty-lab 1.0 (bty_lab-1.0.tar.gz): not completely published; a re-run of its release finishes it",
    );
    expect(() => notPublishedVerdict({ index: "I", files: [...files].reverse() }, "1.0", files)).toThrow(
      "I already has bty-lab 1.0 (bty_lab-1.0.tar.gz, bty_lab-1.0-py3-none-any.whl): bump [project] version in pyproject.toml and tag again",
    );
    expect(() => notPublishedVerdict({ index: "I", files: ["x.zip"] }, "1.0", files)).toThrow(
      "I has bty-lab 1.0 with other files (x.zip): it was published from elsewhere; bump the version",
    );
  });
});

describe("program command lines", () => {
  const L = { runner: ["node", "--import", "tsx"], ciDir: "/opt/bty-ci/ci" };
  const T = { repo: "safl/bty", apiUrl: "https://api.github.com" };
  it("release.ts commands carry no token", () => {
    expect(assembleArgv(L, { version: "1.0", tag: "v1.0", gathered: "/g", out: "/o" })).toEqual([
      "node", "--import", "tsx", "/opt/bty-ci/ci/release/release.ts", "assemble", "--version", "1.0", "--tag", "v1.0", "--gathered", "/g", "--out", "/o",
    ]);
    expect(githubReleaseArgv(L, T, { tag: "v1.0", dir: "/a", commit: SHA }).slice(3)).toEqual([
      "/opt/bty-ci/ci/release/release.ts", "github-release", "--repo", "safl/bty", "--api-url", "https://api.github.com", "--tag", "v1.0", "--dir", "/a", "--commit", SHA,
    ]);
    expect(githubReleaseArgv(L, T, { tag: "v1.0", dir: "/a" }).slice(4)).toEqual([
      "github-release", "--repo", "safl/bty", "--api-url", "https://api.github.com", "--tag", "v1.0", "--dir", "/a",
    ]);
    expect(githubTagArgv(L, T, { tag: "v1.0", commit: SHA }).slice(4)).toEqual(["github-tag", "--repo", "safl/bty", "--api-url", "https://api.github.com", "--tag", "v1.0", "--commit", SHA]);
    expect(githubTagShaArgv(L, T, { tag: "v1.0" }).slice(4)).toEqual(["github-tag-sha", "--repo", "safl/bty", "--api-url", "https://api.github.com", "--tag", "v1.0"]);
  });
  it("repository and API root are checked before use", () => {
    expect(() => assertGitHubTarget({ repo: "safl/bty", apiUrl: "https://api.github.com" })).not.toThrow();
    expect(() => assertGitHubTarget({ repo: "safl/bty", apiUrl: "http://127.0.0.1:8080/api" })).not.toThrow();
    expect(() => assertGitHubTarget({ repo: "safl", apiUrl: "https://api.github.com" })).toThrow('--repo "safl" is not OWNER/NAME');
    expect(() => assertGitHubTarget({ repo: "safl/bty/x", apiUrl: "https://api.github.com" })).toThrow(/not OWNER\/NAME/);
    expect(() => assertGitHubTarget({ repo: "safl/bty", apiUrl: "api.github.com" })).toThrow(/is not a URL/);
    expect(() => assertGitHubTarget({ repo: "safl/bty", apiUrl: "ftp://host/api" })).toThrow(/must be http\(s\)/);
  });

  it("index-versions and uv publish", () => {
    expect(indexVersionsArgv({ python: "python3", ciDir: "/c", version: "1.0", indexUrl: "", requireAbsent: false })).toEqual([
      "python3", "/c/release/index-versions.py", "--project", "bty-lab", "--version", "1.0",
    ]);
    expect(indexVersionsArgv({ python: "p", ciDir: "/c", version: "1.0", indexUrl: "http://i/simple/", requireAbsent: true }).slice(6)).toEqual([
      "--index-url", "http://i/simple/", "--require-absent",
    ]);
    expect(uvPublishArgv({ files: ["/d/a.whl", "/d/a.tar.gz"], checkUrl: "http://i/simple/", publishUrl: "", auth: "token" })).toEqual([
      "uv", "publish", "--no-progress", "--trusted-publishing", "never", "--check-url", "http://i/simple/", "/d/a.whl", "/d/a.tar.gz",
    ]);
    expect(uvPublishArgv({ files: ["/d/a.whl"], checkUrl: "c", publishUrl: "http://u/", auth: "trusted-publishing" }).slice(3, 9)).toEqual([
      "--trusted-publishing", "always", "--check-url", "c", "--publish-url", "http://u/",
    ]);
    expect(() => uvPublishArgv({ files: [], checkUrl: "c", publishUrl: "", auth: "token" })).toThrow(/nothing to publish/);
  });
  it("parses the index's answer; refuses anything else", () => {
    expect(parseIndexAnswer('noise\n{"project":"bty-lab","version":"1.0","index":"http://i/simple","files":null}\n')).toEqual({
      project: "bty-lab", version: "1.0", index: "http://i/simple", files: null,
    });
    expect(() => parseIndexAnswer("oops")).toThrow('index-versions.py gave no answer: "oops"');
  });
});

describe("the pypi environment's URL", () => {
  it("is the project page beside the simple index asked; another index layout is its own page", () => {
    expect(projectPage("https://index.example/simple/")).toBe("https://index.example/project/bty-lab/");
    expect(projectPage("http://127.0.0.1:8080/simple")).toBe("http://127.0.0.1:8080/project/bty-lab/");
    expect(projectPage("https://mirror.example/pypi/simple/")).toBe("https://mirror.example/pypi/project/bty-lab/");
    expect(projectPage("https://mirror.example/devpi/root/pypi/+simple/")).toBe("https://mirror.example/devpi/root/pypi/+simple/");
  });
});

describe("the release program's dependencies", () => {
  it("ci/release/package.json pins exactly the versions bty-ci's package.json pins", () => {
    const root = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const program = JSON.parse(readFileSync("ci/release/package.json", "utf8")) as { dependencies: Record<string, string> };
    const pins = { ...root.dependencies, ...root.devDependencies };
    for (const [name, version] of Object.entries(program.dependencies)) {
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(pins[name], name).toBe(version);
    }
  });
});

describe("compareCodeUnits", () => {
  it("orders as Python's str does: by code unit, upper case before lower, equal is 0", () => {
    expect(["b", "B", "a", "_", "a"].sort(compareCodeUnits)).toEqual(["B", "_", "a", "a", "b"]);
    expect(compareCodeUnits("a", "a")).toBe(0);
    expect(compareCodeUnits("a", "b")).toBe(-1);
    expect(compareCodeUnits("b", "a")).toBe(1);
  });
});
