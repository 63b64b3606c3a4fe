/**
 * The payload tier's defences against third-party releases: uv.lock to pip
 * constraints, withcache's constraints file, and access logs read by meaning.
 */
import { readFileSync } from "node:fs";

import { describe, expect, it } from "vitest";

import { accessedRequests, requestsFor } from "../payload/access-log.js";
import { constraintLines, constraintsKey, uvLockConstraints, WITHCACHE_CONSTRAINTS, WITHCACHE_VERSION } from "../payload/python-lock.js";

const LOCK = `version = 1
requires-python = ">=3.11"

[[package]]
name = "bty-lab"
version = "0.77.2"
source = { editable = "." }

[[package]]
name = "uvicorn"
version = "0.46.0"
source = { registry = "https://index.example/simple" }

[[package]]
name = "fastapi"
version = "0.136.1"
source = { registry = "https://index.example/simple" }

[[package]]
name = "localdep"
version = "1.0"
source = { directory = "vendor/localdep" }
`;

describe("uvLockConstraints", () => {
  it("pins every package taken from an index, in the lock's order, and leaves the project and local sources out", () => {
    expect(uvLockConstraints(LOCK)).toEqual(["uvicorn==0.46.0", "fastapi==0.136.1"]);
  });

  it("refuses a lock that forks one package into two versions, naming both", () => {
    const forked = `${LOCK}\n[[package]]\nname = "uvicorn"\nversion = "0.55.0"\nsource = { registry = "https://index.example/simple" }\n`;
    expect(() => uvLockConstraints(forked)).toThrow("uv.lock holds uvicorn at 0.46.0 and 0.55.0: constraints need one version per package");
  });

  it("takes the same version listed twice (one package under two markers)", () => {
    const twice = `${LOCK}\n[[package]]\nname = "uvicorn"\nversion = "0.46.0"\nsource = { registry = "https://index.example/simple" }\n`;
    expect(uvLockConstraints(twice)).toEqual(["uvicorn==0.46.0", "fastapi==0.136.1"]);
  });

  it("an empty lock pins nothing", () => {
    expect(uvLockConstraints('version = 1\nrequires-python = ">=3.11"\n')).toEqual([]);
  });
});

describe("constraints files", () => {
  it("drop comments and blank lines", () => {
    expect(constraintLines("# head\n\na==1  # why\n  b==2\n")).toEqual(["a==1", "b==2"]);
  });

  it("key a venv by its pins: other pins, another key", () => {
    expect(constraintsKey(["a==1"])).toMatch(/^[0-9a-f]{12}$/);
    expect(constraintsKey(["a==1"])).toBe(constraintsKey(["a==1"]));
    expect(constraintsKey(["a==1"])).not.toBe(constraintsKey(["a==2"]));
  });

  it("withcache's file pins every dependency exactly, and not withcache itself, for the withcache WITHCACHE_VERSION pins", () => {
    const text = readFileSync(WITHCACHE_CONSTRAINTS, "utf8");
    const lines = constraintLines(text);
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(line).toMatch(/^[A-Za-z0-9_.-]+==[\w.]+$/);
    expect(lines.some((l) => l.toLowerCase().startsWith("withcache=="))).toBe(false);
    // Bumped together: the file says which withcache it was frozen from.
    expect(/^# withcache (\S+)'s dependencies/.exec(text)?.[1]).toBe(WITHCACHE_VERSION);
    expect(lines).toContain("uvicorn==0.55.0");
  });
});

describe("access logs by meaning", () => {
  // uvicorn before 0.55.0 logged the path percent-encoded, 0.55.0 raw.
  const encoded = 'INFO:     192.168.99.57:41234 - "GET /pxe/52%3A54%3A00%3Ad2%3A98%3Aef/plan HTTP/1.1" 200 OK';
  const raw = 'INFO:     192.168.99.57:41236 - "POST /pxe/52:54:00:d2:98:ef/status HTTP/1.1" 204 No Content';

  it("decodes the path, so both spellings mean the same request", () => {
    expect(accessedRequests(`${encoded}\nINFO:     Application startup complete.\n${raw}\n`)).toEqual([
      { client: "192.168.99.57:41234", method: "GET", path: "/pxe/52:54:00:d2:98:ef/plan", status: 200 },
      { client: "192.168.99.57:41236", method: "POST", path: "/pxe/52:54:00:d2:98:ef/status", status: 204 },
    ]);
  });

  it("keeps a path that is not valid percent-encoding as logged", () => {
    expect(accessedRequests('127.0.0.1:1 - "GET /a%zz HTTP/1.1" 404 Not Found').map((r) => r.path)).toEqual(["/a%zz"]);
  });

  it("finds requests by method and exact path, or by a path prefix", () => {
    const log = `${encoded}\n${raw}\n`;
    expect(requestsFor(log, "GET", "/pxe/52:54:00:d2:98:ef/plan").map((r) => r.status)).toEqual([200]);
    expect(requestsFor(log, "GET", "/pxe/52:54:00:d2:98:ef")).toEqual([]);
    expect(requestsFor(log, "POST", "/pxe/", { prefix: true }).map((r) => r.path)).toEqual(["/pxe/52:54:00:d2:98:ef/status"]);
    expect(requestsFor(log, "PUT", "/pxe/", { prefix: true })).toEqual([]);
  });
});
