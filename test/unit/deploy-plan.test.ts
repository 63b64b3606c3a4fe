/**
 * deploy-integration as data (src/deploy/plan.ts): the commands of bty's
 * workflow job deploy-integration (`uv sync --all-extras --group dev`,
 * podman-compose, `pytest -m integration tests/test_deploy_integration.py
 * -v -k "not quadlet"`) in bty-ci's podman environment, the images it loads,
 * the inputs it refuses to run without and the sidecars' pinned sdists.
 * Expectations are literals, not computed by plan.ts.
 */
import { describe, expect, it } from "vitest";

import {
  checkDeployInputs,
  checkStackImages,
  deployIntegrationSteps,
  imageArgs,
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
