/**
 * Which host name a caller's Service is bound as in the release containers,
 * and the URLs no binding can serve (src/release/endpoint.ts).
 */
import { describe, expect, it } from "vitest";

import { assertUploadsReachIndex, serviceHostName } from "../../src/release/endpoint.js";

describe("serviceHostName", () => {
  it("is the URL's host: one DNS label, port and path aside", () => {
    expect(serviceHostName("--api-url", "--api-service", "http://github-api:8080/api/v3")).toBe("github-api");
    expect(serviceHostName("--index", "--index-service", "http://pypi:8080/simple/")).toBe("pypi");
    expect(serviceHostName("--index", "--index-service", "https://INDEX/simple/")).toBe("index");
  });

  it("refuses hosts a binding cannot take, naming both flags and an example", () => {
    expect(() => serviceHostName("--api-url", "--api-service", "http://localhost:8080/")).toThrow(
      '--api-service is bound under the host name --api-url names, and "localhost" cannot be one (one DNS label, not localhost): ' +
        "pass e.g. --api-url http://release-target:8080/… with --api-service tcp://127.0.0.1:8080",
    );
    for (const url of ["http://127.0.0.1:8080/", "https://api.github.com", "http://[::1]:80/", "http://9lives/"]) {
      expect(() => serviceHostName("--api-url", "--api-service", url), url).toThrow(/cannot be one/);
    }
    expect(() => serviceHostName("--index", "--index-service", "")).toThrow('--index-service needs --index to be a URL naming the service\'s host; got ""');
  });
});

describe("assertUploadsReachIndex", () => {
  it("uploads to the index service's host pass", () => {
    expect(() => assertUploadsReachIndex("http://pypi:8080/simple/", "http://pypi:8080/")).not.toThrow();
  });

  it("no upload URL (PyPI) or another host is refused", () => {
    expect(() => assertUploadsReachIndex("http://pypi:8080/simple/", "")).toThrow(
      '--index-service serves host "pypi", so uploads must go there too: pass --publish-url http://pypi:PORT/… (got none, which is PyPI)',
    );
    expect(() => assertUploadsReachIndex("http://pypi:8080/simple/", "https://upload.index.example/legacy/")).toThrow(
      '(got "https://upload.index.example/legacy/")',
    );
    expect(() => assertUploadsReachIndex("http://localhost/simple/", "http://localhost/")).toThrow(/"localhost" cannot be one/);
  });
});
