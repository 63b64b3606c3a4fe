/**
 * deploy-integration as data (src/deploy/plan.ts): the commands of bty's
 * workflow job deploy-integration (`uv sync --all-extras --group dev`,
 * podman-compose, `pytest -m integration tests/test_deploy_integration.py
 * -v -k "not quadlet"`) in bty-ci's podman environment, the images it loads,
 * the inputs it refuses to run without and the sidecars' pinned sdists.
 * Expectations are literals, not computed by plan.ts.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { QUADLET } from "../../src/config.js";
import {
  checkDeployInputs,
  checkQuadletInputs,
  checkStackImages,
  deployIntegrationSteps,
  imageArgs,
  quadletImageRefs,
  quadletIntegrationSteps,
  type QuadletPaths,
  quadletPinnedVersion,
  quadletTestSteps,
  sidecarSdist,
  sidecarSourceSteps,
} from "../../src/deploy/plan.js";
import type { Layout } from "../../src/python/plan.js";

const layout: Layout = { ciDir: "/opt/ci", python: "/usr/bin/python3.12", customIndex: false };
const TARBALLS = { "bty-web": "/img/web.tar", withcache: "/img/wc.tar", nbdmux: "/img/nm.tar" };
const PYTEST = ["uv", "run", "--no-sync", "pytest", "-m", "integration", "tests/test_deploy_integration.py", "-v", "-k", "not quadlet", "-rs", "--junitxml", "/tmp/j.xml"];
const JUDGE = ["python3", "/opt/ci/pytest-skips.py", "/tmp/j.xml", "--allow", "test_trio_ramboot_e2e_image_native_kernel=ports already in use: [8899]"];

describe("deployIntegrationSteps", () => {
  it("built images: sync, podman-compose pinned, pytest in podman-env.sh with every image (privileged), then the skip judge", () => {
    const steps = deployIntegrationSteps(layout, { podmanState: "/state", junit: "/tmp/j.xml", tarballs: TARBALLS });
    expect(steps.map((s) => s.argv)).toEqual([
      ["uv", "sync", "--locked", "--all-extras", "--group", "dev", "--python", "/usr/bin/python3.12"],
      ["uv", "tool", "install", "--python", "/usr/bin/python3.12", "podman-compose==1.6.0"],
      [
        "bash", "/opt/ci/deploy/podman-env.sh", "--state", "/state",
        "--image", "ghcr.io/safl/bty-web:latest=/img/web.tar",
        "--image", "ghcr.io/safl/withcache:latest=/img/wc.tar",
        "--image", "ghcr.io/safl/nbdmux:latest=/img/nm.tar",
        "--", ...PYTEST,
      ],
      JUDGE,
    ]);
    // The labels the payload test and the logs name the steps by.
    expect(steps.map((s) => s.label)).toEqual(["uv sync", "podman-compose", "pytest deploy integration", "no silent skips"]);
    // Only pytest (podman) needs root capabilities; nothing sets step environment.
    expect(steps.map((s) => s.privileged === true)).toEqual([false, false, true, false]);
    expect(steps.map((s) => s.env)).toEqual([undefined, undefined, undefined, undefined]);
    expect(steps.map((s) => s.cwd)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("published images: no --image argument, the rest unchanged", () => {
    const steps = deployIntegrationSteps(layout, { podmanState: "/state", junit: "/tmp/j.xml", tarballs: {} });
    expect(steps[2]!.argv).toEqual(["bash", "/opt/ci/deploy/podman-env.sh", "--state", "/state", "--", ...PYTEST]);
    expect(steps[3]!.argv).toEqual(JUDGE);
  });

  it("a custom index re-resolves instead of asserting bty's lock", () => {
    const steps = deployIntegrationSteps({ ...layout, customIndex: true }, { podmanState: "/s", junit: "/j", tarballs: {} });
    expect(steps[0]!.argv).toEqual(["uv", "sync", "--all-extras", "--group", "dev", "--python", "/usr/bin/python3.12"]);
  });
});

describe("imageArgs", () => {
  it("one --image REF=TARBALL per tarball, in stack order (bty-web, withcache, nbdmux) whatever order they are given in", () => {
    expect(imageArgs({ nbdmux: "/n.tar", "bty-web": "/w.tar", withcache: "/c.tar" })).toEqual([
      "--image", "ghcr.io/safl/bty-web:latest=/w.tar",
      "--image", "ghcr.io/safl/withcache:latest=/c.tar",
      "--image", "ghcr.io/safl/nbdmux:latest=/n.tar",
    ]);
  });

  it("leaves out an image without a tarball (podman-compose pulls it), and an empty path", () => {
    expect(imageArgs({ nbdmux: "/n.tar" })).toEqual(["--image", "ghcr.io/safl/nbdmux:latest=/n.tar"]);
    expect(imageArgs({ "bty-web": "/w.tar", nbdmux: "/n.tar" })).toEqual([
      "--image", "ghcr.io/safl/bty-web:latest=/w.tar",
      "--image", "ghcr.io/safl/nbdmux:latest=/n.tar",
    ]);
    expect(imageArgs({ withcache: "" })).toEqual([]);
    expect(imageArgs({})).toEqual([]);
  });
});

describe("checkStackImages", () => {
  it("takes built and published", () => {
    expect(checkStackImages("built")).toBe("built");
    expect(checkStackImages("published")).toBe("published");
  });

  it.each(["bogus", "", "Built", " built", "latest"])("refuses %j, naming both choices", (images) => {
    expect(() => checkStackImages(images)).toThrow(
      `unknown --images "${images}": use "built" (this checkout's bty-web, the pinned sidecar sdists) or "published" (bty's ghcr.io latest images)`,
    );
  });
});

describe("checkDeployInputs", () => {
  const all = { tests: true, deployModule: true, webDockerfile: true };
  const refusal = (missing: string) =>
    `the checkout has no ${missing}: deploy-integration runs bty's own compose lifecycle test on its own deploy module; ` +
    "pass --source with a bty checkout that has them";

  it("built images need the test file, bty.deploy and bty-web's Dockerfile", () => {
    expect(() => checkDeployInputs(all, "built")).not.toThrow();
    expect(() => checkDeployInputs({ ...all, tests: false }, "built")).toThrow(refusal("tests/test_deploy_integration.py"));
    expect(() => checkDeployInputs({ ...all, deployModule: false }, "built")).toThrow(refusal("src/bty/deploy.py"));
    expect(() => checkDeployInputs({ ...all, webDockerfile: false }, "built")).toThrow(refusal("docker/Dockerfile"));
  });

  it("published images need no Dockerfile, still the test file and bty.deploy", () => {
    expect(() => checkDeployInputs({ ...all, webDockerfile: false }, "published")).not.toThrow();
    expect(() => checkDeployInputs({ ...all, tests: false }, "published")).toThrow(refusal("tests/test_deploy_integration.py"));
    expect(() => checkDeployInputs({ ...all, deployModule: false, webDockerfile: false }, "published")).toThrow(refusal("src/bty/deploy.py"));
  });

  it("names every missing file at once, in a fixed order", () => {
    const none = { tests: false, deployModule: false, webDockerfile: false };
    expect(() => checkDeployInputs(none, "built")).toThrow(refusal("tests/test_deploy_integration.py, src/bty/deploy.py, docker/Dockerfile"));
    expect(() => checkDeployInputs(none, "published")).toThrow(refusal("tests/test_deploy_integration.py, src/bty/deploy.py"));
  });
});

describe("the sidecars' sdists", () => {
  it("are named as the package index names them, at the pinned versions", () => {
    expect(sidecarSdist("withcache")).toBe("withcache-0.13.3.tar.gz");
    expect(sidecarSdist("nbdmux")).toBe("nbdmux-0.9.2.tar.gz");
  });

  it("withcache: downloaded without dependencies or wheels, checked against the pinned sha256, unpacked as the build context", () => {
    const steps = sidecarSourceSteps("withcache", "/w");
    expect(steps.map((s) => s.argv)).toEqual([
      ["pip", "download", "--no-deps", "--no-binary", ":all:", "--dest", "/w/sdist", "withcache==0.13.3"],
      ["sh", "-c", 'cd /w/sdist && echo "5b835d83060f8accb93e0a7d4f37d266c087205127e59e4d3777d64063f9ce45  withcache-0.13.3.tar.gz" | sha256sum --check --strict'],
      ["sh", "-c", "mkdir -p /w/src && tar -xzf /w/sdist/withcache-0.13.3.tar.gz -C /w/src --strip-components=1"],
    ]);
    expect(steps.map((s) => s.label)).toEqual(["download withcache-0.13.3.tar.gz", "sha256 withcache-0.13.3.tar.gz", "unpack withcache-0.13.3.tar.gz"]);
    expect(steps.some((s) => s.privileged)).toBe(false);
  });

  it("nbdmux: the same with its own version and sha256", () => {
    expect(sidecarSourceSteps("nbdmux", "/tmp/nbdmux").map((s) => s.argv)).toEqual([
      ["pip", "download", "--no-deps", "--no-binary", ":all:", "--dest", "/tmp/nbdmux/sdist", "nbdmux==0.9.2"],
      ["sh", "-c", 'cd /tmp/nbdmux/sdist && echo "aaec9854036feb7fa4295ab4796dff1d43971468b4bdd5d1a7f6c74bf7d45224  nbdmux-0.9.2.tar.gz" | sha256sum --check --strict'],
      ["sh", "-c", "mkdir -p /tmp/nbdmux/src && tar -xzf /tmp/nbdmux/sdist/nbdmux-0.9.2.tar.gz -C /tmp/nbdmux/src --strip-components=1"],
    ]);
  });
});

// ---- deploy-quadlet-integration ---------------------------------------------------

/** bty 0.77.2's quadlet test, as far as the pin (tests/test_deploy_integration.py). */
const QUADLET_SOURCE = [
  "def test_deploy_lifecycle(compose_env):",
  '    monkeypatch.setattr(other, "__version__", "9.9.9")',
  "",
  "@pytest.mark.integration",
  "def test_deploy_purge_redeploy_quadlet_lifecycle(",
  "    quadlet_deploy_dest: Path,",
  "    monkeypatch: pytest.MonkeyPatch,",
  ") -> None:",
  "    import bty",
  '    monkeypatch.setattr(bty, "__version__", "0.65.2")',
  '    monkeypatch.setattr(deploy_mod, "__version__", "0.65.2", raising=False)',
  "",
  "def test_after():",
  '    monkeypatch.setattr(bty, "__version__", "1.0.0")',
].join("\n");

describe("quadletPinnedVersion", () => {
  it("reads the version bty's quadlet test pins bty.__version__ to, from that test alone", () => {
    expect(quadletPinnedVersion(QUADLET_SOURCE)).toBe("0.65.2");
    expect(quadletPinnedVersion(QUADLET_SOURCE.replace('(bty, "__version__", "0.65.2")', "(bty, '__version__', '0.70.1')"))).toBe("0.70.1");
    // However the call is spaced, and with the test first in the file.
    expect(quadletPinnedVersion(QUADLET_SOURCE.replace('(bty, "__version__", "0.65.2")', '(bty,"__version__","0.71.0")'))).toBe("0.71.0");
    expect(quadletPinnedVersion(QUADLET_SOURCE.replace('(bty, "__version__", "0.65.2")', '( bty , "__version__" ,  "0.72.0" )'))).toBe("0.72.0");
    expect(quadletPinnedVersion(QUADLET_SOURCE.slice(QUADLET_SOURCE.indexOf("def test_deploy_purge")))).toBe("0.65.2");
  });

  it("refuses a test file without the quadlet test, naming the test and the fix", () => {
    expect(() => quadletPinnedVersion("def test_other():\n    pass\n")).toThrow(
      "tests/test_deploy_integration.py has no test_deploy_purge_redeploy_quadlet_lifecycle: deploy-quadlet-integration runs that test; pass --source with a bty checkout that has it",
    );
  });

  it("refuses a quadlet test that pins no version (another test's pin does not count)", () => {
    const unpinned = QUADLET_SOURCE.replace('    monkeypatch.setattr(bty, "__version__", "0.65.2")\n', "");
    expect(() => quadletPinnedVersion(unpinned)).toThrow(/no longer pins bty\.__version__ .*teach quadletPinnedVersion in src\/deploy\/plan\.ts/);
  });

  it("a commented-out pin is no pin; the body ends at the next line in column 0, whatever it is", () => {
    const commented = QUADLET_SOURCE.replace('    monkeypatch.setattr(bty, "__version__", "0.65.2")', '    # monkeypatch.setattr(bty, "__version__", "0.65.2")');
    expect(() => quadletPinnedVersion(commented)).toThrow(/no longer pins/);
    const unpinned = QUADLET_SOURCE.replace('    monkeypatch.setattr(bty, "__version__", "0.65.2")\n', "");
    for (const after of ["class TestLater:\n    def test(self):\n", "async def later():\n", "PIN = 1\n", "@pytest.fixture\ndef fx():\n"]) {
      const source = unpinned.replace("def test_after():\n", `${after}`) + '\n    monkeypatch.setattr(bty, "__version__", "9.9.9")\n';
      expect(() => quadletPinnedVersion(source), after).toThrow(/no longer pins/);
    }
    // A comment or a blank line in column 0 inside the body does not end it.
    const inside = QUADLET_SOURCE.replace("    import bty\n", "    import bty\n# a comment\n\n");
    expect(quadletPinnedVersion(inside)).toBe("0.65.2");
  });
});

describe("quadletImageRefs", () => {
  it("bty-web and bty-tftp at the pinned version, the sidecars latest, in unit order", () => {
    expect(quadletImageRefs("0.65.2")).toEqual({
      "bty-web": "ghcr.io/safl/bty-web:0.65.2",
      withcache: "ghcr.io/safl/withcache:latest",
      nbdmux: "ghcr.io/safl/nbdmux:latest",
      "bty-tftp": "ghcr.io/safl/bty-tftp:0.65.2",
    });
  });
});

describe("checkQuadletInputs", () => {
  const all = { tests: true, deployModule: true, webDockerfile: true, tftpContainerfile: true };
  it("built images need the test file, bty.deploy and both recipes", () => {
    expect(() => checkQuadletInputs(all, "built")).not.toThrow();
    expect(() => checkQuadletInputs({ ...all, tftpContainerfile: false }, "built")).toThrow(
      "the checkout has no deploy/tftp/Containerfile: deploy-quadlet-integration runs bty's own quadlet lifecycle test on its own deploy module and images built from its recipes; pass --source with a bty checkout that has them",
    );
  });

  it("published images need neither recipe; names every missing file at once", () => {
    expect(() => checkQuadletInputs({ ...all, webDockerfile: false, tftpContainerfile: false }, "published")).not.toThrow();
    expect(() => checkQuadletInputs({ tests: false, deployModule: false, webDockerfile: false, tftpContainerfile: false }, "published")).toThrow(
      "the checkout has no tests/test_deploy_integration.py, src/bty/deploy.py: deploy-quadlet-integration runs bty's own quadlet lifecycle test on its own deploy module; pass",
    );
  });
});

describe("quadletIntegrationSteps", () => {
  const paths: QuadletPaths = {
    root: "/",
    bundle: "/out/bundle",
    junit: "/out/j.xml",
    tarballs: { "bty-web": "/i/w.tar", withcache: "/i/c.tar", nbdmux: "/i/n.tar", "bty-tftp": "/i/t.tar" },
    refs: { "bty-web": "r/web:1", withcache: "r/wc:latest", nbdmux: "r/nm:latest", "bty-tftp": "r/tftp:1" },
    binds: ["/out", "/src2"],
    workdir: "/src",
    env: { PATH: "/bin", UV_NO_PROGRESS: "1" },
    timeoutSeconds: 600,
  };

  it("sync, podman-compose pinned, bty's quadlet test alone in quadlet-run.sh (privileged, the bundle from there on), then the skip judge with no allowance", () => {
    const steps = quadletIntegrationSteps(layout, paths);
    expect(steps.map((s) => [s.label, s.privileged ?? false, s.writesBundle ?? false])).toEqual([
      ["uv sync", false, false],
      ["podman-compose", false, false],
      ["pytest quadlet integration", true, true],
      ["no silent skips", false, false],
    ]);
    expect(steps.slice(0, 2).map((s) => s.argv)).toEqual([
      ["uv", "sync", "--locked", "--all-extras", "--group", "dev", "--python", "/usr/bin/python3.12"],
      ["uv", "tool", "install", "--python", "/usr/bin/python3.12", "podman-compose==1.6.0"],
    ]);
    expect(steps[2]!.argv).toEqual([
      "bash", "/opt/ci/deploy/quadlet-run.sh", "--root", "/", "--bundle", "/out/bundle", "--timeout", "600",
      "--image", "r/web:1=/i/w.tar", "--image", "r/wc:latest=/i/c.tar", "--image", "r/nm:latest=/i/n.tar", "--image", "r/tftp:1=/i/t.tar",
      "--bind", "/out", "--bind", "/src2", "--workdir", "/src", "--env", "PATH=/bin", "--env", "UV_NO_PROGRESS=1",
      "--", "uv", "run", "--no-sync", "pytest", "-m", "integration",
      "tests/test_deploy_integration.py::test_deploy_purge_redeploy_quadlet_lifecycle", "-v", "-rs", "--junitxml", "/out/j.xml",
    ]);
    expect(steps[3]!.argv).toEqual(["python3", "/opt/ci/pytest-skips.py", "/out/j.xml"]);
    expect(quadletTestSteps(layout, paths)).toEqual(steps.slice(2));
  });
});

describe("the quadlet root's packages", () => {
  it("are the same in quadlet-root.sh (the payload tier's root) and in the job container (config.ts)", () => {
    const script = readFileSync(resolve(import.meta.dirname, "../../ci/deploy/quadlet-root.sh"), "utf8");
    const listed = /^PACKAGES=\(\n([\s\S]*?)\n\)$/m.exec(script)![1]!.split(/\s+/).filter(Boolean);
    expect(listed).toEqual([...QUADLET.packages]);
  });
});
