/**
 * The release functions through the real SDK against the recording engine:
 * registration (cache policy, Secret arguments, the contextual git HEAD),
 * what each function asks the engine to run (images, programs, argv), that
 * tokens travel only as secret IDs into secret variables, that bad input is
 * refused before anything is built or sent, and the order and gating of the
 * publish flow. Expectations are literals from bty's workflow (check-not-published,
 * tag-release, attach-to-release, publish-pypi) and bty-ci's decisions.
 */
import { describe, expect, it } from "vitest";

import { type Call, execError } from "../harness/engine.js";
import { ALL_CHECK_NAMES, ALL_CHECKS_ARGS, checkoutContents, NETBOOT_TRIO } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { findArgument, listFunctions, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const SHA = "f3cab0c3012fbb4dc6f0b2ed30d506bc9c2506bd";
const OTHER = "0123456789abcdef0123456789abcdef01234567";
const pyproject = (version: string) => `[project]\nname = "bty-lab"\nversion = "${version}"\n`;
const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
const NODE_IMAGE = "node:24.11.1-bookworm-slim";
const PROGRAM = "/opt/bty-ci/ci/release/release.ts";
const INDEX = "/opt/bty-ci/ci/release/index-versions.py";

let tagCommit: string | null;
let indexFiles: string[] | null;

const engine = useRecordingEngine({
  scan: files,
  answers: (engine) => {
    tagCommit = SHA;
    indexFiles = null;
    engine.answer("exists", true);
    engine.answer("contents", checkoutContents(pyproject("0.77.2")));
    engine.answer("commit", SHA);
    engine.answer("ref", "refs/heads/main");
    engine.answer("exitCode", 0);
    engine.answer("entries", releaseEntries);
    engine.answer("stdout", (ctx: { chain: Call[] }) => {
      const argv = lastExec(ctx.chain);
      // The program prints the commit with a newline, as console.log does.
      if (argv.includes("github-tag-sha")) return `${tagCommit ?? "none"}\n`;
      if (argv.includes(INDEX)) return JSON.stringify({ project: "bty-lab", version: "0.77.2", index: "http://index.test/simple/", files: indexFiles });
      return undefined;
    });
  },
});

/** The netboot-pc build's trio (test-pxe checks it before booting it); the gathered release files otherwise. */
const releaseEntries = (ctx: { chain: Call[] }): string[] =>
  JSON.stringify(ctx.chain).includes('"netboot-pc"') ? NETBOOT_TRIO : ["release.toml", "bty.pdf"];
const lastExec = (chain: Call[]): string[] => (chain.filter((c) => c.field === "withExec").at(-1)?.args.args as string[] | undefined) ?? [];
const call = (fnName: string, args: Record<string, unknown>) => invokeFunction({ files, fnName, parentState: state, args });
const execs = () => engine.execs().map((e) => e.args);
/** Index of the first recorded query whose chains run an exec matching `pred` (-1: none). */
const queryIndex = (pred: (argv: string[]) => boolean) =>
  engine.queries().findIndex((q) => q.expanded.some((chain) => chain.some((c) => c.field === "withExec" && pred(c.args.args as string[]))));
const runs = (word: string) => (argv: string[]) => argv.includes(word);
/** The expanded chain that ran an exec matching `pred`. */
const chainOf = (pred: (argv: string[]) => boolean) =>
  engine.chains().find((chain) => chain.some((c) => c.field === "withExec" && pred(c.args.args as string[])))!;
const envOf = (chain: Call[]) => Object.fromEntries(chain.filter((c) => c.field === "withEnvVariable").map((c) => [c.args.name, c.args.value]));
/** The module-source path a withFile/withDirectory copies: `currentModule.source.<field>(path)`. */
const moduleSourceOf = (c: Call | undefined) => {
  const [root, source, pick] = engine.pipelineOf(String(c?.args.source)) ?? [];
  return root?.field === "currentModule" && source?.field === "source" ? `${pick?.field}:${String(pick?.args.path)}` : undefined;
};
const secretVarsOf = (chain: Call[]) => Object.fromEntries(chain.filter((c) => c.field === "withSecretVariable").map((c) => [c.args.name, c.args.secret]));

/**
 * What each build of bty 0.77.2 wrote in its sums files, as the gathered
 * paths a writing job receives (bty's gathered/<artifact>/ names).
 */
const BUILT = {
  "build-ipxe": { "bty-ipxe-x86_64/bty-ipxe-x86_64-v0.77.2.efi": "1".repeat(64) },
  "build-netboot-pc": {
    "bty-netboot-pc-x86_64/bty-netboot-pc-x86_64-v0.77.2.initrd": "2".repeat(64),
    "bty-netboot-pc-x86_64/bty-netboot-pc-x86_64-v0.77.2.squashfs": "2a".repeat(32),
    "bty-netboot-pc-x86_64/bty-netboot-pc-x86_64-v0.77.2.vmlinuz": "2b".repeat(32),
  },
  "build-ramboot-init": {
    "bty-ramboot-init-x86_64/bty-ramboot-init-x86_64-v0.77.2.initrd": "3".repeat(64),
    "bty-ramboot-init-x86_64/bty-ramboot-init-x86_64-v0.77.2.vmlinuz": "3a".repeat(32),
  },
  "build-usbboot-pc": { "bty-usbboot-pc-x86_64-iso/bty-usbboot-pc-x86_64-v0.77.2.iso": "4".repeat(64) },
  "build-usbboot-rpi": { "bty-usbboot-rpi-arm64/bty-usbboot-rpi-arm64-v0.77.2.img.gz": "4a".repeat(32) },
  "build-wheel": { "dist/bty_lab-0.77.2-py3-none-any.whl": "5".repeat(64), "dist/bty_lab-0.77.2.tar.gz": "5a".repeat(32) },
  docs: { "docs-pdf/bty.pdf": "6".repeat(64) },
} as const;

/** all-checks' JSON report of a green run of bty 0.77.2 with the {@link BUILT} artifacts. */
function greenReport() {
  const artifactsOf = (job: string) =>
    Object.entries((BUILT as Record<string, Record<string, string>>)[job] ?? {}).map(([path, sha256]) => ({ name: path.split("/")[1]!, size: 1, sha256 }));
  const jobs = ALL_CHECK_NAMES.map((name) => ({ name, status: "passed", seconds: 1, reason: "ok", artifacts: artifactsOf(name), tail: [] as string[] }));
  return { title: "all-checks", version: "0.77.2", ok: true, jobs };
}

/** `contents` of File:report is `report` (as JSON unless a string); the checkout's files as before. */
function answerReport(report: unknown): void {
  const checkout = checkoutContents(pyproject("0.77.2"));
  engine.answer("contents", (ctx: { chain: Call[] }) =>
    ctx.chain[0]?.args.id === "File:report" ? (typeof report === "string" ? report : JSON.stringify(report)) : checkout(ctx));
}

/** The receiving side's `sha256sum` lines; the release program's answers as before. */
function answerReceived(files: (readonly [string, string])[]): void {
  engine.answer("stdout", (ctx: { chain: Call[] }) => {
    const argv = lastExec(ctx.chain);
    if (argv[0] === "sh" && argv.at(-1) === "/release/received") return files.map(([path, sha]) => `${sha}  ${path}\n`).join("");
    if (argv.includes("github-tag-sha")) return `${tagCommit ?? "none"}\n`;
    if (argv.includes(INDEX)) return JSON.stringify({ project: "bty-lab", version: "0.77.2", index: "http://index.test/simple/", files: indexFiles });
    return undefined;
  });
}

/** Secret IDs appear only as the `secret` of withSecretVariable; never in argv, env values or anything else. */
function expectSecretsOnlyAsSecretVariables(ids: string[]): void {
  for (const c of engine.calls().filter((call) => call.field !== "node")) {
    const text = JSON.stringify(c.args);
    for (const id of ids) {
      if (!text.includes(id)) continue;
      expect([c.field, c.field === "withSecretVariable" ? "secret" : text]).toEqual(["withSecretVariable", "secret"]);
      expect(c.args.secret).toBe(id);
    }
  }
  for (const q of engine.queries()) expect(q.query).not.toMatch(/plaintext|setSecret/);
  for (const argv of execs()) expect(argv.join(" ")).not.toMatch(/token|Secret:/i);
}

describe("registration", async () => {
  const mod = await scanModule(files);
  const fns = Object.fromEntries(listFunctions(mod).map((f) => [f.name, f]));

  it.each(["checkNotPublished", "tagRelease", "attachToRelease", "publishPypi", "publish"])("%s has an outside effect: never cached", (name) => {
    expect(fns[name]).toMatchObject({ cache: "never", isCheck: false, returnType: "string" });
    for (const a of fns[name]!.arguments) expect(a.description, `${name} ${a.name}`).not.toBe("");
  });

  it("tokens are Secrets; the checked-out commit is optional (the workspace's HEAD, checkout.test.ts)", () => {
    expect(findArgument(mod, "tagRelease", "token")).toMatchObject({ type: "Secret", optional: false });
    expect(findArgument(mod, "attachToRelease", "token")).toMatchObject({ type: "Secret", optional: false });
    for (const fn of ["tagRelease", "attachToRelease", "publish"]) {
      expect(findArgument(mod, fn, "head")).toMatchObject({ type: "GitRef", optional: true, defaultPath: undefined });
    }
    for (const name of ["token", "oidcRequestToken", "oidcRequestUrl"]) {
      expect(findArgument(mod, "publishPypi", name)).toMatchObject({ type: "Secret", optional: true });
    }
    for (const name of ["githubToken", "registryToken", "pypiToken", "oidcRequestToken", "oidcRequestUrl"]) {
      expect(findArgument(mod, "publish", name)).toMatchObject({ type: "Secret", optional: true });
    }
    expect(findArgument(mod, "publish", "dryRun")).toMatchObject({ type: "boolean", defaultValue: false });
    expect(findArgument(mod, "attachToRelease", "repo")).toMatchObject({ defaultValue: "safl/bty" });
    expect(findArgument(mod, "attachToRelease", "apiUrl")).toMatchObject({ defaultValue: "https://api.github.com" });
  });
});

describe("checkNotPublished", () => {
  it("asks the index through ci/release/index-versions.py in the pinned Python image, uncached", async () => {
    await expect(call("checkNotPublished", { tag: "v0.77.2", index: "" })).resolves.toBe(
      "http://index.test/simple/ does not know bty-lab yet: 0.77.2 is not published",
    );
    const chain = chainOf(runs(INDEX));
    expect(chain.find((c) => c.field === "from")?.args.address).toBe("python:3.12.14-slim-bookworm");
    expect(lastExec(chain)).toEqual(["python3", INDEX, "--project", "bty-lab", "--version", "0.77.2"]);
    expect(envOf(chain).BTY_CI_NONCE).toMatch(/^\d+-[a-z0-9]+$/);
    expect(envOf(chain)).toMatchObject({ PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_ROOT_USER_ACTION: "ignore" });
    expect(envOf(chain).PIP_INDEX_URL).toBeUndefined();
    const ci = chain.find((c) => c.field === "withDirectory");
    expect([ci?.args.path, moduleSourceOf(ci)]).toEqual(["/opt/bty-ci/ci", "directory:ci"]);
    // A non-zero exit is read, not raised by the engine: the job words the error.
    expect(chain.filter((c) => c.field === "withExec").at(-1)?.args.expect).toBe("ANY");
  });

  it("passes a given index; passes a half-published version; fails when all of it is there or the index cannot be asked", async () => {
    indexFiles = ["bty_lab-0.77.2.tar.gz"];
    expect(await call("checkNotPublished", { tag: "v0.77.2", index: "http://mirror/simple/" })).toBe(
      "http://index.test/simple/ has part of bty-lab 0.77.2 (bty_lab-0.77.2.tar.gz): not completely published; a re-run of its release finishes it",
    );
    indexFiles = ["bty_lab-0.77.2.tar.gz", "bty_lab-0.77.2-py3-none-any.whl"];
    await expect(call("checkNotPublished", { tag: "v0.77.2", index: "http://mirror/simple/" })).rejects.toThrow(
      "already has bty-lab 0.77.2 (bty_lab-0.77.2.tar.gz, bty_lab-0.77.2-py3-none-any.whl): bump [project] version",
    );
    expect(lastExec(chainOf(runs(INDEX))).slice(6)).toEqual(["--index-url", "http://mirror/simple/"]);
    engine.answer("exitCode", 3);
    engine.answer("stderr", "cannot ask the index\n");
    const err = (await call("checkNotPublished", { tag: "v0.77.2", index: "" }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/could not be asked \(exit 3\): cannot ask the index$/);
  });

  it("--python-index becomes pip's index for the question", async () => {
    await invokeFunction({ files, fnName: "checkNotPublished", parentState: { ...state, pythonIndex: "http://mirror.test/simple/" }, args: { tag: "v0.77.2", index: "" } });
    expect(envOf(chainOf(runs(INDEX))).PIP_INDEX_URL).toBe("http://mirror.test/simple/");
  });

  it("refuses a tag that is not v<version> before asking anything", async () => {
    await expect(call("checkNotPublished", { tag: "v0.77.3", index: "" })).rejects.toThrow(/does not match pyproject\.toml's version 0\.77\.2/);
    expect(engine.fieldCalls("from")).toEqual([]);
  });
});

describe("attachToRelease", () => {
  const args = { tag: "v0.77.2", token: "Secret:github-token", head: "GitRef:head", repo: "safl/bty", apiUrl: "https://api.github.com", gathered: "Directory:gathered" };

  it("checks the tag's commit, assembles, then creates/completes the release; token only as a secret variable", async () => {
    await call("attachToRelease", args);
    const order = [runs("github-tag-sha"), runs("assemble"), runs("github-release")].map(queryIndex);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const release = chainOf(runs("github-release"));
    expect(release.find((c) => c.field === "from")?.args.address).toBe(NODE_IMAGE);
    expect(lastExec(release)).toEqual([
      "node", "--import", "tsx", PROGRAM, "github-release", "--repo", "safl/bty", "--api-url", "https://api.github.com",
      "--tag", "v0.77.2", "--dir", "/release/assets", "--commit", SHA,
    ]);
    expect(secretVarsOf(release)).toEqual({ GITHUB_TOKEN: "Secret:github-token" });
    // The program's container: npm's cache volume, the program's own lockfile, the layout tsx resolves from.
    expect(envOf(release)).toMatchObject({ npm_config_cache: "/cache/npm", npm_config_update_notifier: "false" });
    const npmCache = release.find((c) => c.field === "withMountedCache");
    expect(npmCache?.args).toMatchObject({ path: "/cache/npm", sharing: "SHARED" });
    expect(engine.pipelineOf(String(npmCache?.args.cache))?.at(-1)?.args.key).toBe("bty-ci-npm");
    expect(release.find((c) => c.field === "withWorkdir")?.args.path).toBe("/opt/bty-ci");
    expect(release.filter((c) => c.field === "withFile").map((c) => [c.args.path, moduleSourceOf(c)])).toEqual([
      ["/opt/bty-ci/package.json", "file:ci/release/package.json"],
      ["/opt/bty-ci/package-lock.json", "file:ci/release/package-lock.json"],
      ["/opt/bty-ci/src/clip.ts", "file:src/clip.ts"],
      ["/opt/bty-ci/src/sha256.ts", "file:src/sha256.ts"],
    ]);
    const dirs = release.filter((c) => c.field === "withDirectory");
    expect(dirs.map((c) => c.args.path)).toEqual(["/opt/bty-ci/ci/release", "/opt/bty-ci/src/release", "/release/assets"]);
    // The program and the rules it imports, without a host's node_modules.
    expect(dirs.slice(0, 2).map((c) => [moduleSourceOf(c), c.args.exclude])).toEqual([
      ["directory:ci/release", ["node_modules"]],
      ["directory:src/release", ["node_modules"]],
    ]);
    // Every GitHub call runs (uncached engine work: a fresh nonce each time).
    expect(envOf(release).BTY_CI_NONCE).toMatch(/^\d+-[a-z0-9]+$/);
    expect(envOf(chainOf(runs("github-tag-sha"))).BTY_CI_NONCE).toMatch(/^\d+-[a-z0-9]+$/);
    expect(execs()).toContainEqual(["npm", "ci", "--no-audit", "--no-fund"]);
    expect(lastExec(chainOf(runs("assemble")))).toEqual([
      "node", "--import", "tsx", PROGRAM, "assemble", "--version", "0.77.2", "--tag", "v0.77.2", "--gathered", "/release/gathered", "--out", "/release/assets",
    ]);
    // Each asset group comes from its folder of the gathered tree, only the named files.
    const assembled = chainOf(runs("assemble")).filter((c) => c.field === "withDirectory" && String(c.args.path).startsWith("/release/gathered/"));
    expect(assembled.map((c) => c.args.path)).toEqual([
      "/release/gathered/bty-ipxe-x86_64",
      "/release/gathered/bty-netboot-pc-x86_64",
      "/release/gathered/bty-ramboot-init-x86_64",
      "/release/gathered/bty-usbboot-pc-x86_64-iso",
      "/release/gathered/bty-usbboot-rpi-arm64",
      "/release/gathered/dist",
      "/release/gathered/docs-pdf",
    ]);
    expect(assembled.at(-1)?.args.include).toEqual(["bty.pdf"]);
    expectSecretsOnlyAsSecretVariables(["Secret:github-token"]);
  });

  it("refuses a tag on another commit, or no tag, before building or sending", async () => {
    tagCommit = OTHER;
    await expect(call("attachToRelease", args)).rejects.toThrow(`tag v0.77.2 points at ${OTHER}, not at the checked-out commit ${SHA}`);
    tagCommit = null;
    await expect(call("attachToRelease", args)).rejects.toThrow(/does not exist on the remote: run tag-release/);
    expect(queryIndex(runs("assemble"))).toBe(-1);
    expect(queryIndex(runs("github-release"))).toBe(-1);
  });

  it("refuses a tag that is not v<version>, or a malformed repo, before anything", async () => {
    await expect(call("attachToRelease", { ...args, tag: "0.77.2" })).rejects.toThrow(/release tag v0\.77\.2/);
    await expect(call("attachToRelease", { ...args, repo: "bty" })).rejects.toThrow(/not OWNER\/NAME/);
    expect(engine.fieldCalls("from")).toEqual([]);
  });
});

describe("tagRelease", () => {
  const args = { token: "Secret:pat", head: "GitRef:head", repo: "safl/bty", apiUrl: "https://api.github.com", ...ALL_CHECKS_ARGS };

  it("returns at once when the remote has the tag: no check, no tag request", async () => {
    expect(await call("tagRelease", args)).toBe(`v0.77.2 already exists (on ${SHA}); nothing to do`);
    expect(queryIndex(runs("pytest"))).toBe(-1);
    expect(queryIndex(runs("github-tag"))).toBe(-1);
  });

  it("no tag yet, no --report: every check first, then the tag on the checked-out commit", async () => {
    tagCommit = null;
    const out = String(await call("tagRelease", args));
    expect(out.split("\n")[0]).toBe("all 20 checks passed");
    // The Ventoy release given to tag-release is the one test-usb-ventoy boots.
    expect(engine.fieldCalls("withDirectory").map((c) => c.args.source)).toContain("Directory:ventoy");
    const tagAt = queryIndex(runs("github-tag"));
    expect(tagAt).toBeGreaterThan(queryIndex(runs("pytest")));
    expect(lastExec(chainOf(runs("github-tag"))).slice(4)).toEqual([
      "github-tag", "--repo", "safl/bty", "--api-url", "https://api.github.com", "--tag", "v0.77.2", "--commit", SHA,
    ]);
    expectSecretsOnlyAsSecretVariables(["Secret:pat"]);
  });

  it("a failing check means no tag", async () => {
    tagCommit = null;
    engine.answer("sync", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "from" && String(c.args.address).includes("3.11"))) {
        throw execError({ cmd: ["uv", "run", "--no-sync", "pytest"], exitCode: 1, stderr: "== 1 failed ==\n" });
      }
      return undefined;
    });
    await expect(call("tagRelease", args)).rejects.toThrow(/checks failed/);
    expect(queryIndex(runs("github-tag"))).toBe(-1);
  });

  it("--report of this run: its green verdict instead of the checks, then the tag", async () => {
    tagCommit = null;
    answerReport(greenReport());
    const out = String(await call("tagRelease", { ...args, report: "File:report" }));
    expect(out.split("\n")[0]).toBe("all 20 checks passed (all-checks' report of bty-lab 0.77.2)");
    expect(queryIndex(runs("pytest"))).toBe(-1);
    expect(lastExec(chainOf(runs("github-tag"))).slice(-2)).toEqual(["--commit", SHA]);
  });

  it("--report that is red, partial, of another version or not a report: refused, no tag", async () => {
    tagCommit = null;
    const green = greenReport();
    const cases: [unknown, RegExp][] = [
      [{ ...green, ok: false, jobs: green.jobs.map((j) => (j.name === "docs" ? { ...j, status: "failed" } : j)) }, /checks did not pass \(1 of 20 failed: docs\)/],
      [{ ...green, jobs: green.jobs.filter((j) => j.name !== "test:py-314") }, /lacks checks test:py-314/],
      [{ ...green, version: "0.77.1" }, /report of bty-lab 0\.77\.1, this checkout is 0\.77\.2/],
      [{ ...green, title: "publish v0.77.2" }, /report of "publish v0\.77\.2", not of all-checks/],
      ["all 20 checks passed", /--report is not JSON/],
      [{ title: "all-checks", ok: true }, /not a run report/],
    ];
    for (const [report, why] of cases) {
      answerReport(report);
      await expect(call("tagRelease", { ...args, report: "File:report" })).rejects.toThrow(why);
    }
    expect(queryIndex(runs("pytest"))).toBe(-1);
    expect(queryIndex(runs("github-tag"))).toBe(-1);
  });

  it("refuses any branch but main before running anything", async () => {
    engine.answer("ref", "refs/heads/feature");
    await expect(call("tagRelease", args)).rejects.toThrow(/from main only/);
    expect(engine.fieldCalls("from")).toEqual([]);
  });
});

describe("hand-off: writing jobs verify the checks' files against their report", () => {
  const attach = { tag: "v0.77.2", token: "Secret:github-token", head: "GitRef:head", repo: "safl/bty", apiUrl: "https://api.github.com", gathered: "Directory:gathered", report: "File:report" };
  const pypi = { tag: "v0.77.2", token: "Secret:pypi", index: "", publishUrl: "", dist: "Directory:dist", report: "File:report" };

  it("attach-to-release: every gathered file as built, then the upload; sha256 computed in the pinned Python image", async () => {
    answerReport(greenReport());
    answerReceived(Object.entries(BUILT).flatMap(([, files]) => Object.entries(files)));
    await call("attachToRelease", attach);
    const sums = chainOf(runs("sh"));
    expect(sums.find((c) => c.field === "from")?.args.address).toBe("python:3.12.14-slim-bookworm");
    expect(sums.find((c) => c.field === "withDirectory")?.args).toMatchObject({ path: "/release/received", source: "Directory:gathered" });
    expect(queryIndex(runs("github-release"))).toBeGreaterThan(queryIndex(runs("sh")));
  });

  it("attach-to-release: one altered file, or one missing, and nothing is assembled or sent", async () => {
    answerReport(greenReport());
    const received = Object.values(BUILT).flatMap((files) => Object.entries(files));
    answerReceived(received.map(([path, sha]) => [path, path.endsWith(".iso") ? "0".repeat(64) : sha]));
    await expect(call("attachToRelease", attach)).rejects.toThrow(
      `refusing to upload: 1 file(s) are not what the checks built (bty-usbboot-pc-x86_64-iso/bty-usbboot-pc-x86_64-v0.77.2.iso: sha256 ${"0".repeat(64)}, but build-usbboot-pc built ${"4".repeat(64)})`,
    );
    answerReceived(received.filter(([path]) => !path.startsWith("docs-pdf/")));
    await expect(call("attachToRelease", attach)).rejects.toThrow("docs-pdf/bty.pdf: not received");
    expect(queryIndex(runs("assemble"))).toBe(-1);
    expect(queryIndex(runs("github-release"))).toBe(-1);
    expect(queryIndex(runs("github-tag-sha"))).toBe(-1);
  });

  it("publish-pypi: the dist verified as received under dist/, then uv publish", async () => {
    answerReport(greenReport());
    answerReceived(Object.entries(BUILT["build-wheel"]));
    await call("publishPypi", pypi);
    expect(chainOf(runs("sh")).find((c) => c.field === "withDirectory")?.args.path).toBe("/release/received");
    expect(queryIndex(runs("publish"))).toBeGreaterThan(queryIndex(runs("sh")));
  });

  it("publish-pypi: an altered wheel and sdist, and nothing is uploaded", async () => {
    answerReport(greenReport());
    answerReceived(Object.entries(BUILT["build-wheel"]).map(([path]) => [path, "f".repeat(64)]));
    await expect(call("publishPypi", pypi)).rejects.toThrow(/refusing to upload: 2 file\(s\)/);
    expect(queryIndex(runs("publish"))).toBe(-1);
  });

  it("--report without the files it verifies: refused naming the flag, before anything runs", async () => {
    await expect(call("attachToRelease", { ...attach, gathered: undefined })).rejects.toThrow(
      "attach-to-release --report verifies the files the checks handed on: pass them too with --gathered DIR (<group>/<file>), from the run that wrote the report",
    );
    await expect(call("publishPypi", { ...pypi, dist: undefined })).rejects.toThrow(/publish-pypi --report .* --dist DIR/);
    expect(engine.fieldCalls("from")).toEqual([]);
  });
});

describe("publishPypi", () => {
  it("token: uv publish with UV_PUBLISH_TOKEN as a secret variable and skip-existing against the index asked", async () => {
    const out = await call("publishPypi", { tag: "v0.77.2", token: "Secret:pypi", index: "", publishUrl: "", dist: "Directory:dist" });
    // The last line is the project page on the index asked: the drop-in's pypi environment URL.
    expect(String(out).split("\n")).toEqual([
      "published bty_lab-0.77.2-py3-none-any.whl, bty_lab-0.77.2.tar.gz to the index behind http://index.test/simple/ (files it already had were skipped)",
      "project page: http://index.test/project/bty-lab/",
    ]);
    const chain = chainOf(runs("publish"));
    expect(lastExec(chain)).toEqual([
      "uv", "publish", "--no-progress", "--trusted-publishing", "never", "--check-url", "http://index.test/simple/",
      "/release/dist/bty_lab-0.77.2-py3-none-any.whl", "/release/dist/bty_lab-0.77.2.tar.gz",
    ]);
    expect(secretVarsOf(chain)).toEqual({ UV_PUBLISH_TOKEN: "Secret:pypi" });
    expect(envOf(chain).GITHUB_ACTIONS).toBeUndefined();
    // The given dist is published as is: no wheel build.
    expect(chain.find((c) => c.field === "withDirectory" && c.args.path === "/release/dist")?.args.source).toBe("Directory:dist");
    expect(queryIndex(runs("build"))).toBe(-1);
    expect(execs()).toContainEqual(["pip", "install", "uv==0.13.9"]);
    expect(envOf(chain).UV_CACHE_DIR).toBe("/cache/uv");
    expect(envOf(chain).BTY_CI_NONCE).toMatch(/^\d+-[a-z0-9]+$/);
    // Only the version's wheel and sdist are taken from the given dist.
    expect(chain.find((c) => c.field === "withDirectory" && c.args.path === "/release/dist")?.args.include).toEqual([
      "bty_lab-0.77.2-py3-none-any.whl",
      "bty_lab-0.77.2.tar.gz",
    ]);
    expectSecretsOnlyAsSecretVariables(["Secret:pypi"]);
  });

  it("trusted publishing: GitHub's OIDC request pair as secret variables, GITHUB_ACTIONS=true", async () => {
    await call("publishPypi", {
      tag: "v0.77.2", oidcRequestToken: "Secret:oidc-token", oidcRequestUrl: "Secret:oidc-url", index: "", publishUrl: "https://upload.test/legacy/", dist: "Directory:dist",
    });
    const chain = chainOf(runs("publish"));
    expect(lastExec(chain).slice(3, 9)).toEqual(["--trusted-publishing", "always", "--check-url", "http://index.test/simple/", "--publish-url", "https://upload.test/legacy/"]);
    expect(secretVarsOf(chain)).toEqual({ ACTIONS_ID_TOKEN_REQUEST_TOKEN: "Secret:oidc-token", ACTIONS_ID_TOKEN_REQUEST_URL: "Secret:oidc-url" });
    expect(envOf(chain).GITHUB_ACTIONS).toBe("true");
    expectSecretsOnlyAsSecretVariables(["Secret:oidc-token", "Secret:oidc-url"]);
  });

  it("no credentials, or half an OIDC pair: refused before anything", async () => {
    await expect(call("publishPypi", { tag: "v0.77.2", index: "", publishUrl: "" })).rejects.toThrow(/publish-pypi needs --token/);
    await expect(call("publishPypi", { tag: "v0.77.2", oidcRequestToken: "Secret:t", index: "", publishUrl: "" })).rejects.toThrow(
      "publish-pypi needs --token env:PYPI_TOKEN, or for trusted publishing both --oidc-request-token " +
        "env:ACTIONS_ID_TOKEN_REQUEST_TOKEN and --oidc-request-url env:ACTIONS_ID_TOKEN_REQUEST_URL",
    );
    expect(engine.fieldCalls("from")).toEqual([]);
  });
});

describe("publish (the tag flow)", () => {
  const all = {
    tag: "v0.77.2", head: "GitRef:head", githubToken: "Secret:github-token", registryUser: "safl", registryToken: "Secret:ghcr",
    pypiToken: "Secret:pypi", repo: "safl/bty", apiUrl: "https://api.github.com", index: "", publishUrl: "", dryRun: false,
    ...ALL_CHECKS_ARGS,
  };
  const steps = () => ({
    gate: queryIndex(runs(INDEX)),
    checks: queryIndex(runs("pytest")),
    release: queryIndex(runs("github-release")),
    pypi: queryIndex((a) => a[1] === "publish"),
  });

  it("gate, checks, release, images, then PyPI last; every secret only as a secret", async () => {
    engine.answer("publish", (ctx: { args: Record<string, unknown> }) => `${String(ctx.args.address)}@sha256:${"ab".repeat(32)}`);
    const report = String(await call("publish", all));
    expect(engine.fieldCalls("withDirectory").map((c) => c.args.source)).toContain("Directory:ventoy");
    const digest = `@sha256:${"ab".repeat(32)}`;
    // Each step's line says what it did; "all 20 checks passed" is all-checks' own last line.
    expect(report.split("\n")).toEqual([
      `gate     done     v0.77.2 = v0.77.2 on ${SHA}; index: not published`,
      "checks   done     all 20 checks passed",
      "release  done     GitHub release v0.77.2 complete and verified against release.toml",
      `images   done     ghcr.io/safl/bty-web:0.77.2${digest}, ghcr.io/safl/bty-web:latest${digest}, ` +
        `ghcr.io/safl/bty-tftp:0.77.2${digest}, ghcr.io/safl/bty-tftp:latest${digest}`,
      "pypi     done     published bty_lab-0.77.2-py3-none-any.whl, bty_lab-0.77.2.tar.gz to the index behind http://index.test/simple/ (files it already had were skipped)",
      "publish v0.77.2: every step completed",
    ]);
    // Both images are seeded with the release's own ipxe.efi: every platform
    // variant of every publish stages the file build-ipxe made for v0.77.2.
    const variants = engine
      .chains()
      .flatMap((chain) => chain.filter((c) => c.field === "publish"))
      .flatMap((p) => (p.args.platformVariants as string[]).map((id) => engine.pipelineOf(id) ?? []));
    expect(variants).toHaveLength(8); // bty-web and bty-tftp, <version> and latest, amd64 and arm64
    const seeds = variants.map((variant) => variant.find((c) => c.field === "withFile" && /(^|\/)seed\/ipxe\.efi$/.test(String(c.args.path))));
    expect(new Set(seeds.map((seed) => seed?.args.path))).toEqual(new Set(["docker/seed/ipxe.efi", "seed/ipxe.efi"]));
    for (const seed of seeds) {
      const built = engine.pipelineOf(String(seed!.args.source)) ?? [];
      expect(built.at(-1)).toMatchObject({ field: "file", args: { path: "bty-ipxe-x86_64-v0.77.2.efi" } });
      expect(built.some((c) => c.field === "withExec" && (c.args.args as string[]).some((a) => a.includes("ipxe-build.sh")))).toBe(true);
    }
    const s = steps();
    expect(Object.values(s).every((i) => i >= 0)).toBe(true);
    expect(s.gate).toBeLessThan(s.checks);
    expect(s.checks).toBeLessThan(s.release);
    const imagesAt = engine.queries().findIndex((q) => q.expanded.some((ch) => ch.some((c) => c.field === "publish")));
    expect(s.release).toBeLessThan(imagesAt);
    expect(imagesAt).toBeLessThan(s.pypi);
    expectSecretsOnlyAsSecretVariables(["Secret:github-token", "Secret:pypi"]);
  });

  it("a red check stops the flow before anything leaves, and says what completed", async () => {
    engine.answer("sync", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "from" && String(c.args.address).includes("3.13"))) {
        throw execError({ cmd: ["uv", "run", "--no-sync", "pytest"], exitCode: 1, stderr: "== 1 failed ==\n" });
      }
      return undefined;
    });
    const err = (await call("publish", all).catch((e: Error) => e)) as Error;
    // The step's line names the failed check; all-checks' table follows it.
    expect(err.message).toMatch(/^checks +failed +1 of 20 checks failed: test:py-313$/m);
    expect(err.message).toMatch(/^test:py-313 +FAIL /m);
    expect(err.message).toContain('publish v0.77.2 stopped at "checks"; completed: gate.');
    expect(err.message).toMatch(/^release +not run/m);
    expect(queryIndex(runs("github-release"))).toBe(-1);
    expect(queryIndex((a) => a[1] === "publish")).toBe(-1);
    expect(engine.fieldCalls("publish")).toEqual([]);
  });

  it("with a GitHub token, a tag on another commit stops the flow at the gate", async () => {
    tagCommit = OTHER;
    const err = (await call("publish", all).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`^gate +failed +tag v0\\.77\\.2 points at ${OTHER}, not at the checked-out commit ${SHA}`, "m"));
    expect(queryIndex(runs("pytest"))).toBe(-1);
  });

  it("trusted publishing replaces the PyPI token; half an OIDC pair is refused before anything", async () => {
    engine.answer("publish", (ctx: { args: Record<string, unknown> }) => `${String(ctx.args.address)}@sha256:${"ab".repeat(32)}`);
    const oidc = { ...all, pypiToken: undefined, oidcRequestToken: "Secret:oidc-token", oidcRequestUrl: "Secret:oidc-url" };
    await expect(call("publish", { ...oidc, oidcRequestUrl: undefined })).rejects.toThrow(/^missing credentials: pypi: --pypi-token/);
    await expect(call("publish", { ...oidc, oidcRequestToken: undefined })).rejects.toThrow(/^missing credentials: pypi: --pypi-token/);
    expect(engine.fieldCalls("from")).toEqual([]);
    await expect(call("publish", oidc)).resolves.toMatch(/publish v0\.77\.2: every step completed$/);
    expect(secretVarsOf(chainOf((a) => a[1] === "publish"))).toEqual({
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "Secret:oidc-token",
      ACTIONS_ID_TOKEN_REQUEST_URL: "Secret:oidc-url",
    });
  });

  it("a version the index already has is refused at the gate; a partial one is finished", async () => {
    indexFiles = ["bty_lab-0.77.2-py3-none-any.whl", "bty_lab-0.77.2.tar.gz"];
    const err = (await call("publish", all).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/^gate +failed +.*already has bty-lab 0\.77\.2/m);
    expect(queryIndex(runs("pytest"))).toBe(-1);
    engine.reset();
    indexFiles = ["bty_lab-0.77.2-py3-none-any.whl"];
    engine.answer("exists", true);
    engine.answer("contents", checkoutContents(pyproject("0.77.2")));
    engine.answer("entries", releaseEntries);
    engine.answer("commit", SHA);
    engine.answer("exitCode", 0);
    engine.answer("stdout", (ctx: { chain: Call[] }) => {
      const argv = lastExec(ctx.chain);
      if (argv.includes("github-tag-sha")) return SHA;
      if (argv.includes(INDEX)) return JSON.stringify({ project: "bty-lab", version: "0.77.2", index: "http://index.test/simple/", files: indexFiles });
      return undefined;
    });
    engine.answer("publish", (ctx: { args: Record<string, unknown> }) => `${String(ctx.args.address)}@sha256:${"ab".repeat(32)}`);
    await expect(call("publish", all)).resolves.toMatch(/index: partly published \(finishing\)/);
  });

  it("markdown without failing: the steps as the job summary's table, the last line its status", async () => {
    engine.answer("publish", (ctx: { args: Record<string, unknown> }) => `${String(ctx.args.address)}@sha256:${"ab".repeat(32)}`);
    const md = String(await call("publish", { ...all, format: "markdown", failOnError: false }));
    expect(md.split("\n")[0]).toBe("**publish v0.77.2: all 5 passed**");
    for (const step of ["gate", "checks", "release", "images", "pypi"]) expect(md).toMatch(new RegExp(`^\\| ${step} \\| ✅ passed \\|`, "m"));
    expect(md.split("\n").at(-1)).toBe("<!-- bty-ci-report: passed -->");
  });

  it("a failure in markdown throws the step lines and the job summary's report", async () => {
    tagCommit = null;
    const md = (await call("publish", { ...all, format: "markdown" }).catch((e: Error) => e)) as Error;
    expect(md.message).toMatch(/^gate +failed +tag v0\.77\.2 does not exist on the remote/);
    expect(md.message).toContain("\n\n**publish v0.77.2: 5 of 5 failed**\n");
    expect(md.message.split("\n").at(-1)).toBe("<!-- bty-ci-report: failed -->");
    const text = (await call("publish", all).catch((e: Error) => e)) as Error;
    // Text is the step lines once, without a second copy as a report.
    expect(text.message.split("\n")).toHaveLength(6);
    expect(text.message.split("\n").at(-1)).toBe('publish v0.77.2 stopped at "gate"; completed: nothing. Fix the cause and run publish again: completed steps are detected and kept, the rest is finished.');
  });

  it("an unknown report format is refused before anything is built", async () => {
    await expect(call("publish", { ...all, format: "html" })).rejects.toThrow('unknown --format "html": use one of text, markdown, json');
    expect(engine.fieldCalls("from")).toEqual([]);
  });

  it("missing credentials, a bad tag: refused before anything is built", async () => {
    await expect(call("publish", { ...all, registryToken: undefined, pypiToken: undefined })).rejects.toThrow(
      /missing credentials: images: --registry-token.*; pypi: --pypi-token/,
    );
    await expect(call("publish", { ...all, registryUser: "" })).rejects.toThrow(/missing credentials: images: --registry-user/);
    await expect(call("publish", { ...all, tag: "v0.77.3" })).rejects.toThrow(/does not match/);
    expect(engine.fieldCalls("from")).toEqual([]);
  });

  it("dry run: builds and checks, sends nothing, prints the plan and the manifest", async () => {
    engine.answer("contents", (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "file" && c.args.path === "release.toml") ? 'version = "0.77.2"\ntag = "v0.77.2"\n' : checkoutContents(pyproject("0.77.2"))(ctx),
    );
    const out = String(await call("publish", { tag: "v0.77.2", head: "GitRef:head", repo: "safl/bty", apiUrl: "https://api.github.com", index: "", publishUrl: "", registryUser: "", dryRun: true, ...ALL_CHECKS_ARGS }));
    expect(out.split("\n")[0]).toBe("publish v0.77.2 (dry run: nothing is sent)");
    expect(out).toContain('version = "0.77.2"\ntag = "v0.77.2"');
    // The engine lists release.toml first here; the plan lists the files sorted.
    expect(out).toContain("would upload: bty.pdf, release.toml");
    expect(out).toContain(`\n   would publish bty-web and bty-tftp 0.77.2 (+ latest for a final release) with revision ${SHA}\n`);
    expect(out.split("\n").slice(-5)).toEqual([
      "checks   done     all 20 checks passed",
      "release  done     assets built and assembled (dry run: not uploaded)",
      "images   done     images not built (dry run)",
      "pypi     done     not published (dry run)",
      "publish v0.77.2: every step completed",
    ]);
    expect(out).toContain("tag-on-commit not checked: no --github-token");
    expect(out).toMatch(/would publish bty_lab-0\.77\.2-py3-none-any\.whl, bty_lab-0\.77\.2\.tar\.gz with uv publish/);
    expect(queryIndex(runs("assemble"))).toBeGreaterThan(queryIndex(runs("pytest")));
    for (const word of ["github-release", "github-tag", "github-tag-sha"]) expect(queryIndex(runs(word))).toBe(-1);
    expect(queryIndex((a) => a[1] === "publish")).toBe(-1);
    expect(engine.fieldCalls("publish")).toEqual([]);
    expect(engine.fieldCalls("withSecretVariable")).toEqual([]);
  });
});

describe("a server the engine cannot reach by itself (--api-service, --index-service)", () => {
  const bindingsOf = (chain: Call[]) => chain.filter((c) => c.field === "withServiceBinding").map((c) => [c.args.alias, c.args.service]);
  const rehearsal = {
    tag: "v0.77.2", head: "GitRef:head", githubToken: "Secret:github-token", registryUser: "safl", registryToken: "Secret:ghcr",
    pypiToken: "Secret:pypi", repo: "safl/bty", apiUrl: "http://github-api:8080/api", apiService: "Service:github",
    index: "http://pypi:8080/simple/", indexService: "Service:pypi", publishUrl: "http://pypi:8080/", dryRun: false, ...ALL_CHECKS_ARGS,
  };

  it("every GitHub and index container gets its service bound as the URL's host; nothing else does", async () => {
    engine.answer("publish", (ctx: { args: Record<string, unknown> }) => `${String(ctx.args.address)}@sha256:${"ab".repeat(32)}`);
    await call("publish", rehearsal);
    for (const word of ["github-tag-sha", "github-release"]) expect(bindingsOf(chainOf(runs(word))), word).toEqual([["github-api", "Service:github"]]);
    expect(bindingsOf(chainOf(runs(INDEX)))).toEqual([["pypi", "Service:pypi"]]);
    const upload = chainOf((a) => a[1] === "publish");
    expect(bindingsOf(upload)).toEqual([["pypi", "Service:pypi"]]);
    expect(lastExec(upload).slice(5, 9)).toEqual(["--check-url", "http://index.test/simple/", "--publish-url", "http://pypi:8080/"]);
    // The checks and builds reach nothing of the caller's.
    expect(bindingsOf(chainOf(runs("pytest")))).toEqual([]);
    expect(bindingsOf(chainOf(runs("assemble")))).toEqual([]);
  });

  it("check-not-published binds its index's", async () => {
    await call("checkNotPublished", { tag: "v0.77.2", index: "http://pypi:8080/simple/", indexService: "Service:pypi" });
    expect(bindingsOf(chainOf(runs(INDEX)))).toEqual([["pypi", "Service:pypi"]]);
  });

  it("attach-to-release binds the API's", async () => {
    await call("attachToRelease", {
      tag: "v0.77.2", token: "Secret:github-token", head: "GitRef:head", repo: "safl/bty", apiUrl: "http://github-api:8080/api",
      apiService: "Service:github", gathered: "Directory:gathered",
    });
    expect(bindingsOf(chainOf(runs("github-release")))).toEqual([["github-api", "Service:github"]]);
  });

  it("publish-pypi binds its index's, for the question and the upload", async () => {
    await call("publishPypi", { tag: "v0.77.2", token: "Secret:pypi", index: "http://pypi:8080/simple/", indexService: "Service:pypi", publishUrl: "http://pypi:8080/", dist: "Directory:dist" });
    expect(bindingsOf(chainOf(runs(INDEX)))).toEqual([["pypi", "Service:pypi"]]);
    expect(bindingsOf(chainOf((a) => a[1] === "publish"))).toEqual([["pypi", "Service:pypi"]]);
  });

  it("a URL no binding can serve, or uploads that would leave for PyPI: refused before anything", async () => {
    await expect(call("publish", { ...rehearsal, apiUrl: "http://localhost:8080/api" })).rejects.toThrow(
      /--api-service is bound under the host name --api-url names, and "localhost" cannot be one/,
    );
    await expect(call("publish", { ...rehearsal, publishUrl: "", dryRun: true })).rejects.toThrow(
      /--index-service serves host "pypi", so uploads must go there too: .*\(got none, which is PyPI\)/,
    );
    await expect(call("checkNotPublished", { tag: "v0.77.2", index: "", indexService: "Service:pypi" })).rejects.toThrow(
      /--index-service needs --index to be a URL/,
    );
    await expect(call("tagRelease", { token: "Secret:pat", head: "GitRef:head", repo: "safl/bty", apiUrl: "https://api.github.com", apiService: "Service:github", ...ALL_CHECKS_ARGS })).rejects.toThrow(
      /"api\.github\.com" cannot be one/,
    );
    await expect(call("publishPypi", { ...rehearsal, token: "Secret:pypi", publishUrl: "https://upload.index.example/legacy/" })).rejects.toThrow(
      /uploads must go there too/,
    );
    expect(engine.fieldCalls("from")).toEqual([]);
  });
});
