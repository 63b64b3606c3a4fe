/**
 * plan, workflow and allChecks' report formats as the engine registers and
 * runs them (SDK's own scan + invoke against the recording engine).
 */
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

import { cliName } from "../../src/checks/plan.js";
import { workflowOptions, workflowYaml } from "../../src/pipeline/workflow.js";
import { type Call, execError } from "../harness/engine.js";
import { answerCheckout, checkoutContents } from "../harness/checkout.js";
import { invokeFunction } from "../harness/invoke.js";
import { type ArgumentInfo, argumentInfo, findArgument, listFunctions, scanModule } from "../harness/scan.js";
import { useRecordingEngine } from "../harness/use-engine.js";
import { MODULE_FILES as files } from "./module-files.js";

const SHA = "c".repeat(64);
const state = { source: "Directory:bty", pythonImage: "python:{version}-slim-bookworm", pythonIndex: "", debianMirror: "" };
const mod = await scanModule(files);
const fn = (name: string) => listFunctions(mod).find((f) => f.name === name)!;

// test-pxe lists the netboot-pc build's files (a real build has these); allChecks
// runs lint, which reads bty's hook set (its own tests: lint.test.ts).
const engine = useRecordingEngine({ scan: files, answers: answerCheckout });
const checkoutFile = checkoutContents();

const call = (fnName: string, args: Record<string, unknown> = {}) => invokeFunction({ files, fnName, parentState: state, args });

describe("registration", () => {
  it("plan takes the event, a ref (main), changed paths (none) and a format (table)", () => {
    expect(fn("plan")).toMatchObject({ returnType: "string", isCheck: false });
    expect(findArgument(mod, "plan", "event")).toMatchObject({ type: "string", optional: false });
    expect(findArgument(mod, "plan", "ref")).toMatchObject({ type: "string", defaultValue: "main" });
    expect(findArgument(mod, "plan", "changedPaths")).toMatchObject({ type: "string[]", defaultValue: [] });
    expect(findArgument(mod, "plan", "format")).toMatchObject({ type: "string", defaultValue: "table" });
  });

  it("workflow returns a File for a pinned module reference (default: bty-ci at main)", () => {
    expect(fn("workflow")).toMatchObject({ returnType: "File", isCheck: false });
    expect(findArgument(mod, "workflow", "module")).toMatchObject({ type: "string", defaultValue: "github.com/safl/bty-ci@v0.2.0" });
  });

  it("allChecks takes a report format (text) and whether to fail (true), and is not cached across sessions", () => {
    expect(findArgument(mod, "allChecks", "format")).toMatchObject({ type: "string", defaultValue: "text" });
    expect(findArgument(mod, "allChecks", "failOnError")).toMatchObject({ type: "boolean", defaultValue: true });
    expect(fn("allChecks").cache).toBe("session");
  });

  it("documents every new argument", () => {
    for (const [f, a] of [["plan", "event"], ["plan", "ref"], ["plan", "changedPaths"], ["plan", "format"], ["workflow", "module"], ["allChecks", "format"], ["allChecks", "failOnError"]]) {
      expect(findArgument(mod, f!, a!).description, `${f}(${a})`).not.toBe("");
    }
  });
});

describe("plan", () => {
  it("prints the table and the JSON without touching the engine", async () => {
    const table = (await call("plan", { event: "workflow_dispatch", ref: "main" })) as string;
    expect(table.split("\n")[0]).toBe("workflow_dispatch refs/heads/main");
    expect(table).toMatch(/^1 +ci-cd\.yml +build-wheel +dagger call build-wheel +-$/m);
    const json = JSON.parse((await call("plan", { event: "tag", ref: "v1.0.0", changedPaths: [], format: "json" })) as string);
    expect(json.stages.at(-1)[0].call).toEqual(["publish-pypi", "--tag", "v1.0.0"]);
    expect(engine.queries()).toEqual([]);
  });

  it("names the fix for a bad event or format", async () => {
    await expect(call("plan", { event: "merge", ref: "main" })).rejects.toThrow(/unknown event "merge"/);
    await expect(call("plan", { event: "push", ref: "main", format: "yaml" })).rejects.toThrow('unknown --format "yaml": use table or json');
  });
});

describe("workflow", () => {
  const written = () => {
    const chain = engine.chains().find((c) => c.some((x) => x.field === "withNewFile"))!;
    const step = chain.find((x) => x.field === "withNewFile")! as Call;
    const file = chain.find((x) => x.field === "file")! as Call;
    return { path: step.args.path, contents: String(step.args.contents), file: file.args.path, root: chain[0]!.field };
  };

  it("writes ci-cd.yml into an empty directory and returns that file", async () => {
    const id = await call("workflow", { module: "github.com/safl/bty-ci@v0.2.0" });
    expect(String(id)).toMatch(/^File:/);
    const w = written();
    expect(w).toMatchObject({ path: "ci-cd.yml", file: "ci-cd.yml", root: "directory" });
    const yaml = parseYaml(w.contents);
    expect(yaml.name).toBe("CI");
    expect(w.contents).toContain("dagger --progress=plain -m github.com/safl/bty-ci@v0.2.0 call all-checks");
  });

  it("an empty module calls bty-ci as a toolchain; an unpinned one is refused before any engine call", async () => {
    await call("workflow", { module: "" });
    expect(written().contents).toContain("dagger --progress=plain call bty-ci all-checks");
    engine.reset();
    await expect(call("workflow", { module: "github.com/safl/bty-ci" })).rejects.toThrow(/has no pinned ref/);
    expect(engine.queries()).toEqual([]);
  });
});

describe("allChecks report formats", () => {
  const failLeg = () =>
    engine.answer("sync", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "from" && String(c.args.address).includes("3.14"))) {
        throw execError({ cmd: ["uv", "run", "--no-sync", "pytest"], exitCode: 1, stdout: "collected 3\n", stderr: "E assert 1 == 2\n== 1 failed ==\n" });
      }
      return undefined;
    });

  it("markdown without failing: every job, the failure's last lines and the failed marker", async () => {
    failLeg();
    const md = (await call("allChecks", { format: "markdown", failOnError: false, ventoy: "Directory:ventoy" })) as string;
    expect(md.split("\n").slice(0, 3)).toEqual(["bty 0.77.2: the checkout given with --source", "", "**all-checks: 1 of 20 failed**"]);
    expect(md).toMatch(/^\| test:py-314 \| ❌ failed \| [\d.]+ s \| `uv run --no-sync pytest` exited 1: == 1 failed == \|$/m);
    expect(md).toMatch(/^\| lint \| ✅ passed \|/m);
    expect(md).toContain("```text\ncollected 3\nE assert 1 == 2\n== 1 failed ==\n```");
    expect(md.split("\n").at(-1)).toBe("<!-- bty-ci-report: failed -->");
  });

  it("fails by default, with the report in the chosen format", async () => {
    failLeg();
    const err = (await call("allChecks", { format: "json", failOnError: true, ventoy: "Directory:ventoy" }).catch((e: Error) => e)) as Error;
    const report = JSON.parse(err.message);
    expect(report.ok).toBe(false);
    expect(report.jobs.find((j: { name: string }) => j.name === "test:py-314").status).toBe("failed");
  });

  it("lists the builds' checksummed artifacts with sizes", async () => {
    engine.answer("glob", (ctx: { args: { pattern: string } }) => (ctx.args.pattern === "SHA256SUMS" ? ["SHA256SUMS"] : []));
    engine.answer("contents", (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "file" && c.args.path === "SHA256SUMS") ? `${SHA}  bty_lab-0.77.2.tar.gz\n` : checkoutFile(ctx),
    );
    engine.answer("size", 4096);
    const report = JSON.parse((await call("allChecks", { format: "json", failOnError: true, ventoy: "Directory:ventoy" })) as string);
    expect(report.ok).toBe(true);
    const byName = Object.fromEntries(report.jobs.map((j: { name: string; artifacts: unknown[] }) => [j.name, j.artifacts]));
    expect(byName["build-wheel"]).toEqual([{ name: "bty_lab-0.77.2.tar.gz", size: 4096, sha256: SHA }]);
    expect(byName.docs).toEqual([{ name: "bty_lab-0.77.2.tar.gz", size: 4096, sha256: SHA }]);
    expect(byName.lint).toEqual([]);
    // The artifacts' globs (the module's own ci/ is listed too, D70).
    const outputs = engine.chains().filter((chain) => chain[0]?.field !== "currentModule");
    const globs = outputs.flat().filter((c) => c.field === "glob").map((c) => c.args.pattern);
    expect([...new Set(globs)].sort()).toEqual(["**/*.sha256", "**/SHA256SUMS", "*.sha256", "SHA256SUMS"]);
  });

  it("refuses an unknown format before any container work", async () => {
    await expect(call("allChecks", { format: "html" })).rejects.toThrow('unknown --format "html": use one of text, markdown, json');
    expect(engine.chains().filter((c) => c.some((x) => x.field === "from"))).toEqual([]);
  });
});

describe("allChecksBundle", () => {
  /** The returned Directory's pipeline: the steps after `directory`. */
  const bundleSteps = (id: unknown) => (engine.pipelineOf(String(id)) ?? []).slice(1);

  it("returns both reports and each passed build's release files under gathered/<group>, the site under docs-html", async () => {
    engine.answer("glob", (ctx: { args: { pattern: string } }) => (ctx.args.pattern === "SHA256SUMS" ? ["SHA256SUMS"] : []));
    engine.answer("contents", (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "file" && c.args.path === "SHA256SUMS") ? `${SHA}  bty_lab-0.77.2.tar.gz\n` : checkoutFile(ctx),
    );
    engine.answer("size", 4096);
    const steps = bundleSteps(await call("allChecksBundle", { ventoy: "Directory:ventoy" }));
    const files = steps.filter((c) => c.field === "withNewFile");
    expect(files.map((c) => c.args.path)).toEqual(["report.md", "report.json"]);
    expect(String(files[0]!.args.contents).split("\n").at(-1)).toBe("<!-- bty-ci-report: passed -->");
    const json = JSON.parse(String(files[1]!.args.contents));
    expect([json.title, json.version, json.ok]).toEqual(["all-checks", "0.77.2", true]);
    expect(json.jobs.find((j: { name: string }) => j.name === "build-wheel").artifacts).toEqual([{ name: "bty_lab-0.77.2.tar.gz", size: 4096, sha256: SHA }]);
    const folders = steps.filter((c) => c.field === "withDirectory").map((c) => [c.args.path, c.args.include]);
    expect(folders).toEqual([
      ["gathered/bty-ipxe-x86_64", ["bty-ipxe-x86_64-v0.77.2.efi", "bty-ipxe-x86_64-v0.77.2.efi.sha256"]],
      ["gathered/bty-netboot-pc-x86_64", [
        "bty-netboot-pc-x86_64-v0.77.2.initrd", "bty-netboot-pc-x86_64-v0.77.2.squashfs", "bty-netboot-pc-x86_64-v0.77.2.vmlinuz", "bty-netboot-pc-x86_64-v0.77.2.sha256",
      ]],
      ["gathered/bty-ramboot-init-x86_64", ["bty-ramboot-init-x86_64-v0.77.2.initrd", "bty-ramboot-init-x86_64-v0.77.2.vmlinuz", "bty-ramboot-init-x86_64-v0.77.2.sha256"]],
      ["gathered/bty-usbboot-pc-x86_64-iso", ["bty-usbboot-pc-x86_64-v0.77.2.iso", "bty-usbboot-pc-x86_64-v0.77.2.iso.sha256"]],
      ["gathered/bty-usbboot-rpi-arm64", ["bty-usbboot-rpi-arm64-v0.77.2.img.gz", "bty-usbboot-rpi-arm64-v0.77.2.img.gz.sha256"]],
      ["gathered/dist", ["bty_lab-0.77.2-py3-none-any.whl", "bty_lab-0.77.2.tar.gz"]],
      ["gathered/docs-pdf", ["bty.pdf"]],
      ["docs-html", ["**"]],
    ]);
    // The site is the docs output's html/ folder.
    const site = steps.find((c) => c.args.path === "docs-html")!;
    expect(engine.pipelineOf(String(site.args.source))?.at(-1)).toMatchObject({ field: "directory", args: { path: "html" } });
  });

  it("a failed build leaves its folder out, and the report says failed; the bundle is still returned", async () => {
    engine.answer("sync", (ctx: { chain: Call[] }) => {
      if (ctx.chain.some((c) => c.field === "withExec" && (c.args.args as string[]).includes("build"))) {
        throw execError({ cmd: ["uv", "build"], exitCode: 1, stderr: "boom\n" });
      }
      return undefined;
    });
    const steps = bundleSteps(await call("allChecksBundle", { ventoy: "Directory:ventoy" }));
    const md = String(steps.find((c) => c.args.path === "report.md")!.args.contents);
    expect(md.split("\n").at(-1)).toBe("<!-- bty-ci-report: failed -->");
    expect(md).toMatch(/^\| build-wheel \| ❌ failed \|/m);
    expect(steps.map((c) => c.args.path)).not.toContain("gathered/dist");
    expect(steps.map((c) => c.args.path)).toContain("gathered/docs-pdf");
  });
});

describe("allChecksBundle: a failed e2e test's debug bundle", () => {
  it("lands under debug/<job>/, from the chain container's bundle folder; the report says failed", async () => {
    const chainFails = (ctx: { chain: Call[] }) =>
      ctx.chain.some((c) => c.field === "withExec" && (c.args.args as string[]).some((a) => String(a).endsWith("chain-test.py")));
    engine.answer("exitCode", (ctx: { chain: Call[] }) => (chainFails(ctx) ? 1 : 0));
    const steps = (engine.pipelineOf(String(await call("allChecksBundle", { ventoy: "Directory:ventoy" }))) ?? []).slice(1);
    const debug = steps.filter((c) => c.field === "withDirectory" && String(c.args.path).startsWith("debug/"));
    expect(debug.map((c) => c.args.path)).toEqual(["debug/test-pxe-bios", "debug/test-pxe-uefi"]);
    for (const d of debug) {
      const source = engine.pipelineOf(String(d.args.source)) ?? [];
      expect(source.at(-1)).toMatchObject({ field: "directory", args: { path: "/pxe/work/bundle" } });
    }
    const md = String(steps.find((c) => c.args.path === "report.md")!.args.contents);
    expect(md).toMatch(/^\| test-pxe:bios \| ❌ failed \|/m);
  });
});

describe("artifacts of nested checksum files", () => {
  it("reads sums next to the files, once per file, sorted by path", async () => {
    engine.answer("glob", (ctx: { args: { pattern: string } }) =>
      ({
        SHA256SUMS: [],
        "**/SHA256SUMS": ["dist/SHA256SUMS"],
        "*.sha256": [],
        "**/*.sha256": ["dist/b.iso.sha256", "dist/SHA256SUMS.sha256"],
      })[ctx.args.pattern] ?? [],
    );
    engine.answer("contents", (ctx: { chain: Call[] }) => {
      const file = ctx.chain.find((c) => c.field === "file")?.args.path;
      if (file === "dist/SHA256SUMS") return `${SHA}  b.iso\n${"d".repeat(64)}  a.whl\n`;
      if (file === "dist/b.iso.sha256") return `${SHA}  b.iso\n`;
      if (file === "dist/SHA256SUMS.sha256") return "";
      return checkoutFile(ctx);
    });
    engine.answer("size", (ctx: { chain: Call[] }) => (ctx.chain.some((c) => c.field === "file" && c.args.path === "dist/a.whl") ? 10 : 20));
    const report = JSON.parse((await call("allChecks", { format: "json", failOnError: true, ventoy: "Directory:ventoy" })) as string);
    expect(report.jobs.find((j: { name: string }) => j.name === "build-wheel").artifacts).toEqual([
      { name: "dist/a.whl", size: 10, sha256: "d".repeat(64) },
      { name: "dist/b.iso", size: 20, sha256: SHA },
    ]);
  });
});

/**
 * Dagger v0.21.8 resolves an argument's `defaultPath` from where the module
 * lives, not from where it is called: a GitRef's to the module's own
 * repository under `-m` and as a toolchain alike, a Directory's to the
 * module's tree under `-m` (the caller's workspace as a toolchain). Seen on a
 * real engine (the engine tier runs two of these lines as printed, the
 * dispatch job's build-wheel and tag-release, in both modes). So every drop-in call
 * passes each such argument explicitly as the checkout, `.`; the constructor's
 * `--source` only matters under `-m`.
 */
describe("the drop-in passes the checkout for every defaultPath argument of what it calls", () => {
  const byCliName = new Map(listFunctions(mod).map((f) => [cliName(f.registeredName), f]));
  const constructorArgs = Object.values(mod.objects[mod.name]!._constructor!.arguments).map(argumentInfo);
  /** The arguments that must be given as `.`: every GitRef with a defaultPath; a Directory's too under -m. */
  const mustBeCheckout = (args: ArgumentInfo[], mode: string) =>
    args.filter((a) => a.defaultPath !== undefined && (a.type === "GitRef" || (mode === "-m" && a.type === "Directory")));

  for (const [mode, module] of [["-m", "github.com/safl/bty-ci@v1.2.3"], ["toolchain", ""]] as const) {
    it(`${mode}: each call's GitRef (and under -m Directory) arguments with a defaultPath are given as .`, () => {
      const wf = parseYaml(workflowYaml(workflowOptions(module))) as { jobs: Record<string, { steps: { run?: string }[] }> };
      const lines = Object.values(wf.jobs)
        .flatMap((j) => j.steps.flatMap((s) => (s.run ?? "").split("\n")))
        .filter((l) => /(^|\s)dagger .* call /.test(l));
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) {
        const words = line.slice(line.indexOf(" call ") + " call ".length).trim().split(/\s+/);
        if (mode === "toolchain") expect(words.shift(), line).toBe("bty-ci");
        const at = words.findIndex((w) => byCliName.has(w));
        expect(at, `${line}: no bty-ci function`).toBeGreaterThanOrEqual(0);
        const given = (from: string[]) => new Map(from.map((w, i) => [w, from[i + 1]]));
        const ctor = given(words.slice(0, at));
        const call = given(words.slice(at + 1));
        for (const a of mustBeCheckout(constructorArgs, mode)) expect(ctor.get(`--${cliName(a.name)}`), `${line}: --${cliName(a.name)}`).toBe(".");
        for (const a of mustBeCheckout(byCliName.get(words[at]!)!.arguments, mode)) {
          expect(call.get(`--${cliName(a.name)}`), `${line}: --${cliName(a.name)}`).toBe(".");
        }
      }
    });
  }
});
