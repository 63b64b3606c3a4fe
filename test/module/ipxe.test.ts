/**
 * buildIpxe through the real SDK against the recording engine: image,
 * packages, the pinned git fetch (or the override), bty's two input files,
 * the build/verify/checksum execs, no privileges, and validation before any
 * container work. Expectations are literals from bty's job
 * and bty-ci's design, not values imported from src/.
 */
import { describe, expect, it } from "vitest";

import { type Call, execError } from "../harness/engine.js";
import { invokeFunction } from "../harness/invoke.js";
import { findArgument, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const PYPROJECT = '[project]\nname = "bty-lab"\nversion = "0.77.2"\n';
const state = {
  source: "Directory:bty",
  pythonImage: "python:{version}-slim-bookworm",
  pythonIndex: "",
  debianMirror: "",
};
const PINNED = "0ab2277c40f1de56c736b9e7db7ee23d52509ec5";
const EMBED = "/src/bty-media/auxiliary/ipxe-embed.ipxe";
const GENERAL_H = "/src/bty-media/auxiliary/ipxe-local-general.h";
const EFI = "/out/bty-ipxe-x86_64-v0.77.2.efi";

/** Paths (relative to their directory) that `exists` answers false for. */
let absent: Set<string>;

const engine = useRecordingEngine({
  scan: files,
  answers: (engine) => {
    absent = new Set();
    engine.answer("exists", (ctx: { args: { path: string } }) => !absent.has(ctx.args.path));
    engine.answer("contents", PYPROJECT);
  },
});

const buildIpxe = (args: Record<string, unknown> = {}, over: Record<string, string> = {}) =>
  invokeFunction({ files, fnName: "buildIpxe", parentState: { ...state, ...over }, args });

const pipeline = (id: unknown) => engine.pipelineOf(String(id))!.filter((c) => c.field !== "sync");
const execs = (chain: Call[]) => chain.filter((c) => c.field === "withExec").map((c) => c.args as { args: string[] } & Record<string, unknown>);
const argvs = (chain: Call[]) => execs(chain).map((e) => e.args);
const step = (chain: Call[], field: string, path: string) => chain.find((c) => c.field === field && c.args.path === path);
const steps = (id: unknown) => engine.pipelineOf(String(id))?.map((c) => [c.field, c.args]);

describe("buildIpxe registration", () => {
  it("takes an optional iPXE source tree on the constructor (so all-checks, publish and attach-to-release build it too), documented", async () => {
    const mod = await scanModule(files);
    expect(findArgument(mod, "", "ipxeSource")).toMatchObject({
      type: "Directory",
      optional: true,
      defaultValue: undefined,
      description: expect.stringMatching(/src\/Makefile.*pinned commit/),
    });
  });
});

describe("buildIpxe", () => {
  it("builds the pinned iPXE commit fetched by the engine's git, in the 3.12 bookworm image, unprivileged", async () => {
    const chain = pipeline(await buildIpxe());
    expect(chain.find((c) => c.field === "from")?.args.address).toBe("python:3.12.14-slim-bookworm");
    const tree = step(chain, "withDirectory", "/ipxe");
    expect(steps(tree?.args.source)).toEqual([
      ["git", { url: "https://github.com/ipxe/ipxe.git" }],
      ["commit", { id: PINNED }],
      ["tree", { discardGitDir: true }],
    ]);
    for (const e of execs(chain)) expect(e.insecureRootCapabilities ?? false, e.args.join(" ")).toBe(false);
  });

  it("installs bty's build-ipxe packages (without git) through the cached apt helper", async () => {
    const chain = pipeline(await buildIpxe());
    expect(argvs(chain)[0]).toEqual([
      "bash", "/opt/bty-ci/ci/apt-install.sh", "build-essential", "liblzma-dev", "mtools", "perl",
    ]);
    const aptCaches = chain.filter((c) => c.field === "withMountedCache").map((c) => [c.args.path, c.args.sharing]);
    expect(aptCaches).toEqual([
      ["/var/cache/apt/archives", "LOCKED"],
      ["/var/lib/apt/lists", "LOCKED"],
    ]);
    // bty-ci's ci/ programs come from the module's own source, before apt needs them.
    const ci = step(chain, "withDirectory", "/opt/bty-ci/ci");
    expect(steps(ci?.args.source)?.map(([f]) => f)).toEqual(["currentModule", "source", "directory"]);
    expect(chain.indexOf(ci!)).toBeLessThan(chain.findIndex((c) => c.field === "withExec"));
  });

  it("copies in only bty's embed script and general.h from the checkout", async () => {
    const chain = pipeline(await buildIpxe());
    expect(steps(step(chain, "withFile", EMBED)?.args.source)).toEqual([
      ["node", { id: "Directory:bty" }],
      ["file", { path: "bty-media/auxiliary/ipxe-embed.ipxe" }],
    ]);
    expect(steps(step(chain, "withFile", GENERAL_H)?.args.source)).toEqual([
      ["node", { id: "Directory:bty" }],
      ["file", { path: "bty-media/auxiliary/ipxe-local-general.h" }],
    ]);
    expect(step(chain, "withDirectory", "/src")).toBeUndefined();
  });

  it("builds with a time bound, verifies, writes the sidecar and returns /out", async () => {
    const chain = pipeline(await buildIpxe());
    expect(argvs(chain).slice(1)).toEqual([
      [
        "bash", "/opt/bty-ci/ci/ipxe-build.sh",
        "--ipxe-tree", "/ipxe",
        "--embed", EMBED,
        "--general-h", GENERAL_H,
        "--target", "bin-x86_64-efi/ipxe.efi",
        "--jobs", "4",
        "--timeout", "1800",
        "--log", "/tmp/ipxe-build.log",
        "--output", EFI,
      ],
      [
        "/usr/local/bin/python3", "/opt/bty-ci/ci/ipxe-verify.py",
        "--embed", EMBED,
        "--min-bytes", "786432",
        "--max-bytes", "1572864",
        EFI,
      ],
      ["sh", "-c", 'cd "$1" && sha256sum -- "$2" > "$2.sha256"', "sh", "/out", "bty-ipxe-x86_64-v0.77.2.efi"],
    ]);
    expect(chain.at(-1)).toMatchObject({ field: "directory", args: { path: "/out" } });
  });

  it("builds a given iPXE tree instead, with no git fetch", async () => {
    const chain = pipeline(await buildIpxe({}, { ipxeSource: "Directory:ipxe-override" }));
    expect(step(chain, "withDirectory", "/ipxe")?.args.source).toBe("Directory:ipxe-override");
    expect(engine.fieldCalls("git")).toEqual([]);
    expect(engine.fieldCalls("exists").map((c) => c.args.path)).toContain("src/Makefile");
  });

  it("follows the image and mirror overrides of the constructor", async () => {
    const chain = pipeline(
      await buildIpxe({}, { pythonImage: "registry.internal/python:{version}-slim", debianMirror: "http://debian.internal" }),
    );
    expect(chain.find((c) => c.field === "from")?.args.address).toBe("registry.internal/python:3.12.14-slim");
    expect(argvs(chain)[0]?.slice(2, 4)).toEqual(["--mirror", "http://debian.internal"]);
  });

  it("fails with the build's report when a step fails", async () => {
    engine.answer("sync", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "withExec" && String((c.args.args as string[])[1]).endsWith("ipxe-verify.py"))) {
        throw execError({
          cmd: ["/usr/local/bin/python3", "/opt/bty-ci/ci/ipxe-verify.py"],
          exitCode: 1,
          stderr: "ipxe-verify.py: bty-ipxe-x86_64-v0.77.2.efi failed 1 check(s): bty chain line: missing\n",
        });
      }
      return undefined;
    });
    await expect(buildIpxe()).rejects.toThrow(/did not complete successfully: exit code: 1/);
  });
});

describe("buildIpxe input validation, before any container work", () => {
  const noWork = () => {
    expect(engine.fieldCalls("from")).toEqual([]);
    expect(engine.fieldCalls("git")).toEqual([]);
  };

  it("a checkout without bty-media/ names --source", async () => {
    absent = new Set(["bty-media", "bty-media/auxiliary/ipxe-embed.ipxe", "bty-media/auxiliary/ipxe-local-general.h"]);
    await expect(buildIpxe()).rejects.toThrow(/no bty-media\/ in the source directory.*--source <path-to-bty>/);
    noWork();
  });

  it("a missing embed script is named", async () => {
    absent = new Set(["bty-media/auxiliary/ipxe-embed.ipxe"]);
    await expect(buildIpxe()).rejects.toThrow(/bty-media\/auxiliary\/ipxe-embed\.ipxe is missing/);
    noWork();
  });

  it("a missing general.h is named", async () => {
    absent = new Set(["bty-media/auxiliary/ipxe-local-general.h"]);
    await expect(buildIpxe()).rejects.toThrow(/bty-media\/auxiliary\/ipxe-local-general\.h is missing/);
    noWork();
  });

  it("an iPXE override without src/Makefile asks for the tree root", async () => {
    absent = new Set(["src/Makefile"]);
    await expect(buildIpxe({}, { ipxeSource: "Directory:not-ipxe" })).rejects.toThrow(
      "--ipxe-source has no src/Makefile: pass the iPXE source tree root (containing src/Makefile)",
    );
    noWork();
  });

  it("a checkout without pyproject.toml fails first, as every function does", async () => {
    absent = new Set(["pyproject.toml"]);
    await expect(buildIpxe()).rejects.toThrow(/no pyproject\.toml/);
    noWork();
  });
});
