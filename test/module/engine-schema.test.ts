/**
 * The stand-in engine holds every query to the pinned engine's own schema
 * (test/fixtures/dagger/schema-v0.21.8.graphqls) and refuses what the real
 * engine refuses, with the engine's kind of error, so a module test can only
 * pass on queries a real engine would run.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { createGQLClient } from "../../node_modules/dagger-sdk/dist/src/common/graphql/client.js";
import { checkQuery, SCHEMA_FILE } from "../harness/engine.js";
import { useRecordingEngine } from "../harness/use-engine.js";

const engine = useRecordingEngine();

/** POST a raw query the way the SDK does; the HTTP status and JSON body. */
async function post(query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const res = await fetch(`http://127.0.0.1:${engine.port}/query`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Basic ${Buffer.from(`${process.env.DAGGER_SESSION_TOKEN}:`).toString("base64")}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as never };
}

describe("queries the engine refuses", () => {
  it.each([
    {
      what: "a misspelled field",
      query: '{ container { fromm(address: "alpine") { id } } }',
      status: 422,
      message: 'Cannot query field "fromm" on type "Container". Did you mean "from"?',
    },
    {
      what: "an unknown argument",
      query: '{ container { from(adress: "alpine") { id } } }',
      status: 422,
      message: 'Unknown argument "adress" on field "Container.from". Did you mean "address"?',
    },
    {
      what: "a missing required argument",
      query: "{ container { withExec { id } } }",
      status: 422,
      message: 'Field "withExec" argument "args" of type "[String!]!" is required, but it was not provided.',
    },
    {
      what: "a wrong argument type",
      query: '{ container { withExposedPort(port: "eighty") { id } } }',
      status: 200,
      message: 'Int cannot represent non-integer value: "eighty"',
    },
    {
      what: "an unknown enum value",
      query: '{ container { withExec(args: ["true"], expect: ALWAYS) { id } } }',
      status: 200,
      message: 'Value "ALWAYS" does not exist in "ReturnType" enum.',
    },
    {
      what: "a bad variable value",
      query: "query ($key: String!) { cacheVolume(key: $key) { id } }",
      variables: { key: 3 },
      status: 422,
      message: 'Variable "$key" got invalid value 3; String cannot represent a non string value: 3',
    },
    {
      what: "an object selected without fields",
      query: "{ container }",
      status: 200,
      message: 'Field "container" of type "Container!" must have a selection of subfields. Did you mean "container { ... }"?',
    },
  ])("$what: HTTP $status with the GraphQL error, recorded as refused", async ({ query, variables, status, message }) => {
    const res = await post(query, variables);
    expect(res.status).toBe(status);
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.map((e) => e.message)).toContain(message);
    if (status === 422) expect(res.body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    // Refused queries are not recorded as work the engine did, but kept until taken.
    expect(engine.queries()).toEqual([]);
    expect(engine.rejected()).toHaveLength(1);
    expect(engine.takeRejected()).toEqual([expect.objectContaining({ query, status })]);
    expect(engine.rejected()).toEqual([]);
  });

  it("the SDK's own client raises on a refused query", async () => {
    const client = createGQLClient(engine.port, process.env.DAGGER_SESSION_TOKEN!);
    await expect(client.request('{ container { fromm(address: "alpine") { id } } }')).rejects.toThrow(/Cannot query field "fromm"/);
    expect(engine.takeRejected()).toHaveLength(1);
  });

  it("a query the engine accepts passes: node(id:) with a fragment, enums, defaults left out", () => {
    expect(checkQuery('{ node(id: "Directory:1") { ... on Directory { withNewFile(path: "a", contents: "b") { id } } } }')).toBeUndefined();
    expect(checkQuery('{ container { withExec(args: ["true"], expect: ANY) { exitCode } } }')).toBeUndefined();
    expect(checkQuery('{ container { withMountedCache(path: "/c", cache: "CacheVolume:1", sharing: LOCKED) { id } } }')).toBeUndefined();
  });
});

describe("answers typed by the schema", () => {
  it("gives each leaf a value of its schema type", async () => {
    const res = await post('{ container { exitCode platform envVariables { name } stdout sync } }');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      container: { exitCode: 0, platform: "", envVariables: [], stdout: "", sync: "Container:1" },
    });
  });

  it("types an ID by @expectedType, so node(id:) continues the pipeline it came from", async () => {
    const made = await post('{ directory { withNewFile(path: "a", contents: "b") { sync } } }');
    const id = (made.body.data as { directory: { withNewFile: { sync: string } } }).directory.withNewFile.sync;
    expect(id).toMatch(/^Directory:\d+$/);
    await post(`{ node(id: "${id}") { ... on Directory { entries } } }`);
    expect(engine.chains().at(-1)?.map((c) => c.field)).toEqual(["directory", "withNewFile", "sync", "entries"]);
  });
});

describe("the schema fixture", () => {
  it("is the core API of the engine version dagger.json pins, with its provenance", () => {
    const engineVersion: string = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../dagger.json"), "utf8")).engineVersion;
    expect(SCHEMA_FILE.endsWith(`schema-${engineVersion}.graphqls`)).toBe(true);
    const header = readFileSync(SCHEMA_FILE, "utf8").split("\n").slice(0, 3).join("\n");
    expect(header).toContain(`at tag ${engineVersion}`);
    expect(header).toContain("7902e644beeba4468f1ea786015b4be1d6d5bbcd");
    expect(header).toContain("Apache-2.0");
  });
});
