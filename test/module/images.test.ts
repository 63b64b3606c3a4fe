/**
 * publishDocker / publishTftp through the real SDK against the recording
 * engine: what the engine is asked to build (Dockerfile, context, platforms,
 * build args, labels) and to publish (refs, platform variants, registry auth
 * with a secret ID only), the cache policy, retries, and that bad input sends
 * no build at all. Expectations are literals from bty's workflow (publish-docker,
 * publish-tftp) and bty-ci's design.
 */
import { describe, expect, it, vi } from "vitest";

import { connection, dag } from "@dagger.io/dagger";

import { imagePlan } from "../../src/release/image-plan.js";
import { imageVariants, publishImage } from "../../src/release/dagger/images.js";
import { ALL_CHECK_NAMES } from "../harness/checkout.js";
import { type Call, EngineError } from "../harness/engine.js";
import { invokeFunction } from "../harness/invoke.js";
import { findArgument, listFunctions, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const SHA = "f3cab0c3012fbb4dc6f0b2ed30d506bc9c2506bd";
const DIGEST = `sha256:${"ab".repeat(32)}`;
const pyproject = (version: string) => `[project]\nname = "bty-lab"\nversion = "${version}"\n`;
const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
const webArgs = {
  tag: "v0.77.2",
  revision: SHA,
  registryUser: "safl",
  registryToken: "Secret:ghcr-token",
  ipxeSeed: "File:ipxe-seed",
  dist: "Directory:dist",
  created: "2026-07-12T09:00:00Z",
};
const { dist: _dist, ...tftpArgs } = webArgs;

const LABELS = {
  "org.opencontainers.image.source": "https://github.com/safl/bty",
  "org.opencontainers.image.revision": SHA,
  "org.opencontainers.image.version": "0.77.2",
  "org.opencontainers.image.created": "2026-07-12T09:00:00Z",
};

const engine = useRecordingEngine({
  scan: files,
  answers: (engine) => {
    engine.answer("exists", true);
    engine.answer("contents", pyproject("0.77.2"));
    engine.answer("publish", (ctx: { args: Record<string, unknown> }) => `${String(ctx.args.address)}@${DIGEST}`);
  },
});

const call = (fnName: string, args: Record<string, unknown>) =>
  invokeFunction({ files, fnName, parentState: state, args });

const pipeline = (id: unknown): Call[] => engine.pipelineOf(String(id)) ?? [];
const fields = (chain: Call[]) => chain.map((c) => c.field);
/** Every publish call, in the order sent (one per attempt). */
const publishes = () =>
  engine.chains().flatMap((chain) => chain.filter((c) => c.field === "publish").map((c) => ({ chain, call: c })));
/** Each platform variant handed to the first publish, as its pipeline. */
const variants = () => (publishes()[0]!.call.args.platformVariants as string[]).map(pipeline);
const after = (chain: Call[], field: string) => chain.slice(chain.findIndex((c) => c.field === field) + 1);
const containerWork = () =>
  engine.calls().filter((c) => ["dockerBuild", "publish", "withRegistryAuth", "withExec", "withLabel"].includes(c.field));

describe("registration", async () => {
  const mod = await scanModule(files);
  const fns = Object.fromEntries(listFunctions(mod).map((f) => [f.name, f]));

  it.each(["publishDocker", "publishTftp"])("%s is never cached and returns the published refs", (name) => {
    expect(fns[name]).toMatchObject({ cache: "never", isCheck: false, returnType: "string[]" });
    expect(fns[name]!.description).toMatch(/linux\/amd64 and linux\/arm64/);
  });

  it("publishDocker takes tag and revision, credentials (token as a Secret), the seed, the wheel directory", () => {
    const arg = (name: string) => findArgument(mod, "publishDocker", name);
    expect(fns.publishDocker!.arguments.map((a) => a.name)).toEqual([
      "tag",
      "revision",
      "registryUser",
      "registryToken",
      "ipxeSeed",
      "dist",
      "created",
      "image",
      "sourceUrl",
      "report",
    ]);
    expect(arg("report")).toMatchObject({ type: "File", optional: true });
    expect(arg("tag")).toMatchObject({ type: "string", optional: false });
    expect(arg("revision")).toMatchObject({ type: "string", optional: false });
    expect(arg("registryUser")).toMatchObject({ type: "string", defaultValue: "" });
    expect(arg("registryToken")).toMatchObject({ type: "Secret", optional: true });
    expect(arg("ipxeSeed")).toMatchObject({ type: "File", optional: true });
    expect(arg("dist")).toMatchObject({ type: "Directory", optional: true });
    expect(arg("created")).toMatchObject({ type: "string", defaultValue: "" });
    expect(arg("image")).toMatchObject({ type: "string", defaultValue: "ghcr.io/safl/bty-web" });
    expect(arg("sourceUrl")).toMatchObject({ type: "string", defaultValue: "https://github.com/safl/bty" });
    for (const a of fns.publishDocker!.arguments) expect(a.description, a.name).not.toBe("");
  });

  it("publishTftp takes the same minus the wheel, defaulting to bty-tftp", () => {
    expect(fns.publishTftp!.arguments.map((a) => a.name)).toEqual([
      "tag",
      "revision",
      "registryUser",
      "registryToken",
      "ipxeSeed",
      "created",
      "image",
      "sourceUrl",
      "report",
    ]);
    expect(findArgument(mod, "publishTftp", "registryToken")).toMatchObject({ type: "Secret", optional: true });
    expect(findArgument(mod, "publishTftp", "image")).toMatchObject({ defaultValue: "ghcr.io/safl/bty-tftp" });
    for (const a of fns.publishTftp!.arguments) expect(a.description, a.name).not.toBe("");
  });
});

describe("publishDocker", () => {
  it("builds docker/Dockerfile per platform with BTY_VERSION, labels each, publishes version then latest", async () => {
    const refs = await call("publishDocker", webArgs);
    expect(refs).toEqual([`ghcr.io/safl/bty-web:0.77.2@${DIGEST}`, `ghcr.io/safl/bty-web:latest@${DIGEST}`]);

    expect(publishes().map((p) => p.call.args.address)).toEqual(["ghcr.io/safl/bty-web:0.77.2", "ghcr.io/safl/bty-web:latest"]);
    for (const { call: p } of publishes()) expect(p.args.platformVariants).toEqual(publishes()[0]!.call.args.platformVariants);

    const builds = variants().map((v) => v.find((c) => c.field === "dockerBuild")!.args);
    expect(builds).toEqual([
      { dockerfile: "docker/Dockerfile", platform: "linux/amd64", buildArgs: [{ name: "BTY_VERSION", value: "0.77.2" }] },
      { dockerfile: "docker/Dockerfile", platform: "linux/arm64", buildArgs: [{ name: "BTY_VERSION", value: "0.77.2" }] },
    ]);
    for (const variant of variants()) {
      const labels = after(variant, "dockerBuild").filter((c) => c.field === "withLabel");
      expect(Object.fromEntries(labels.map((c) => [c.args.name, c.args.value]))).toEqual(LABELS);
    }
  });

  it("builds from the context bty's workflow stages: docker/, the wheel in dist/, the seed as docker/seed/ipxe.efi", async () => {
    await call("publishDocker", webArgs);
    const [amd64] = variants();
    const context = amd64!.slice(0, amd64!.findIndex((c) => c.field === "dockerBuild"));
    expect(fields(context)).toEqual(["directory", "withDirectory", "withFile", "withFile"]);
    const [, docker, wheel, seed] = context;
    expect(docker!.args.path).toBe("docker");
    expect(pipeline(docker!.args.source).map((c) => [c.field, c.args])).toEqual([
      ["node", { id: "Directory:bty" }],
      ["directory", { path: "docker" }],
    ]);
    expect(wheel!.args.path).toBe("dist/bty_lab-0.77.2-py3-none-any.whl");
    expect(pipeline(wheel!.args.source).map((c) => [c.field, c.args])).toEqual([
      ["node", { id: "Directory:dist" }],
      ["file", { path: "bty_lab-0.77.2-py3-none-any.whl" }],
    ]);
    expect(seed!.args).toEqual({ path: "docker/seed/ipxe.efi", source: "File:ipxe-seed" });
  });

  it("authenticates with the token's secret ID only: no plaintext is asked for or sent", async () => {
    await call("publishDocker", webArgs);
    for (const { chain } of publishes()) {
      expect(chain.map((c) => [c.field, c.args]).slice(0, 2)).toEqual([
        ["container", {}],
        ["withRegistryAuth", { address: "ghcr.io", username: "safl", secret: "Secret:ghcr-token" }],
      ]);
    }
    for (const q of engine.queries()) {
      expect(q.query).not.toMatch(/plaintext|setSecret|withSecretVariable|withEnvVariable/);
    }
    // The secret reaches nothing but the registry auth.
    const uses = engine.calls().filter((c) => JSON.stringify(c.args).includes("Secret:ghcr-token"));
    expect(uses.map((c) => c.field).filter((f) => f !== "node")).toEqual(["withRegistryAuth"]);
  });

  it("builds the wheel with uv when no dist is given", async () => {
    const { dist: _, ...args } = webArgs;
    await call("publishDocker", args);
    const wheel = fields(variants()[0]!).indexOf("withFile");
    const source = pipeline(variants()[0]![wheel]!.args.source);
    const execs = source.filter((c) => c.field === "withExec").map((c) => (c.args.args as string[]).slice(0, 2));
    expect(execs).toContainEqual(["uv", "build"]);
    expect(source.at(-1)).toMatchObject({ field: "file", args: { path: "bty_lab-0.77.2-py3-none-any.whl" } });
  });

  it("a pre-release is published under its version only", async () => {
    engine.answer("contents", pyproject("0.78.0rc1"));
    const refs = await call("publishDocker", { ...webArgs, tag: "v0.78.0rc1" });
    expect(refs).toEqual([`ghcr.io/safl/bty-web:0.78.0rc1@${DIGEST}`]);
  });

  it("publishes to another repository, authenticating against its host", async () => {
    await call("publishDocker", { ...webArgs, image: "registry.lab:5000/ops/bty-web" });
    expect(publishes().map((p) => p.call.args.address)).toEqual([
      "registry.lab:5000/ops/bty-web:0.77.2",
      "registry.lab:5000/ops/bty-web:latest",
    ]);
    expect(publishes()[0]!.chain[1]!.args.address).toBe("registry.lab:5000");
  });

  it("stops at a permanent registry error without retrying or moving latest", async () => {
    engine.answer("publish", () => {
      throw new EngineError("failed to push: unexpected status: 401 Unauthorized");
    });
    await expect(call("publishDocker", webArgs)).rejects.toThrow(/not a transient error:\nattempt 1: .*401 Unauthorized/);
    expect(publishes().map((p) => p.call.args.address)).toEqual(["ghcr.io/safl/bty-web:0.77.2"]);
  });
});

describe("the iPXE seed", () => {
  it.each([
    ["publishTftp", () => ({ ...tftpArgs, ipxeSeed: undefined }), "seed/ipxe.efi"],
    ["publishDocker", () => ({ ...webArgs, ipxeSeed: undefined }), "docker/seed/ipxe.efi"],
  ])("%s defaults to build-ipxe's binary for this version, as bty's workflow stages its artifact", async (fn, args, path) => {
    await call(fn, args());
    const [amd64] = variants();
    const seed = amd64!.find((c) => c.field === "withFile" && c.args.path === path)!;
    const built = pipeline(seed.args.source);
    expect(built.at(-1)).toMatchObject({ field: "file", args: { path: "bty-ipxe-x86_64-v0.77.2.efi" } });
    const argv = built.filter((c) => c.field === "withExec").map((c) => (c.args.args as string[]).join(" "));
    expect(argv.some((a) => a.includes("ipxe-build.sh"))).toBe(true);
  });
});

describe("publishTftp", () => {
  it("builds deploy/tftp's Containerfile per platform without build args, seed at seed/ipxe.efi", async () => {
    const refs = await call("publishTftp", tftpArgs);
    expect(refs).toEqual([`ghcr.io/safl/bty-tftp:0.77.2@${DIGEST}`, `ghcr.io/safl/bty-tftp:latest@${DIGEST}`]);
    expect(publishes().map((p) => p.call.args.address)).toEqual(["ghcr.io/safl/bty-tftp:0.77.2", "ghcr.io/safl/bty-tftp:latest"]);

    const builds = variants().map((v) => v.find((c) => c.field === "dockerBuild")!.args);
    expect(builds.map((b) => [b.dockerfile, b.platform, b.buildArgs ?? []])).toEqual([
      ["Containerfile", "linux/amd64", []],
      ["Containerfile", "linux/arm64", []],
    ]);
    const [amd64] = variants();
    const context = amd64!.slice(0, amd64!.findIndex((c) => c.field === "dockerBuild"));
    expect(fields(context)).toEqual(["directory", "withDirectory", "withFile"]);
    expect(context[1]!.args.path).toBe(".");
    expect(pipeline(context[1]!.args.source).at(-1)).toMatchObject({ field: "directory", args: { path: "deploy/tftp" } });
    expect(context[2]!.args).toEqual({ path: "seed/ipxe.efi", source: "File:ipxe-seed" });
    for (const variant of variants()) {
      const labels = after(variant, "dockerBuild").filter((c) => c.field === "withLabel");
      expect(Object.fromEntries(labels.map((c) => [c.args.name, c.args.value]))).toEqual(LABELS);
    }
    expect(publishes()[0]!.chain[1]!.args).toEqual({ address: "ghcr.io", username: "safl", secret: "Secret:ghcr-token" });
  });
});

describe("bad input is refused before anything is built or sent", () => {
  it.each([
    ["a tag that is not v<version>", "publishDocker", { tag: "v0.77.3" }, /tag "v0.77.3" does not match pyproject\.toml's version 0\.77\.2/],
    ["no registry token", "publishDocker", { registryToken: undefined }, /no credentials for ghcr.io: pass --registry-token/],
    ["no registry user", "publishTftp", { registryUser: "" }, /no credentials for ghcr.io: pass --registry-user/],
    ["a revision that is not a commit", "publishDocker", { revision: "HEAD" }, /revision "HEAD" is not a commit id/],
    ["a created time that is not RFC 3339", "publishTftp", { created: "now" }, /created "now" is not an RFC 3339 time/],
    ["a repository with a tag", "publishDocker", { image: "ghcr.io/safl/bty-web:edge" }, /is not host\/namespace\/name/],
  ])("%s", async (_what, fn, over, message) => {
    const base = fn === "publishDocker" ? webArgs : tftpArgs;
    await expect(call(fn, { ...base, ...over })).rejects.toThrow(message);
    expect(containerWork()).toEqual([]);
  });

  it("without --ipxe-seed, bad input still builds nothing: iPXE is built only after every check", async () => {
    await expect(call("publishTftp", { ...tftpArgs, ipxeSeed: undefined, registryUser: "" })).rejects.toThrow(
      /no credentials for ghcr.io: pass --registry-user/,
    );
    expect(containerWork()).toEqual([]);
    expect(engine.calls().filter((c) => c.field === "git" || c.field === "from")).toEqual([]);
  });

  it("a version in pyproject.toml that is not PEP 440", async () => {
    engine.answer("contents", '[project]\nname = "bty-lab"\nversion = "latest"\n');
    await expect(call("publishDocker", { ...webArgs, tag: "vlatest" })).rejects.toThrow(/"latest" is not a PEP 440 version/);
    expect(containerWork()).toEqual([]);
  });

  it("a wheel directory without this version's wheel", async () => {
    engine.answer("exists", (ctx: { args: Record<string, unknown> }) => ctx.args.path === "pyproject.toml");
    await expect(call("publishDocker", webArgs)).rejects.toThrow(
      "no bty_lab-0.77.2-py3-none-any.whl in the wheel directory: pass --dist with build-wheel's output for v0.77.2",
    );
    expect(containerWork()).toEqual([]);
  });
});

/** A one-platform plan for calling the domain functions directly. */
const amd64Plan = (kind: "web" | "tftp", repository: string) =>
  imagePlan(
    kind,
    {
      tag: "v0.77.2",
      version: "0.77.2",
      revision: SHA,
      created: "2026-07-12T09:00:00Z",
      repository,
      sourceUrl: "https://github.com/safl/bty",
      platforms: ["linux/amd64"],
    },
    new Date(),
  );

describe("--report: the seed and the wheel are checked against the checks' report first", () => {
  const EFI = "1".repeat(64);
  const WHEEL = "5".repeat(64);
  const SDIST = "5a".repeat(32);
  /** all-checks' green report of 0.77.2: every check passed; build-ipxe and build-wheel with their files. */
  const report = () => {
    const artifacts: Record<string, { name: string; size: number; sha256: string }[]> = {
      "build-ipxe": [{ name: "bty-ipxe-x86_64-v0.77.2.efi", size: 1, sha256: EFI }],
      "build-wheel": [{ name: "bty_lab-0.77.2-py3-none-any.whl", size: 1, sha256: WHEEL }, { name: "bty_lab-0.77.2.tar.gz", size: 1, sha256: SDIST }],
    };
    return JSON.stringify({ title: "all-checks", version: "0.77.2", ok: true, jobs: ALL_CHECK_NAMES.map((name) => ({ name, status: "passed", artifacts: artifacts[name] ?? [] })) });
  };
  /** File:report reads as the report; the received files' sha256sum lines are `lines`. */
  const answer = (lines: string) => {
    engine.answer("contents", (ctx: { chain: Call[] }) => (ctx.chain[0]?.args.id === "File:report" ? report() : pyproject("0.77.2")));
    engine.answer("stdout", (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "withExec" && (c.args.args as string[]).at(-1) === "/release/received") ? lines : undefined);
  };
  const received = (efi: string) =>
    `${efi}  bty-ipxe-x86_64/bty-ipxe-x86_64-v0.77.2.efi\n${WHEEL}  dist/bty_lab-0.77.2-py3-none-any.whl\n${SDIST}  dist/bty_lab-0.77.2.tar.gz\n`;

  it("bty-web: seed and dist as built, then the images", async () => {
    answer(received(EFI));
    await call("publishDocker", { ...webArgs, report: "File:report" });
    expect(publishes().length).toBeGreaterThan(0);
  });

  it("bty-web: an altered seed, and nothing is built or pushed", async () => {
    answer(received("e".repeat(64)));
    await expect(call("publishDocker", { ...webArgs, report: "File:report" })).rejects.toThrow(
      `bty-ipxe-x86_64/bty-ipxe-x86_64-v0.77.2.efi: sha256 ${"e".repeat(64)}, but build-ipxe built ${EFI}`,
    );
    expect(engine.fieldCalls("dockerBuild")).toEqual([]);
    expect(publishes()).toEqual([]);
  });

  it("bty-tftp: an altered seed, and nothing is built or pushed", async () => {
    answer(received("e".repeat(64)));
    await expect(call("publishTftp", { ...tftpArgs, report: "File:report" })).rejects.toThrow(
      `bty-ipxe-x86_64/bty-ipxe-x86_64-v0.77.2.efi: sha256 ${"e".repeat(64)}, but build-ipxe built ${EFI}`,
    );
    expect(publishes()).toEqual([]);
  });

  it("--report without the files it verifies is refused naming them", async () => {
    await expect(call("publishDocker", { ...webArgs, dist: undefined, report: "File:report" })).rejects.toThrow(
      "publish-docker --report verifies the files the checks handed on: pass them too with --ipxe-seed FILE --dist DIR, from the run that wrote the report",
    );
    await expect(call("publishTftp", { ...tftpArgs, ipxeSeed: undefined, report: "File:report" })).rejects.toThrow(/publish-tftp --report .* --ipxe-seed FILE,/);
    expect(publishes()).toEqual([]);
  });
});

describe("imageVariants", () => {
  it("refuses to build bty-web without the wheel its Dockerfile copies", async () => {
    const plan = amd64Plan("web", "ghcr.io/safl/bty-web");
    await connection(async () => {
      const inputs = {
        source: dag.directory(),
        ipxeSeed: dag.directory().withNewFile("ipxe.efi", "seed").file("ipxe.efi"),
      };
      expect(() => imageVariants(plan, inputs)).toThrow("bty-web needs bty's wheel (dist/bty_lab-0.77.2-py3-none-any.whl)");
    });
  });
});

describe("publishImage retries transient registry errors", () => {
  it("pushes again after each DeadlineExceeded, pausing 5, 20 and 60 s, and then moves latest", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    let failures = 3;
    engine.answer("publish", (ctx: { args: Record<string, unknown> }) => {
      if (failures-- > 0) throw new EngineError("failed to authorize: DeadlineExceeded");
      return `${String(ctx.args.address)}@${DIGEST}`;
    });
    const pauses: number[] = [];
    const plan = amd64Plan("tftp", "ghcr.io/safl/bty-tftp");
    let refs: string[] = [];
    await connection(async () => {
      const ctrs = imageVariants(plan, {
        source: dag.directory(),
        ipxeSeed: dag.directory().withNewFile("ipxe.efi", "seed").file("ipxe.efi"),
      });
      const token = dag.secret("env:GHCR_TOKEN");
      refs = await publishImage(plan, ctrs, { username: "safl", token }, { sleep: async (ms) => void pauses.push(ms) });
    });
    expect(pauses).toEqual([5000, 20000, 60000]);
    expect(publishes().map((p) => p.call.args.address)).toEqual([
      "ghcr.io/safl/bty-tftp:0.77.2",
      "ghcr.io/safl/bty-tftp:0.77.2",
      "ghcr.io/safl/bty-tftp:0.77.2",
      "ghcr.io/safl/bty-tftp:0.77.2",
      "ghcr.io/safl/bty-tftp:latest",
    ]);
    expect(logged.mock.calls[0]).toEqual([
      "push of ghcr.io/safl/bty-tftp:0.77.2 failed (attempt 1), retrying in 5s: failed to authorize: DeadlineExceeded",
    ]);
    expect(logged).toHaveBeenCalledTimes(3);
    logged.mockRestore();
    expect(refs).toEqual([`ghcr.io/safl/bty-tftp:0.77.2@${DIGEST}`, `ghcr.io/safl/bty-tftp:latest@${DIGEST}`]);
  });
});
