/**
 * Payload tier, realistic: every Python-side job's step list runs for real
 * on bty's sdist at BTY_TEST_VERSION from the package index, the way the job containers
 * run it (uv, ruff, mypy, pytest, loop devices, Sphinx + TeX); lint: lint.test.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

import { describe, expect, it } from "vitest";

import { PYTHON_LEGS, PYTHON_MATRIX } from "../../src/config.js";
import { parsePyproject } from "../../src/checkout/project.js";
import {
  buildWheelSteps,
  CHECKSUMS,
  DOCS_OUTPUT,
  docsSteps,
  flashIntegrationSteps,
  testSteps,
  typecheckSteps,
} from "../../src/python/plan.js";
import {
  BTY_TEST_VERSION,
  btyCheckout,
  chrootArgv,
  chrootEnv,
  chrootUnavailable,
  DEBIAN_PYTHON_SUITES,
  debianChroot,
  hostInterpreter,
  hostLayout,
  requireHostPython,
  runHostSteps,
  stepLog,
} from "./host.js";
import { assertInstalled } from "../harness/requirements.js";

/**
 * How each matrix leg runs here: on the host's interpreter of its minor
 * version, else in a Debian chroot of a suite that packages it. A leg that
 * can run neither way fails with the reason: .ci/run installs what the
 * chroot needs, so it is a broken install or a leg without a suite.
 */
const legs = PYTHON_LEGS.map((leg) => {
  const pinned = PYTHON_MATRIX[leg];
  const minor = pinned.split(".").slice(0, 2).join(".");
  const host = hostInterpreter(leg);
  if (host) {
    const patch = host.exact ? "the pinned patch" : `pinned image: ${pinned}`;
    return { leg, minor, how: "host" as const, title: `on host Python ${host.version} (${patch})`, host };
  }
  const suite = DEBIAN_PYTHON_SUITES[leg];
  const noChroot = chrootUnavailable();
  if (suite && !noChroot) {
    return { leg, minor, how: "chroot" as const, title: `in a Debian ${suite} chroot's python${minor} (pinned image: ${pinned})`, suite };
  }
  const reason = suite ? noChroot : `no Debian suite known to package it (add one to DEBIAN_PYTHON_SUITES)`;
  return { leg, minor, how: "missing" as const, title: `(no Python ${minor} on this host)`, reason };
});
const layout = hostLayout(requireHostPython("py312"));

/** The interpreter version uv made bty's environment with (its pyvenv.cfg). */
const venvVersion = (checkout: string) =>
  readFileSync(join(checkout, ".venv/pyvenv.cfg"), "utf8").match(/^version_info = (\S+)$/m)?.[1];

/** pytest's closing line, e.g. "911 passed, 1 skipped, 19 deselected in 70.1s". */
const pytestSummary = (tail: string) => tail.match(/=+ (.*\d+ passed.*) in [\d.]+s/)?.[1];

describe(`bty ${BTY_TEST_VERSION} (its sdist)`, () => {
  const checkout = btyCheckout();
  const { version } = parsePyproject(readFileSync(join(checkout, "pyproject.toml"), "utf8"));

  it("has host interpreters for the 3.11–3.13 legs", () => {
    const onHost = legs.filter((l) => l.how === "host").map((l) => l.leg);
    expect(onHost).toEqual(expect.arrayContaining(["py311", "py312", "py313"]));
  });

  for (const l of legs) {
    it(`test ${l.leg} ${l.title}: ruff, format check and pytest pass`, async () => {
      if (l.how === "missing") assertInstalled(`Python ${l.minor} for the ${l.leg} leg: ${l.reason}`);
      const checkout = btyCheckout();
      let runs;
      let expected: string;
      if (l.how === "host") {
        runs = await runHostSteps(testSteps(hostLayout(l.host.path)), checkout, { logName: `test-${l.leg}` });
        expected = l.host.version;
      } else {
        const chroot = debianChroot(l.leg);
        console.log(`${l.leg}: ${chroot.suite} chroot, Python ${chroot.version}, made in ${chroot.madeInSeconds.toFixed(0)} s`);
        runs = await runHostSteps(testSteps(hostLayout(chroot.python)), checkout, {
          logName: `test-${l.leg}`,
          env: chrootEnv(),
          sandbox: (argv, cwd) => chrootArgv(chroot.root, argv, cwd, { binds: [dirname(checkout)] }),
        });
        expected = chroot.version;
      }
      const summary = pytestSummary(runs.at(-1)!.tail);
      expect(summary).toMatch(/^\d{3,} passed/);
      expect(summary).not.toMatch(/failed|error/);
      // bty ran on the interpreter named in this test's title, of the leg's minor.
      expect(venvVersion(checkout)).toBe(expected);
      expect(expected.startsWith(`${l.minor}.`)).toBe(true);
    });
  }

  it("typecheck: mypy (strict) passes on 3.12", async () => {
    const runs = await runHostSteps(typecheckSteps(layout), btyCheckout(), { logName: "typecheck" });
    expect(runs.at(-1)!.tail).toMatch(/Success: no issues found in \d+ source files/);
  });

  it("build-wheel: wheel and sdist of this version, checksummed", async () => {
    const root = btyCheckout();
    await runHostSteps([...buildWheelSteps(layout), { label: "verify", argv: ["sha256sum", "-c", CHECKSUMS], cwd: "dist" }], root, {
      logName: "build",
    });
    expect(readdirSync(join(root, "dist")).sort()).toEqual([
      CHECKSUMS,
      `bty_lab-${version}-py3-none-any.whl`,
      `bty_lab-${version}.tar.gz`,
    ]);
  });

  it("flash-integration: flash and usb-grow tests pass as root in a container-shaped /dev, deploy tests left to their jobs", async () => {
    const checkout = btyCheckout();
    const runs = await runHostSteps(flashIntegrationSteps(layout), checkout, { logName: "flash", dev: "container" });
    const tail = runs.at(-1)!.tail;
    expect(pytestSummary(tail)).toMatch(/^\d+ passed/);
    expect(pytestSummary(tail)).not.toMatch(/failed|error/);
    // pytest -v's per-test lines, from the whole log (the tail misses most).
    const outcomes = [...readFileSync(stepLog(checkout, "flash"), "utf8").matchAll(/^(tests\/\S+)::\S+ (PASSED|SKIPPED|FAILED|ERROR)/gm)];
    const files = (outcome: string) => new Set(outcomes.filter((m) => m[2] === outcome).map((m) => m[1]));
    // Flash and usb-grow tests ran, nothing skipped; the deploy tests (their
    // own jobs in bty) are not collected at all.
    expect(files("PASSED")).toEqual(new Set(["tests/test_flash_integration.py", "tests/test_usb_grow_integration.py"]));
    expect(files("SKIPPED")).toEqual(new Set());
    expect(outcomes.filter((m) => m[1] === "tests/test_deploy_integration.py")).toEqual([]);
  });

  it("docs: HTML site and bty.pdf, checksummed", async () => {
    const root = btyCheckout();
    await runHostSteps(docsSteps(layout), root, { logName: "docs" });
    const bundle = join(root, DOCS_OUTPUT.bundle);
    expect(existsSync(join(bundle, "html/index.html"))).toBe(true);
    const pdf = readFileSync(join(bundle, "bty.pdf"));
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(statSync(join(bundle, "bty.pdf")).size).toBeGreaterThan(100_000);
    expect(readFileSync(join(bundle, CHECKSUMS), "utf8")).toMatch(/^[0-9a-f]{64} {2}bty\.pdf\n$/);
  });
});
