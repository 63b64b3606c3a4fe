import { describe, expect, it, vi } from "vitest";

import {
  IMAGE_RECIPES,
  imagePlan,
  isTransientPushError,
  registryHost,
  type ReleaseInputs,
  validateCredentials,
  validateRelease,
  wheelName,
  withRetries,
} from "../../src/release/image-plan.js";

const SHA = "f3cab0c3012fbb4dc6f0b2ed30d506bc9c2506bd";
const NOW = new Date("2026-07-12T10:11:12.345Z");
const inputs = (over: Partial<ReleaseInputs> = {}): ReleaseInputs => ({
  tag: "v0.77.2",
  version: "0.77.2",
  revision: SHA,
  created: "",
  repository: "ghcr.io/safl/bty-web",
  sourceUrl: "https://github.com/safl/bty",
  platforms: ["linux/amd64", "linux/arm64"],
  ...over,
});

describe("image recipes (as bty's workflow stages them)", () => {
  it("bty-web: repo-root context trimmed to docker/ plus the wheel in dist/, seed at docker/seed/ipxe.efi", () => {
    expect(IMAGE_RECIPES.web).toEqual({
      name: "bty-web",
      context: { docker: "docker" },
      dockerfile: "docker/Dockerfile",
      seed: { path: "docker/seed/ipxe.efi" },
      wheelDir: "dist",
      versionBuildArg: true,
    });
  });

  it("bty-tftp: deploy/tftp as context, its Containerfile, seed at seed/ipxe.efi, no build args", () => {
    expect(IMAGE_RECIPES.tftp).toEqual({
      name: "bty-tftp",
      context: { "deploy/tftp": "." },
      dockerfile: "Containerfile",
      seed: { path: "seed/ipxe.efi" },
      versionBuildArg: false,
    });
  });

  it("names the wheel as uv build does", () => {
    expect(wheelName("0.77.2")).toBe("bty_lab-0.77.2-py3-none-any.whl");
  });
});

describe("imagePlan", () => {
  it("bty-web: both platforms, BTY_VERSION, the four OCI labels, version then latest", () => {
    expect(imagePlan("web", inputs({ created: "2026-07-12T09:00:00Z" }), NOW)).toEqual({
      kind: "web",
      recipe: IMAGE_RECIPES.web,
      platforms: ["linux/amd64", "linux/arm64"],
      buildArgs: [{ name: "BTY_VERSION", value: "0.77.2" }],
      labels: {
        "org.opencontainers.image.source": "https://github.com/safl/bty",
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.version": "0.77.2",
        "org.opencontainers.image.created": "2026-07-12T09:00:00Z",
      },
      refs: ["ghcr.io/safl/bty-web:0.77.2", "ghcr.io/safl/bty-web:latest"],
      wheel: "dist/bty_lab-0.77.2-py3-none-any.whl",
    });
  });

  it("bty-tftp: no build args, no wheel, labels all the same", () => {
    const plan = imagePlan("tftp", inputs({ repository: "ghcr.io/safl/bty-tftp" }), NOW);
    expect(plan.buildArgs).toEqual([]);
    expect(plan.wheel).toBeUndefined();
    expect(plan.refs).toEqual(["ghcr.io/safl/bty-tftp:0.77.2", "ghcr.io/safl/bty-tftp:latest"]);
    expect(plan.labels["org.opencontainers.image.version"]).toBe("0.77.2");
  });

  it("stamps created with now (UTC, whole seconds) when not given", () => {
    expect(imagePlan("web", inputs(), NOW).labels["org.opencontainers.image.created"]).toBe("2026-07-12T10:11:12Z");
  });

  it("a pre-release is pushed under its version only: latest stays on the last final release", () => {
    for (const version of ["0.78.0rc1", "0.78.0a2", "0.78.0b1", "0.78.0.dev3", "0.78.0rc12"]) {
      const plan = imagePlan("web", inputs({ tag: `v${version}`, version }), NOW);
      expect(plan.refs).toEqual([`ghcr.io/safl/bty-web:${version}`]);
    }
    for (const version of ["0.77.2", "1.0", "0.77.2.post1", "1!2.0"]) {
      expect(imagePlan("web", inputs({ tag: `v${version}`, version }), NOW).refs, version).toEqual([
        `ghcr.io/safl/bty-web:${version}`,
        `ghcr.io/safl/bty-web:latest`,
      ]);
    }
  });

  it("keeps a registry port in refs and finds the registry host", () => {
    const plan = imagePlan("tftp", inputs({ repository: "127.0.0.1:5000/safl/bty-tftp" }), NOW);
    expect(plan.refs[0]).toBe("127.0.0.1:5000/safl/bty-tftp:0.77.2");
    expect(registryHost("127.0.0.1:5000/safl/bty-tftp")).toBe("127.0.0.1:5000");
    expect(registryHost("ghcr.io/safl/bty-web")).toBe("ghcr.io");
  });
});

describe("validateRelease refuses bad input, naming the fix", () => {
  it("accepts bty's release inputs", () => {
    expect(() => validateRelease(inputs())).not.toThrow();
    expect(() => validateRelease(inputs({ revision: "f3cab0c" }))).not.toThrow();
    expect(() => validateRelease(inputs({ created: "2026-07-12T10:00:00.5+02:00" }))).not.toThrow();
    expect(() => validateRelease(inputs({ repository: "registry.local:5000/a/b_c/d-e" }))).not.toThrow();
  });

  // The rules of the GitHub release and PyPI (version.ts), so no version
  // gets an image that the other two refuse.
  it("a tag that is not v<version>", () => {
    expect(() => validateRelease(inputs({ tag: "v0.77.3" }))).toThrow(
      'tag "v0.77.3" does not match pyproject.toml\'s version 0.77.2: release tag v0.77.2, or bump [project] version to the tag\'s version',
    );
    expect(() => validateRelease(inputs({ tag: "0.77.2" }))).toThrow(/does not match/);
  });

  it("a version that is not PEP 440", () => {
    expect(() => validateRelease(inputs({ tag: "vlatest", version: "latest" }))).toThrow(
      'version "latest" is not a PEP 440 version: set [project] version in pyproject.toml to a release like "0.77.2" (or "0.78.0rc1")',
    );
  });

  it("a version not in canonical form, which the wheel and the index would spell otherwise", () => {
    expect(() => validateRelease(inputs({ tag: "v0.77.2RC1", version: "0.77.2RC1" }))).toThrow(
      'version "0.77.2RC1" is not in canonical PEP 440 form: write "0.77.2rc1" in pyproject.toml',
    );
  });

  it("a local version, which no registry accepts as a tag", () => {
    expect(() => validateRelease(inputs({ tag: "v0.77.2+g1", version: "0.77.2+g1" }))).toThrow(
      'version "0.77.2+g1" has a local segment (+…), which package indexes refuse: drop it',
    );
  });

  it("a revision that is not a commit id", () => {
    for (const revision of ["", "main", "F3CAB0C", "abc12"]) {
      expect(() => validateRelease(inputs({ revision })), revision).toThrow(
        `revision "${revision}" is not a commit id: pass --revision with the full SHA the tag points at (GITHUB_SHA, or \`git rev-parse HEAD\`)`,
      );
    }
  });

  it("a created time that is not RFC 3339", () => {
    for (const created of ["yesterday", "2026-07-12", "2026-07-12 10:00:00Z", "2026-07-12T10:00:00"]) {
      expect(() => validateRelease(inputs({ created })), created).toThrow(/is not an RFC 3339 time/);
    }
  });

  it("a repository with a tag, upper case or no namespace", () => {
    for (const repository of ["ghcr.io/safl/bty-web:1", "ghcr.io/Safl/bty-web", "bty-web", "ghcr.io/safl/bty-web@sha256:00"]) {
      expect(() => validateRelease(inputs({ repository })), repository).toThrow(
        `image repository "${repository}" is not host/namespace/name in lower case without a tag: pass e.g. ghcr.io/safl/bty-web (tags are added by bty-ci)`,
      );
    }
  });

  it("a source URL that is not http(s)", () => {
    for (const sourceUrl of ["github.com/safl/bty", "see https://github.com/safl/bty", "https://github.com/safl/bty and more"]) {
      expect(() => validateRelease(inputs({ sourceUrl })), sourceUrl).toThrow(`source URL "${sourceUrl}" is not an http(s) URL: pass the repository's web address`);
    }
    // A self-hosted forge on plain http is a web address too.
    expect(() => validateRelease(inputs({ sourceUrl: "http://forge.lan/safl/bty" }))).not.toThrow();
  });

  it("no platforms or a non-linux platform", () => {
    expect(() => validateRelease(inputs({ platforms: [] }))).toThrow(/are not linux\/<arch> platforms/);
    expect(() => validateRelease(inputs({ platforms: ["linux/amd64", "windows/amd64"] }))).toThrow(/linux\/<arch>/);
    expect(() => validateRelease(inputs({ platforms: ["linux/arm/v7", "linux/riscv64"] }))).not.toThrow();
  });
});

describe("validateCredentials", () => {
  it("passes with a user and a token", () => {
    expect(() => validateCredentials("ghcr.io/safl/bty-web", { username: "safl", hasToken: true })).not.toThrow();
  });

  it("names each missing argument and the registry", () => {
    expect(() => validateCredentials("ghcr.io/safl/bty-web", { username: "", hasToken: false })).toThrow(
      "no credentials for ghcr.io: pass --registry-user and --registry-token",
    );
    expect(() => validateCredentials("ghcr.io/safl/bty-web", { username: "  ", hasToken: true })).toThrow(
      "no credentials for ghcr.io: pass --registry-user (",
    );
    expect(() => validateCredentials("ghcr.io/safl/bty-web", { username: "safl", hasToken: false })).toThrow(
      "no credentials for ghcr.io: pass --registry-token (",
    );
  });
});

describe("isTransientPushError: which push failures are worth another try", () => {
  // One message per pattern, each matched by that pattern alone.
  it.each([
    "failed to authorize: DeadlineExceeded", // bty v0.55.0
    "context deadline exceeded",
    "dial tcp 140.82.112.33:443: i/o timeout",
    "net/http: TLS handshake timed out",
    "read tcp: connection reset by peer",
    "dial tcp 127.0.0.1:5000: connect: connection refused",
    "connection closed before message completed",
    "write: broken pipe",
    "failed commit on ref: unexpected EOF",
    "unexpected status from PUT request: 502",
    "unexpected status: 503",
    "status 504",
    "status 429",
    "status 500",
    "Too Many Requests",
    "Bad Gateway",
    "Service Unavailable",
    "Internal Server Error",
    "dial tcp: lookup ghcr.io: Temporary failure in name resolution",
    "connect: no route to host",
    "connect: network is unreachable",
    "fetch failed: connect ECONNREFUSED 127.0.0.1:5000",
    "socket hang up ECONNRESET",
    "getaddrinfo EAI_AGAIN ghcr.io",
    "write EPIPE",
    "connect ETIMEDOUT",
  ])("transient: %s", (message) => {
    expect(isTransientPushError(message)).toBe(true);
  });

  // A refusal wins over a network symptom in the same message: each pattern
  // is paired with a transient one, so only that pattern makes it permanent.
  it.each([
    "unauthorized: i/o timeout",
    "denied: requested access to the resource is denied, i/o timeout",
    "forbidden, i/o timeout",
    "status 401, i/o timeout",
    "status 403, i/o timeout",
    "authentication required, i/o timeout",
    "name invalid: repository name must be lowercase, i/o timeout",
    "manifest invalid, i/o timeout",
    "tag invalid, i/o timeout",
    "reference invalid, i/o timeout",
    "invalid reference format, i/o timeout",
    "unsupported media type, i/o timeout",
  ])("permanent: %s", (message) => {
    expect(isTransientPushError(message)).toBe(false);
  });

  it("an error that names neither is not retried", () => {
    expect(isTransientPushError("no such file or directory")).toBe(false);
  });
});

describe("withRetries", () => {
  const noSleep = vi.fn(async (_ms: number) => {});

  it("returns the first success without pausing", async () => {
    const sleep = vi.fn(async (_ms: number) => {});
    await expect(withRetries(async () => "ok", { delaysMs: [1, 2], sleep })).resolves.toBe("ok");
    expect(sleep).not.toHaveBeenCalled();
  });

  it("retries transient errors after each delay in turn, reporting each retry", async () => {
    const sleep = vi.fn(async (_ms: number) => {});
    const onRetry = vi.fn();
    let n = 0;
    const attempt = async () => {
      n++;
      if (n < 3) throw new Error(`503 Service Unavailable #${n}`);
      return `pushed after ${n}`;
    };
    await expect(withRetries(attempt, { delaysMs: [5, 20, 60], sleep, onRetry })).resolves.toBe("pushed after 3");
    expect(sleep.mock.calls).toEqual([[5], [20]]);
    expect(onRetry.mock.calls).toEqual([
      [{ attempt: 1, delayMs: 5, error: "503 Service Unavailable #1" }],
      [{ attempt: 2, delayMs: 20, error: "503 Service Unavailable #2" }],
    ]);
  });

  it("gives up after the last delay with every attempt's error", async () => {
    let n = 0;
    const attempt = async () => {
      throw new Error(`connection refused #${++n}`);
    };
    const err = await withRetries(attempt, { delaysMs: [1, 1], sleep: noSleep }).catch((e: Error) => e);
    expect(n).toBe(3);
    expect((err as Error).message).toBe(
      "still failing after every retry:\nattempt 1: connection refused #1\nattempt 2: connection refused #2\nattempt 3: connection refused #3",
    );
  });

  it("does not retry a permanent error", async () => {
    let n = 0;
    const attempt = async () => {
      n++;
      throw new Error("401 Unauthorized");
    };
    const err = await withRetries(attempt, { delaysMs: [1, 1], sleep: noSleep }).catch((e: Error) => e);
    expect(n).toBe(1);
    expect((err as Error).message).toBe("not a transient error:\nattempt 1: 401 Unauthorized");
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it("takes a custom decision and a non-Error rejection", async () => {
    let n = 0;
    const attempt = async () => {
      if (++n === 1) throw "flaky"; // eslint-disable-line no-throw-literal
      return n;
    };
    await expect(withRetries(attempt, { delaysMs: [1], sleep: noSleep, isTransient: (m) => m === "flaky" })).resolves.toBe(2);
  });

  it("pauses for real when no sleep is given", async () => {
    vi.useFakeTimers();
    try {
      let n = 0;
      const done = withRetries(
        async () => {
          if (++n === 1) throw new Error("EOF");
          return n;
        },
        { delaysMs: [1000] },
      );
      await vi.advanceTimersByTimeAsync(999);
      expect(n).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      await expect(done).resolves.toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
